"""Benchmark: page weight and time to first render of the maps in headless Chromium with
1,000,000 parcels, side by side with a folium map that embeds the same area's parcels as GeoJSON.

    .venv/bin/python benchmarks/maps/run.py [--parcels 1000000] [--rounds 3] [--zooms 17,15] [--reload]

The sample city (``landflood sample``, cached under ``var/bench/maps-sample-N/``) is loaded once
with the real CLI into its own database, ``landflood_bench_maps``, in the managed cluster (kept
between runs; ``--reload`` rebuilds it). The app runs under gunicorn (2 workers, 4 threads) on a
free port; the folium pages are plain files served by Python's http.server, with folium's
script and style links pointed at the same local Leaflet (nothing comes from a CDN on either
side, and neither page has a basemap: the machine has no internet). For each view (the data's
centre at each zoom, in a 1280×860 window) every page is opened ``--rounds`` times, each time in
a new browser context (empty cache); the medians are reported. Results go to
``var/bench/maps-*.json`` and are printed as a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import folium  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from landdb.database import ensure_database, libpq_url  # noqa: E402
from landflood.settings import Settings  # noqa: E402
from maps import data  # noqa: E402
from maps.pages import LEAFLET, STATIC  # noqa: E402

BIN = Path(sys.executable).parent
DB_NAME = "landflood_bench_maps"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 860}

#: Resolves with performance.now() once every vector-tile layer on the map has drawn its tiles.
OURS_DRAWN = """async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  while (!(window.LF && LF.map)) await sleep(10);
  const grids = Object.values(LF.layers).filter(l => l.isLoading && LF.map.hasLayer(l));
  while (grids.some(l => l.isLoading() || !Object.keys(l._tiles).length)) await sleep(10);
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now();
}"""
#: Resolves once folium's page has loaded (its GeoJSON layer is added while the page parses).
FOLIUM_DRAWN = """async () => {
  while (document.readyState !== 'complete') await new Promise(r => setTimeout(r, 10));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now();
}"""
#: Chromium's first contentful paint. Headless Chromium records it only once a frame is produced,
#: which a static page (folium's) may not have asked for yet: ask for frames for up to 2 s.
FCP = """async () => {
  for (let i = 0; i < 100; i++) {
    const e = performance.getEntriesByName('first-contentful-paint')[0];
    if (e) return e.startTime;
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 20)));
  }
  return null;
}"""


def cli(db_url: str, *args: str) -> None:
    env = {**os.environ, "LANDFLOOD_DATABASE_URL": db_url}
    subprocess.run([str(BIN / "landflood"), *args], env=env, check=True, stdout=subprocess.DEVNULL)


def prepare(server: str, parcels: int, reload: bool, var: Path) -> str:
    """The benchmark database with ``parcels`` sample parcels (loaded once, then reused)."""
    url = make_url(server).set(database=DB_NAME).render_as_string(hide_password=False)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB_NAME}).first()
    if exists and not reload:
        with psycopg.connect(libpq_url(url)) as conn:
            n = conn.execute("SELECT count(*) FROM parcel_versions WHERE valid_to IS NULL").fetchone()[0]
        if n == parcels:
            print(f"database {DB_NAME}: {n:,} parcels (reused)", flush=True)
            return url
    sample = var / f"maps-sample-{parcels}"
    if not (sample / "parcels.gpkg").exists():
        print(f"writing the sample ({parcels:,} parcels) to {sample}", flush=True)
        cli(url, "sample", "--out", str(sample), "--parcels", str(parcels), "--overwrite")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    print(f"loading the sample into {DB_NAME} (about 15 minutes for 1,000,000 parcels)", flush=True)
    cli(url, "db", "migrate")
    for command, name in (("admin", "admin_units.geojson"), ("parcels", "parcels.gpkg"),
                          ("waterlogging", "waterlogging_points.csv"), ("waterlogging", "flood_events.csv"),
                          ("rainfall", "rainfall.csv")):
        cli(url, "etl", command, str(sample / name))
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(db_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LANDFLOOD_DATABASE_URL": db_url, "LANDFLOOD_PUBLIC_URL": base}
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", "landflood.app:create_app()"], cwd=ROOT, env=env)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/maps", timeout=5).read()
            return proc, base
        except OSError:
            time.sleep(1)
    proc.kill()
    raise SystemExit("the app did not start")


def serve_folder(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass
    handler = partial(Quiet, directory=str(folder))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_port}"


def folium_page(db_url: str, bounds: list[list[float]], zoom: int, folder: Path, name: str) -> int:
    """folium's usual way: the parcels in ``bounds`` as one GeoJson layer, styled by land use."""
    (south, west), (north, east) = bounds
    with psycopg.connect(libpq_url(db_url)) as conn:
        colors = {k: v["color"] for k, v in data.land_use_colors(conn).items()}
        text_ = conn.execute("""
            SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
                'type', 'Feature', 'geometry', ST_AsGeoJSON(ST_Transform(v.geom, 4326), 7)::json,
                'properties', json_build_object('parcel_id', v.parcel_id, 'land_use', v.land_use_code))), '[]'))::text
            FROM parcel_versions v WHERE v.valid_to IS NULL
              AND v.geom && ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 4326), 5897)""",
                             (west, south, east, north)).fetchone()[0]
    geojson = json.loads(text_)
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=zoom, tiles=None,
                   width=VIEWPORT["width"], height=VIEWPORT["height"])
    m.default_js = [("leaflet", "leaflet/leaflet.js")]
    m.default_css = [("leaflet_css", "leaflet/leaflet.css")]
    folium.GeoJson(geojson, name="parcels", style_function=lambda f: {
        "fillColor": colors.get(f["properties"]["land_use"], "#cccccc"), "fillOpacity": 0.75,
        "color": "#555555", "weight": 0.5}).add_to(m)
    m.save(str(folder / name))
    return len(geojson["features"])


def measure(browser, url: str, drawn_js: str) -> dict:
    """One cold load: bytes and requests until the network is idle, first paint, parcels drawn."""
    context = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    context.route(lambda u: not u.startswith("http://127.0.0.1"), lambda route: route.abort())
    page = context.new_page()
    sizes: list[int] = []
    page.on("requestfinished", lambda r: sizes.append(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]))
    page.goto(url, timeout=600_000, wait_until="commit")
    drawn = page.evaluate(drawn_js)
    page.wait_for_load_state("networkidle", timeout=600_000)
    fcp = page.evaluate(FCP)
    context.close()
    return {"bytes": sum(sizes), "requests": len(sizes), "fcp_ms": fcp, "drawn_ms": drawn}


def median_of(runs: list[dict]) -> dict:
    """Per measure, the median of the runs that have it (None when none has)."""
    values = {k: [r[k] for r in runs if r[k] is not None] for k in runs[0]}
    return {k: statistics.median(v) if v else None for k, v in values.items()}


def run_view(browser, base: str, folium_base: str, db_url: str, folder: Path, centre: tuple[float, float],
             zoom: int, rounds: int) -> list[dict]:
    lat, lon = centre
    query = f"lat={lat}&lon={lon}&z={zoom}"
    rows = []
    bounds = None
    for kind in ("land-use", "flood-risk"):
        runs = [measure(browser, f"{base}/maps/{kind}?{query}", OURS_DRAWN) for _ in range(rounds)]
        rows.append({"page": f"landflood {kind}", "zoom": zoom, **median_of(runs), "runs": runs})
        if bounds is None:
            bounds = _view_bounds(browser, f"{base}/maps/{kind}?{query}")
    name = f"folium-z{zoom}.html"
    count = folium_page(db_url, bounds, zoom, folder, name)
    runs = [measure(browser, f"{folium_base}/{name}", FOLIUM_DRAWN) for _ in range(rounds)]
    rows.append({"page": "folium GeoJSON", "zoom": zoom, **median_of(runs), "runs": runs, "parcels": count})
    for row in rows:
        row["parcels"] = count
    return rows


def _view_bounds(browser, url: str) -> list[list[float]]:
    context = browser.new_context(viewport=VIEWPORT)
    context.route(lambda u: not u.startswith("http://127.0.0.1"), lambda route: route.abort())
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("html[data-lf-ready]")
    b = page.evaluate("() => { const b = LF.map.getBounds(); "
                      "return [[b.getSouth(), b.getWest()], [b.getNorth(), b.getEast()]]; }")
    context.close()
    return b


def markdown(result: dict) -> str:
    lines = ["| page | zoom | parcels in view | requests | page weight (MB) "
             "| first contentful paint (ms) | parcels drawn (ms) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in result["rows"]:
        fcp = "—" if r["fcp_ms"] is None else f"{r['fcp_ms']:.0f}"
        lines.append(f"| {r['page']} | {r['zoom']} | {r['parcels']:,} | {r['requests']:.0f} | {r['bytes'] / 1e6:.2f} | "
                     f"{fcp} | {r['drawn_ms']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3, help="cold loads of each page per view (median reported)")
    ap.add_argument("--zooms", default="17,15", help="zoom levels of the views compared")
    ap.add_argument("--reload", action="store_true", help="rebuild the benchmark database")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    settings = Settings()
    var = settings.var_dir / "bench"
    db_url = prepare(ensure_database(settings), args.parcels, args.reload, var)
    folder = var / "maps-folium"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STATIC / LEAFLET, folder / "leaflet", dirs_exist_ok=True)
    with psycopg.connect(libpq_url(db_url)) as conn:
        west, south, east, north = data.data_bbox(conn)
    centre = ((south + north) / 2, (west + east) / 2)
    app, base = start_app(db_url)
    static_srv, folium_base = serve_folder(folder)
    from playwright.sync_api import sync_playwright
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for zoom in (int(z) for z in args.zooms.split(",")):
                print(f"view at zoom {zoom}; load average {os.getloadavg()[0]:.2f}", flush=True)
                rows += run_view(browser, base, folium_base, db_url, folder, centre, zoom, args.rounds)
            browser.close()
    finally:
        app.terminate()
        app.wait()
        static_srv.shutdown()
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    result = {"date": dt.datetime.now().isoformat(timespec="seconds"), "parcels": args.parcels,
              "rounds": args.rounds, "centre": centre, "viewport": VIEWPORT, "rows": rows,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "chromium": chromium,
                          "load_average": os.getloadavg()}}
    out = var / f"maps-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2))
    print(markdown(result))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
