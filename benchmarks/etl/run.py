"""Benchmark: `landflood etl parcels` against `ogr2ogr -f PostgreSQL` on the same file.

    .venv/bin/python benchmarks/etl/run.py [--parcels 1000000] [--rounds 1] [--keep]

(or ``make bench-etl``). The sample parcels (GeoPackage, EPSG:5897, the Vietnamese field names of
cadastral exports) are written once by ``etl.sample`` and cached under ``var/bench/``. Each
round creates two fresh databases in the managed cluster (or next to LANDFLOOD_DATABASE_URL):
ogr2ogr copies the file into a plain table, as a user would without landflood; landflood loads
it into the migrated data model with every check, the owners and the audit log, after the
sample's administrative boundaries so that the city check and commune assignment run too.
Wall time and peak RSS of each process are measured; the results go to ``var/bench/`` as JSON
and are printed as a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.common import cached_sample, describe_machine, machine_load, save_results  # noqa: E402
from landdb.database import ensure_database  # noqa: E402
from landdb.migrate import upgrade  # noqa: E402
from landflood.settings import Settings  # noqa: E402

LANDFLOOD = str(Path(sys.executable).with_name("landflood"))
OGR_TABLE = "parcels_ogr2ogr"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parcels", type=int, default=1_000_000, help="parcels in the sample file")
    ap.add_argument("--rounds", type=int, default=1, help="times to run both tools, alternating")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark databases afterwards")
    args = ap.parse_args()
    if shutil.which("ogr2ogr") is None:
        sys.exit("ogr2ogr is not installed: `make setup` installs it (Debian package gdal-bin)")
    settings = Settings()
    out_dir = settings.var_dir / "bench"
    sample = cached_sample(out_dir / f"sample-{args.parcels}", args.parcels) / "parcels.gpkg"
    server = ensure_database(settings)
    machine = {**describe_machine(server),
               "gdal": subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True).stdout.strip()}
    runs = []
    for i in range(args.rounds):
        print(f"round {i + 1}/{args.rounds}; load average {machine_load()}", flush=True)
        runs.append({"ogr2ogr": _run_ogr2ogr(server, sample, args.keep),
                     "landflood": _run_landflood(server, sample, out_dir, args.keep)})
    result = _summary(args.parcels, sample, machine, runs)
    saved = save_results(out_dir, "etl", result)
    print(_markdown(result))
    print(f"\nresults: {saved}")


def _fresh_database(server: str, name: str, migrate: bool) -> str:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    if migrate:
        upgrade(url)
    return url


def _drop(server: str, url: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
    engine.dispose()
    return int(n)


# Runs the command and prints its peak RSS. A small interpreter in between, because a child
# forked from this (large) process would count this process's pages in its own peak.
_WRAPPER = ("import resource, subprocess, sys\n"
            "code = subprocess.run(sys.argv[1:]).returncode\n"
            "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)\n"
            "sys.exit(code)\n")


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run ``cmd``: its wall time, peak RSS (MB), exit code and last lines of output."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-S", "-c", _WRAPPER, *cmd], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    peak = next((int(x.split()[1]) for x in lines if x.startswith("PEAK_RSS_KB")), 0)
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 1024, 1), "exit_code": proc.returncode,
            "output_tail": [x for x in lines if not x.startswith("PEAK_RSS_KB")][-8:]}


def _run_ogr2ogr(server: str, sample: Path, keep: bool) -> dict:
    url = _fresh_database(server, "landflood_bench_ogr2ogr", migrate=False)
    u = make_url(url)
    pg = f"PG:host={u.host} port={u.port} dbname={u.database} user={u.username}"
    cmd = ["ogr2ogr", "-f", "PostgreSQL", pg, str(sample), "-nln", OGR_TABLE,
           "--config", "PG_USE_COPY", "YES", "-lco", "SPATIAL_INDEX=GIST"]
    run = _timed(cmd, env={**os.environ, "PGPASSWORD": u.password or ""})
    run["command"] = " ".join(f'"{c}"' if " " in c else c for c in cmd)
    run["rows"] = _count(url, OGR_TABLE) if run["exit_code"] == 0 else 0
    if not keep:
        _drop(server, url)
    return run


def _run_landflood(server: str, sample: Path, out_dir: Path, keep: bool) -> dict:
    url = _fresh_database(server, "landflood_bench_landflood", migrate=True)
    env = {**os.environ, "LANDFLOOD_DATABASE_URL": url}
    admin = _timed([LANDFLOOD, "-q", "etl", "admin", str(sample.with_name("admin_units.geojson"))], env)
    if admin["exit_code"] not in (0, 3):
        raise SystemExit(f"loading the sample's boundaries failed: {admin['output_tail']}")
    report_path = out_dir / "landflood-report.json"
    cmd = [LANDFLOOD, "etl", "parcels", str(sample), "--report", str(report_path)]
    run = _timed(cmd, env)
    run["command"] = f"landflood etl parcels {sample}"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    run["report"] = {k: report.get(k) for k in ("read", "inserted", "rejected", "owners", "seconds", "warnings")}
    run["report"]["rejected"] = len(report.get("rejected") or [])
    run["rows"] = _count(url, "parcel_versions") if run["exit_code"] in (0, 3) else 0
    run["audit_rows"] = _count(url, "audit_log") if run["exit_code"] in (0, 3) else 0
    if not keep:
        _drop(server, url)
    return run


def _summary(parcels: int, sample: Path, machine: dict, runs: list[dict]) -> dict:
    best = {tool: min((r[tool] for r in runs), key=lambda r: r["seconds"]) for tool in ("ogr2ogr", "landflood")}
    rate = {tool: round(parcels / best[tool]["seconds"]) for tool in best}
    return {
        "when": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "parcels": parcels, "file": str(sample), "file_mb": round(sample.stat().st_size / 1024**2, 1),
        "machine": {**machine, "load_average_after": machine_load()},
        "rows_per_second": rate, "ratio_landflood_to_ogr2ogr": round(rate["landflood"] / rate["ogr2ogr"], 3),
        "verified": all(r[t]["rows"] == parcels for r in runs for t in ("ogr2ogr", "landflood")),
        "best": best, "runs": runs,
    }


def _markdown(r: dict) -> str:
    m, b = r["machine"], r["best"]
    lines = [
        f"{r['parcels']:,} parcels ({r['file_mb']} MB GeoPackage), {r['when']}; {m['nproc']} cores, "
        f"{m['ram_gb']} GB RAM, load average {m['load_average_before']} before, {m['load_average_after']} after; "
        f"PostgreSQL {m['postgresql']}, PostGIS {m['postgis']}, shared_buffers {m['shared_buffers']}, {m['gdal']}",
        "",
        "| tool | rows loaded | seconds | rows/s | peak RSS (MB) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for tool in ("ogr2ogr", "landflood"):
        lines.append(f"| {tool} | {b[tool]['rows']:,} | {b[tool]['seconds']:.1f} | {r['rows_per_second'][tool]:,} "
                     f"| {b[tool]['peak_rss_mb']:.0f} |")
    lines += ["", f"ratio (landflood rows/s ÷ ogr2ogr rows/s): **{r['ratio_landflood_to_ogr2ogr']:.2f}**"
              + ("" if r["verified"] else " — NOT VERIFIED: a tool did not load every row")]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
