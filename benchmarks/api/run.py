"""Benchmark: landflood's OGC API against tipg and pygeoapi's stock PostgreSQL provider.

    .venv/bin/python benchmarks/api/run.py [--parcels 1000000] [--duration 20] [--warmup 5]
                                           [--rounds 2] [--workers 2] [--threads 4] [--clients 8]

(or ``make bench-api``). Everything it needs is set up first and kept for the next run:

* the data: the cached sample of ``--parcels`` parcels (``var/bench/sample-N/``, shared with
  ``benchmarks/etl``) loaded with ``landflood etl admin`` and ``landflood etl parcels`` into the
  database ``landflood_bench_api`` of the managed cluster (or next to LANDFLOOD_DATABASE_URL);
  skipped when its current parcels are already there;
* the view ``bench.parcels_current``: the current parcel versions with the same public columns
  as landflood's ``parcels`` collection (built from the same SQL expressions), geometry in
  EPSG:5897 — the peers serve this view;
* the peers, each in its own virtualenv under ``var/bench/api/`` (never in the locked
  dependencies): tipg with uvicorn[standard], and pygeoapi (the version landflood embeds) with
  psycopg2, which its stock ``PostgreSQLProvider`` needs, served by gunicorn from a generated
  configuration.

All three servers run at the same time with the same number of worker processes; the load
(wrk, 8 keep-alive connections, a Lua script rotating over a fixed list of URLs that is the
same for every server) is applied to one server at a time, interleaved: for each round, each
scenario, each server (the order rotates between rounds), a warm-up and then a timed run.
Before timing, the responses are checked against each other and against the database.
Afterwards each scenario's first URLs are requested one at a time from each server, and the
SQL landflood sends for them is run directly in PostgreSQL and timed, so that the service's
own overhead shows. The results go to ``var/bench/api-*.json`` and are printed as markdown.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from report import describe_machine, markdown, summary, verification_text
from servers import (
    DB_NAME,
    LANDFLOOD,
    SCENARIOS,
    SEED,
    TIPG_VERSION,
    VIEW,
    http_get,
    path_for,  # also puts the repository on sys.path
    start_servers,
    stop,
    venv,
)
from sqlalchemy import create_engine, make_url, text

from benchmarks.common import WRK_LUA, cached_sample, save_results, wrk  # noqa: E402
from landdb.database import ensure_database  # noqa: E402
from landdb.migrate import upgrade  # noqa: E402
from landflood.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parcels", type=int, default=1_000_000, help="parcels in the sample (and the database)")
    ap.add_argument("--duration", type=int, default=20, help="seconds of each timed run")
    ap.add_argument("--warmup", type=int, default=5, help="seconds of load before each timed run")
    ap.add_argument("--rounds", type=int, default=2, help="times every scenario runs on every server")
    ap.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of every server")
    ap.add_argument("--threads", type=int, default=4,
                    help="threads per gunicorn worker (landflood, pygeoapi); uvicorn workers are async")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    ap.add_argument("--sequential", type=int, default=30,
                    help="URLs per scenario requested one at a time and run as SQL (overhead)")
    ap.add_argument("--keep-servers", action="store_true", help="leave the servers running (prints their URLs)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `make bench-api` installs it (Debian package wrk)")
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenarios {unknown}; choose from {', '.join(SCENARIOS)}")

    settings = Settings()
    out_dir = settings.var_dir / "bench"
    work = out_dir / "api"
    work.mkdir(parents=True, exist_ok=True)
    sample = cached_sample(out_dir / f"sample-{args.parcels}", args.parcels)
    server = ensure_database(settings)
    url = _database(server, sample, args.parcels)
    _view(url)
    tipg_py = venv(work / "tipg-venv", [f"tipg=={TIPG_VERSION}", "uvicorn[standard]"])
    pygeoapi_py = venv(work / "pygeoapi-venv", [
        f"pygeoapi=={metadata.version('pygeoapi')}", "psycopg2-binary", "gunicorn",
        f"GeoAlchemy2=={metadata.version('GeoAlchemy2')}", f"SQLAlchemy=={metadata.version('SQLAlchemy')}"])
    urls = _urls(url, random.Random(SEED))
    machine = describe_machine(server, tipg_py, pygeoapi_py)
    print(f"machine: {machine['nproc']} cores, load average {machine['load_average_before']}", flush=True)

    procs: dict[str, subprocess.Popen] = {}
    try:
        bases = start_servers(procs, work, url, tipg_py, pygeoapi_py, args.workers, args.threads)
        verification = _verify(bases, urls, url)
        print(verification_text(verification), flush=True)
        if not verification["ok"]:
            raise SystemExit("the servers' responses disagree; see above (nothing was timed)")
        runs = _load(bases, urls, scenarios, args, work)
        sequential = _sequential(bases, urls, scenarios, args.sequential)
        sql = _sql_times(url, urls, scenarios, args.sequential)
        if args.keep_servers:
            print("servers left running:", json.dumps(bases))
            procs.clear()
    finally:
        stop(procs)

    result = summary(args, machine, scenarios, verification, runs, sequential, sql, urls)
    saved = save_results(out_dir, "api", result)
    print(markdown(result))
    print(f"\nresults: {saved}")


# --- set-up ---------------------------------------------------------------------------------


def _database(server: str, sample: Path, parcels: int) -> str:
    """The benchmark database, created, migrated and loaded unless it already holds the sample."""
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
        have = conn.execute(text("SELECT count(*) FROM parcel_versions WHERE valid_to IS NULL")).scalar()
    if have < parcels:
        print(f"loading {parcels:,} parcels into {DB_NAME} (once, about 5 minutes; the database is kept)",
              flush=True)
        env = {**os.environ, "LANDFLOOD_DATABASE_URL": url}
        for cmd in ([LANDFLOOD, "-q", "etl", "admin", str(sample / "admin_units.geojson")],
                    [LANDFLOOD, "-q", "etl", "parcels", str(sample / "parcels.gpkg")]):
            code = subprocess.run(cmd, env=env).returncode
            if code not in (0, 3):  # 3: some rows were rejected (reported), the rest loaded
                raise SystemExit(f"{' '.join(cmd[1:])} failed with exit code {code}")
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            have = conn.execute(text("SELECT count(*) FROM parcel_versions WHERE valid_to IS NULL")).scalar()
        if have < parcels:
            raise SystemExit(f"{DB_NAME} holds {have:,} current parcels after loading, not {parcels:,}")
    else:
        print(f"{DB_NAME} already holds {have:,} current parcels; not loading", flush=True)
    engine.dispose()
    return url


def _view(url: str) -> None:
    """bench.parcels_current: what landflood's ``parcels`` shows the public, as a plain view."""
    from ogc_api.collections import PARCELS

    cols = ",\n  ".join(f"{p.sql.format(lang='vi')} AS {p.name}" for p in PARCELS.visible(False))
    sql = (f"CREATE OR REPLACE VIEW {VIEW} AS SELECT\n  {cols},\n  v.geom\n"
           f"FROM {PARCELS.source} WHERE {PARCELS.current}")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS bench"))
        conn.execute(text(f"DROP VIEW IF EXISTS {VIEW}"))
        conn.execute(text(sql))
    engine.dispose()


def _urls(url: str, rng: random.Random) -> dict[str, list[dict]]:
    """The requests of every scenario, the same for every server (server-neutral descriptions)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        # About 0.5% of the current parcels, repeatably: their ids and a point of each (CRS84).
        rows = conn.execute(text(
            "SELECT v.parcel_id, ST_X(p), ST_Y(p) FROM parcel_versions v TABLESAMPLE BERNOULLI (0.5) "
            "REPEATABLE (42), ST_Transform(ST_PointOnSurface(v.geom), 4326) AS p "
            "WHERE v.valid_to IS NULL ORDER BY v.id")).all()
    engine.dispose()
    rng.shuffle(rows)
    # A bbox of about 620 m x 550 m (a few city blocks: what a map window at z16 shows),
    # centred on a random parcel so that it falls where the data is.
    half_w, half_h = 0.003, 0.0025
    bboxes = [[round(x - half_w, 6), round(y - half_h, 6), round(x + half_w, 6), round(y + half_h, 6)]
              for _, x, y in rows[:500]]
    ids = [pid for pid, _, _ in rows[500:1500]]
    out: dict[str, list[dict]] = {
        "bbox-100": [{"bbox": b, "limit": 100} for b in bboxes],
        "bbox-1000": [{"bbox": b, "limit": 1000} for b in bboxes],
        "item": [{"id": i} for i in ids],
        "cql2-bbox": [{"bbox": b, "limit": 100, "filter": "land_use='ODT'"} for b in bboxes],
    }
    for z in (14, 16):
        tiles = list(dict.fromkeys(_tile(x, y, z) for _, x, y in rows))
        rng.shuffle(tiles)
        out[f"tiles-z{z}"] = [{"z": z, "x": tx, "y": ty} for tx, ty in tiles[:500]]
    return out


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


# --- checks before timing ---------------------------------------------------------------------


def _verify(bases: dict[str, str], urls: dict[str, list[dict]], url: str) -> dict:
    """Same answers from every server, and the database's own count for each bbox."""
    problems: list[str] = []
    engine = create_engine(url)
    checks: dict[str, list] = {"bbox": [], "cql2-bbox": [], "item": [], "tiles": []}
    with engine.connect() as conn:
        for scenario in ("bbox-1000", "cql2-bbox"):
            for req in urls[scenario][:5]:
                where = "land_use = 'ODT' AND " if "filter" in req else ""
                box = "ST_Transform(ST_MakeEnvelope(:a, :b, :c, :d, 4326), 5897)"
                db = conn.execute(text(
                    f"SELECT count(*) FROM {VIEW} WHERE {where}geom && {box} AND ST_Intersects(geom, {box})"),
                    dict(zip("abcd", req["bbox"], strict=True))).scalar()
                row = {"bbox": req["bbox"], "database": db}
                for name, base in bases.items():
                    doc, content_type = _fetch_json(base, name, req, problems, scenario)
                    if doc is None:
                        continue
                    row[name] = {"matched": doc.get("numberMatched"), "returned": len(doc["features"]),
                                 "type": content_type}
                    matched = doc.get("numberMatched")
                    if matched is not None and abs(matched - db) > 0.02 * db:
                        problems.append(f"{name} {scenario} {req['bbox']}: numberMatched {matched}, the database "
                                        f"counts {db}")
                    want = min(req["limit"], db)
                    if len(doc["features"]) != want:
                        problems.append(f"{name} {scenario} {req['bbox']}: {len(doc['features'])} features, "
                                        f"the database has {db} (limit {req['limit']})")
                    if "filter" in req and any(f["properties"].get("land_use") != "ODT" for f in doc["features"]):
                        problems.append(f"{name} {scenario}: a feature does not match the filter")
                checks["bbox" if scenario.startswith("bbox") else scenario].append(row)
    engine.dispose()
    for req in urls["item"][:5]:
        row: dict = {"id": req["id"]}
        coords = {}
        for name, base in bases.items():
            doc, _ = _fetch_json(base, name, req, problems, f"item {req['id']}")
            if doc is None:
                continue
            if str(doc.get("id")) != req["id"] or doc["properties"].get("parcel_id") != req["id"]:
                problems.append(f"{name} item {req['id']}: got id {doc.get('id')!r}")
            coords[name] = _first_point(doc["geometry"])
            row[name] = {"properties": len(doc["properties"]), "first_point": coords[name]}
        if "landflood" in coords:
            for name, pt in coords.items():
                row[f"{name}_offset_m"] = round(_metres(coords["landflood"], pt), 3)
                if row[f"{name}_offset_m"] > 0.01:
                    problems.append(f"{name} item {req['id']}: first vertex {row[f'{name}_offset_m']} m "
                                    "from landflood's")
        checks["item"].append(row)
    for scenario in ("tiles-z14", "tiles-z16"):
        for req in urls[scenario][:5]:
            row = {"tile": [req["z"], req["x"], req["y"]]}
            for name in ("landflood", "tipg"):
                status, headers, body = http_get(bases[name], path_for(name, req))
                row[name] = {"status": status, "bytes": len(body), "type": headers.get("content-type")}
                if status != 200 or not body:
                    problems.append(f"{name} tile {row['tile']}: HTTP {status}, {len(body)} bytes")
            checks["tiles"].append(row)
    return {"ok": not problems, "problems": problems, **checks}


def _fetch_json(base: str, name: str, req: dict, problems: list[str], what: str) -> tuple[dict | None, str | None]:
    """(the JSON document, its content type) of ``req`` on server ``name``; None and a problem noted if not 200."""
    status, headers, body = http_get(base, path_for(name, req))
    if status != 200:
        problems.append(f"{name} {what}: HTTP {status}: {body[:300]!r}")
        return None, None
    return json.loads(body), headers.get("content-type")


def _first_point(geom: dict) -> list[float]:
    c = geom["coordinates"]
    while isinstance(c[0], list):
        c = c[0]
    return c[:2]


def _metres(a: list[float], b: list[float]) -> float:
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    return math.hypot(dx, (a[1] - b[1]) * 110_574)


# --- load -----------------------------------------------------------------------------------

def _load(bases: dict, urls: dict, scenarios: list[str], args, work: Path) -> list[dict]:
    lua = work / "rotate.lua"
    lua.write_text(WRK_LUA)
    lists = {}
    for scenario in scenarios:
        for name in SCENARIOS[scenario][1]:
            lists[scenario, name] = work / f"urls-{scenario}-{name}.txt"
            lists[scenario, name].write_text("".join(path_for(name, r) + "\n" for r in urls[scenario]))
    runs = []
    for rnd in range(args.rounds):
        for scenario in scenarios:
            servers = list(SCENARIOS[scenario][1])
            k = rnd % len(servers)
            for name in servers[k:] + servers[:k]:  # who goes first rotates between rounds
                load_before = os.getloadavg()[0]
                if args.warmup:
                    wrk(bases[name], lists[scenario, name], lua, args.clients, args.warmup)
                r = wrk(bases[name], lists[scenario, name], lua, args.clients, args.duration)
                r.update(round=rnd + 1, scenario=scenario, server=name, load_before=round(load_before, 2))
                runs.append(r)
                print(f"round {rnd + 1} {scenario:10s} {name:9s} {r['rps']:8.1f} req/s  "
                      f"p50 {r['p50_us'] / 1000:8.1f} ms  p99 {r['p99_us'] / 1000:8.1f} ms  "
                      f"errors {r['errors']}  ({r['bytes'] / max(r['requests'], 1) / 1024:.1f} KiB/response)",
                      flush=True)
    return runs


# --- one at a time: HTTP latency and the SQL behind it -----------------------------------------


def _sequential(bases: dict, urls: dict, scenarios: list[str], n: int) -> dict:
    """Median latency of each scenario's first ``n`` URLs, one request at a time (keep-alive)."""
    out: dict = {}
    for scenario in scenarios:
        for name in SCENARIOS[scenario][1]:
            u = urlsplit(bases[name])
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            times = []
            for req in urls[scenario][:n] * 2:  # the first pass warms up
                started = time.perf_counter()
                conn.request("GET", path_for(name, req))
                resp = conn.getresponse()
                resp.read()
                times.append(time.perf_counter() - started)
            conn.close()
            out.setdefault(scenario, {})[name] = round(statistics.median(times[n:]) * 1000, 2)
    return out


class _TimedConnection:
    """Runs the statements landflood's query functions send and adds up their time."""

    def __init__(self, conn) -> None:
        self.conn, self.seconds, self.statements = conn, 0.0, 0

    def execute(self, sql, params=None):
        started = time.perf_counter()
        rows = self.conn.execute(sql, params).fetchall()
        self.seconds += time.perf_counter() - started
        self.statements += 1
        return _Rows(rows)


class _Rows:
    def __init__(self, rows) -> None:
        self.rows = rows

    def fetchone(self):
        return self.rows[0] if self.rows else None


class _TimedPools:
    def __init__(self, conn: _TimedConnection) -> None:
        self.conn = conn

    @contextmanager
    def read(self):
        yield self.conn


def _sql_times(url: str, urls: dict, scenarios: list[str], n: int) -> dict:
    """The SQL landflood sends for each of the first ``n`` requests, timed in PostgreSQL directly:
    its statements come from the service's own functions (features.query_items, get_item,
    tiles.tile_sql), run over one connection, without HTTP, Flask or pygeoapi."""
    import psycopg

    from landdb.database import libpq_url
    from ogc_api import crs as crsmod
    from ogc_api import features, tiles
    from ogc_api.collections import PARCELS

    out: dict = {}
    with psycopg.connect(libpq_url(url), autocommit=True, options="-c TimeZone=UTC") as raw:
        conn = _TimedConnection(raw)
        pools = _TimedPools(conn)
        for scenario in scenarios:
            times, statements = [], 0
            for req in urls[scenario][:n] * 2:  # the first pass warms up
                conn.seconds, conn.statements = 0.0, 0
                if "z" in req:
                    sql = tiles.tile_sql(PARCELS, req["z"], False)
                    conn.execute(sql, {"z": req["z"], "x": req["x"], "y": req["y"], "layer": "parcels"})
                elif "id" in req:
                    features.get_item(pools, PARCELS, req["id"], False, "vi", crsmod.SUPPORTED[0])
                else:
                    args = dict(parse_qsl(urlsplit(path_for("landflood", req)).query))
                    q = features.parse_items_args(PARCELS, args, False, "vi")
                    features.query_items(pools, q)
                times.append(conn.seconds)
                statements = conn.statements
            out[scenario] = {"median_ms": round(statistics.median(times[n:]) * 1000, 2),
                             "statements_per_request": statements}
    return out


# --- results --------------------------------------------------------------------------------


if __name__ == "__main__":
    main()
