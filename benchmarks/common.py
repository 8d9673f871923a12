"""What the benchmarks share: the cached sample city, the machine's description and the results files."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
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
