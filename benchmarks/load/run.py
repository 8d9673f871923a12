"""Load: 64 keep-alive clients for 60 s on a mix of bbox pages, features by id, vector tiles and
EDR queries, against gunicorn serving the sample city (issue 13, item 5).

    .venv/bin/python benchmarks/load/run.py [--parcels 20000] [--clients 64] [--duration 60]
                                            [--workers 2] [--threads 16]

(or ``make bench-load``). The sample city (``--parcels``, cached under ``var/bench/``) is loaded
once into the database ``landflood_bench_load`` of the managed cluster, with its hotspots and
rainfall; gunicorn (gthread workers, keep-alive) serves ``landflood.app:create_app()`` on loopback
only; wrk drives it with a Lua script that rotates over a fixed, shuffled list of URLs (the same
each run). A benchmark, not a test: it records requests, errors (connection, read, timeout and any
non-2xx status) and latency percentiles in ``var/bench/load-*.json`` and prints them as markdown
for ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, text  # noqa: E402

from benchmarks.common import WRK_LUA, cached_sample, describe_machine, save_results, wrk  # noqa: E402
from landdb.database import ensure_database  # noqa: E402
from landdb.migrate import upgrade  # noqa: E402
from landflood.settings import Settings  # noqa: E402

DB_NAME = "landflood_bench_load"
LANDFLOOD = str(Path(sys.executable).with_name("landflood"))
SEED = 20251202


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parcels", type=int, default=20_000, help="parcels in the sample city")
    ap.add_argument("--clients", type=int, default=64, help="concurrent keep-alive connections")
    ap.add_argument("--duration", type=int, default=60, help="seconds of load")
    ap.add_argument("--warmup", type=int, default=10, help="seconds of load before the measured run")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    ap.add_argument("--threads", type=int, default=16, help="threads per worker (gthread)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `make bench-load` installs it (Debian package wrk)")
    settings = Settings()
    out_dir = settings.var_dir / "bench"
    work = out_dir / "load"
    work.mkdir(parents=True, exist_ok=True)
    sample = cached_sample(out_dir / f"sample-{args.parcels}", args.parcels)
    server = ensure_database(settings)
    url = _database(server, sample)
    paths = _paths(url)
    (work / "paths.txt").write_text("\n".join(paths) + "\n")
    (work / "load.lua").write_text(WRK_LUA)
    machine = describe_machine(server)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(work / "gunicorn.log", "w")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LANDFLOOD_")},
           "LANDFLOOD_DATABASE_URL": url, "LANDFLOOD_PUBLIC_URL": base, "LANDFLOOD_LOG_LEVEL": "WARNING"}
    cmd = [str(Path(sys.executable).with_name("gunicorn")), "-w", str(args.workers), "--threads", str(args.threads),
           "--keep-alive", "75", "-b", f"127.0.0.1:{port}", "landflood.app:create_app()"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_up(base, proc)
        print(f"warming up for {args.warmup} s", flush=True)
        wrk(base, work / "paths.txt", work / "load.lua", args.clients, args.warmup)
        print(f"{args.clients} clients for {args.duration} s on {len(paths):,} URLs", flush=True)
        run = wrk(base, work / "paths.txt", work / "load.lua", args.clients, args.duration)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    mix = {kind: sum(p.startswith(prefix) for p in paths) for kind, prefix in _KINDS.items()}
    result = {"machine": machine, "args": vars(args), "urls": len(paths), "mix": mix, "run": run}
    saved = save_results(out_dir, "load", result)
    print(_markdown(result))
    print(f"\nresults: {saved}")


def _database(server: str, sample: Path) -> str:
    """The load database, created and loaded once with the whole sample city."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB_NAME}).scalar():
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    url = make_url(server).set(database=DB_NAME).render_as_string(hide_password=False)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    upgrade(url)
    with engine.connect() as conn:
        loaded = conn.execute(text("SELECT count(*) FROM rain_observations")).scalar_one()
    if not loaded:
        print(f"loading the sample city into {DB_NAME} (once; the database is kept)", flush=True)
        env = {**os.environ, "LANDFLOOD_DATABASE_URL": url}
        for kind, name in (("admin", "admin_units.geojson"), ("parcels", "parcels.gpkg"),
                           ("waterlogging", "waterlogging_points.csv"), ("waterlogging", "flood_events.csv"),
                           ("rainfall", "rainfall.csv")):
            if subprocess.run([LANDFLOOD, "-q", "etl", kind, str(sample / name)], env=env).returncode != 0:
                raise SystemExit(f"landflood etl {kind} {name} failed")
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return url


_KINDS = {"bbox pages (limit 100)": "/collections/parcels/items?bbox", "features by id": "/collections/parcels/items/",
          "vector tiles (z15-z18)": "/collections/parcels/tiles/", "EDR": "/collections/rainfall/"}


def _paths(url: str) -> list[str]:
    """A shuffled mix of what planners' maps and GIS clients ask: about 30% bbox pages, 30% features
    by id, 30% tiles, 10% EDR."""
    rng = random.Random(SEED)
    engine = create_engine(url)
    with engine.connect() as conn:
        parcels = conn.execute(text(
            "SELECT v.parcel_id, ST_X(p), ST_Y(p) FROM parcel_versions v, "
            "ST_Transform(ST_PointOnSurface(v.geom), 4326) AS p WHERE v.valid_to IS NULL ORDER BY v.id")).all()
        gauges = conn.execute(text("SELECT code, ST_X(p), ST_Y(p) FROM rain_gauges, "
                                   "ST_Transform(geom, 4326) AS p ORDER BY code")).all()
    engine.dispose()
    picks = rng.sample(parcels, min(3000, len(parcels)))
    out = []
    for _, x, y in picks[:900]:
        out.append(f"/collections/parcels/items?bbox={x - 0.002:.6f},{y - 0.0015:.6f},{x + 0.002:.6f},"
                   f"{y + 0.0015:.6f}&limit=100")
    out += [f"/collections/parcels/items/{quote(pid)}" for pid, _, _ in picks[900:1800]]
    for _, x, y in picks[1800:2700]:
        z = rng.choice((15, 16, 17, 18))
        tx, ty = _tile(x, y, z)
        out.append(f"/collections/parcels/tiles/WebMercatorQuad/{z}/{ty}/{tx}?properties=land_use")
    for code, x, y in gauges:
        out += [f"/collections/rainfall/locations/{quote(code)}?datetime=2025-09-30T00:00:00Z/2025-10-01T00:00:00Z",
                f"/collections/rainfall/position?coords=POINT({x:.5f}%20{y:.5f})"
                "&datetime=2025-09-30T00:00:00Z/2025-10-01T00:00:00Z"]
    out += ["/collections/rainfall/locations"] * 10
    while sum(p.startswith("/collections/rainfall/") for p in out) < len(out) // 10:
        out += out[-len(gauges) * 2 - 10:]
    rng.shuffle(out)
    return out


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(base: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited; see var/bench/load/gunicorn.log")
        try:
            with urllib.request.urlopen(f"{base}/collections", timeout=10) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer in time; see var/bench/load/gunicorn.log")


def _markdown(result: dict) -> str:
    r, m = result["run"], result["machine"]
    mix = ", ".join(f"{k} {v:,}" for k, v in result["mix"].items())
    return "\n".join([
        f"{result['args']['clients']} keep-alive clients, {result['args']['duration']} s, gunicorn "
        f"{result['args']['workers']} workers × {result['args']['threads']} threads, {m['nproc']} cores, "
        f"load average before {m['load_average_before']}; {result['urls']:,} URLs ({mix})",
        "",
        "| requests | requests/s | errors | p50 | p90 | p99 | max |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {r['requests']:,} | {r['rps']:,.0f} | {r['errors']} | {r['p50_us'] / 1000:.0f} ms | "
        f"{r['p90_us'] / 1000:.0f} ms | {r['p99_us'] / 1000:.0f} ms | {r['max_us'] / 1000:.0f} ms |",
    ])


if __name__ == "__main__":
    main()
