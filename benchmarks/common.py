"""What the benchmarks share: the cached sample city, the machine's description and the results files."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import time
from pathlib import Path

from sqlalchemy import create_engine, text


def cached_sample(folder: Path, parcels: int) -> Path:
    """The sample city's folder (``etl.sample``), written first unless complete; kept for later runs."""
    done = folder / ".complete"
    if not done.exists():
        from etl.sample import write_sample

        print(f"writing a sample of {parcels:,} parcels to {folder} (once; it is kept)", flush=True)
        started = time.perf_counter()
        write_sample(folder, parcels=parcels)
        done.write_text(f"{time.perf_counter() - started:.0f} s\n")
    return folder


def machine_load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def describe_machine(server: str) -> dict:
    """Cores, memory, CPU, PostgreSQL and PostGIS of the run, and the load average before it."""
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.machine())
    engine = create_engine(server)
    with engine.connect() as conn:
        pg = conn.execute(text("SHOW server_version")).scalar()
        postgis = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")).scalar()
        shared_buffers = conn.execute(text("SHOW shared_buffers")).scalar()
    engine.dispose()
    return {"nproc": os.cpu_count(), "ram_gb": round(mem_kb / 1024**2, 1), "cpu": cpu, "postgresql": pg,
            "postgis": postgis, "shared_buffers": shared_buffers, "python": platform.python_version(),
            "load_average_before": machine_load()}


def save_results(out_dir: Path, prefix: str, result: dict) -> Path:
    """``{prefix}-{time}.json`` and ``{prefix}-latest.json`` in ``out_dir``; the first one's path."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text_ = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    for name in (f"{prefix}-{stamp}.json", f"{prefix}-latest.json"):
        (out_dir / name).write_text(text_, encoding="utf-8")
    return out_dir / f"{prefix}-{stamp}.json"


#: wrk's script: rotates over the paths in the file given as its first argument; done() prints one
#: JSON line for the harness.
WRK_LUA = r"""
-- Rotates over the paths in the file given as the script's first argument; each wrk thread
-- starts at a different place in the list. done() prints one JSON line for the harness.
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  i = (tid * math.floor(#paths / 2 + 1)) % #paths
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


def wrk(base: str, paths_file: Path, lua: Path, clients: int, seconds: int) -> dict:
    """One run of wrk against ``base`` with the paths in ``paths_file`` (WRK_LUA saved as ``lua``)."""
    cmd = ["wrk", "-t", str(min(2, clients)), "-c", str(clients), "-d", f"{seconds}s", "--timeout", "30s",
           "-s", str(lua), base, "--", str(paths_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {proc.stdout}\n{proc.stderr}")
    r = json.loads(line[len("WRKJSON "):])
    r["errors"] = sum(r[k] for k in r if k.startswith("errors_"))
    r["rps"] = round(r["requests"] / (r["duration_us"] / 1e6), 1)
    return r
