"""The benchmark's servers: landflood (gunicorn), tipg (uvicorn) and pygeoapi's stock PostgreSQL
provider (gunicorn), each in its own process, and the virtualenvs the peers need."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ogc_api.collections import PARCELS  # noqa: E402

LANDFLOOD = str(Path(sys.executable).with_name("landflood"))
DB_NAME = "landflood_bench_api"
VIEW = "bench.parcels_current"
TIPG_VERSION = "1.6.1"
SEED = 20250930
SERVERS = ("landflood", "tipg", "pygeoapi")
SCENARIOS = {  # name: (what, servers)
    "bbox-100": ("bbox, limit=100", SERVERS),
    "bbox-1000": ("bbox, limit=1000", SERVERS),
    "item": ("a feature by id", SERVERS),
    "cql2-bbox": ("CQL2 filter land_use='ODT' with a bbox, limit=100", SERVERS),
    "tiles-z14": ("vector tiles at z14", ("landflood", "tipg")),
    "tiles-z16": ("vector tiles at z16", ("landflood", "tipg")),
}
FEATURE_SCENARIOS = ("bbox-100", "bbox-1000", "item", "cql2-bbox")
#: Attributes of landflood's parcel tiles per zoom (ogc_api.collections: Prop.mvt_min_zoom);
#: tipg is asked for the same ones with ``properties=`` so that both tiles carry the same data.
TILE_PROPS = {z: ",".join(p.name for p in PARCELS.visible(False) if p.mvt_min_zoom is not None and p.mvt_min_zoom <= z)
              for z in (14, 16)}


def http_get(base: str, path: str, timeout: float = 60) -> tuple[int, dict, bytes]:
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def path_for(server: str, req: dict) -> str:
    """The request ``req`` in ``server``'s URL scheme."""
    if "z" in req:  # tiles: landflood follows OGC's {z}/{row}/{col}; tipg uses {z}/{x}/{y}
        if server == "landflood":
            return f"/collections/parcels/tiles/WebMercatorQuad/{req['z']}/{req['y']}/{req['x']}"
        if server == "tipg":
            return (f"/collections/{VIEW}/tiles/WebMercatorQuad/{req['z']}/{req['x']}/{req['y']}"
                    f"?properties={TILE_PROPS[req['z']]}")
        raise ValueError(f"{server} serves no tiles here")
    coll = f"/collections/{VIEW if server == 'tipg' else 'parcels'}/items"
    if "id" in req:
        return f"{coll}/{quote(req['id'])}"
    query = f"bbox={','.join(map(str, req['bbox']))}&limit={req['limit']}"
    if "filter" in req:
        query += f"&filter-lang=cql2-text&filter={quote(req['filter'])}"
    return f"{coll}?{query}"


def venv(path: Path, packages: list[str]) -> Path:
    """A virtualenv with ``packages``, made with the interpreter of landflood's own .venv."""
    python = path / "bin" / "python"
    marker = path / ".installed"
    spec = "\n".join(packages) + "\n"
    if marker.exists() and marker.read_text() == spec:
        return python
    print(f"installing {', '.join(packages)} into {path}", flush=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(path)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
                   check=True)
    marker.write_text(spec)
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pygeoapi_config(work: Path, url: str, base: str) -> Path:
    from ogc_api import crs as crsmod

    u = make_url(url)
    # YAML is a superset of JSON: the configuration is written as JSON.
    config = {
        "server": {"bind": {"host": "127.0.0.1", "port": 0}, "url": base, "mimetype": "application/json; charset=UTF-8",
                   "encoding": "utf-8", "languages": ["en-US"], "pretty_print": False,
                   "limits": {"default_items": 10, "max_items": 10000},
                   "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"}},
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": "bench", "description": "bench", "keywords": ["bench"],
                               "keywords_type": "theme", "terms_of_service": "https://example.invalid",
                               "url": base},
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "bench", "url": base},
            "contact": {"name": "bench", "email": "bench@example.invalid", "url": base},
        },
        "resources": {"parcels": {
            "type": "collection", "title": "parcels", "description": "current parcel versions",
            "keywords": ["parcels"], "links": [],
            "extents": {"spatial": {"bbox": [105.28, 20.56, 106.02, 21.39], "crs": crsmod.CRS84}},
            "providers": [{
                "type": "feature", "name": "PostgreSQL",
                "data": {"host": u.host, "port": u.port, "dbname": u.database, "user": u.username,
                         "password": u.password, "search_path": ["bench", "public"]},
                "id_field": "parcel_id", "table": VIEW.split(".")[1], "geom_field": "geom",
                "crs": [crsmod.CRS84, crsmod.STORAGE.uri], "storage_crs": crsmod.STORAGE.uri,
            }],
        }},
    }
    path = work / "pygeoapi-config.yml"
    path.write_text(json.dumps(config, indent=1))
    path.chmod(0o600)  # it holds the database password
    return path


def start_servers(procs: dict, work: Path, url: str, tipg_py: Path, pygeoapi_py: Path,
                   workers: int, threads: int) -> dict[str, str]:
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    ports = {name: _free_port() for name in SERVERS}
    bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LANDFLOOD_", "TIPG_", "PYGEOAPI_"))}
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    env = {**clean, "LANDFLOOD_DATABASE_URL": url, "LANDFLOOD_PUBLIC_URL": bases["landflood"],
           "LANDFLOOD_LOG_LEVEL": "WARNING"}
    cmd = [str(Path(sys.executable).with_name("gunicorn")), "-w", str(workers), "--threads", str(threads),
           "-b", f"127.0.0.1:{ports['landflood']}", "landflood.app:create_app()"]
    _spawn(procs, "landflood", cmd, env, ROOT, logs)

    env = {**clean, "DATABASE_URL": libpq, "TIPG_DB_SCHEMAS": '["bench"]',
           "TIPG_DB_TABLES": f'["{VIEW}"]', "TIPG_DB_SPATIAL_EXTENT": "false", "TIPG_DB_DATETIME_EXTENT": "false",
           "TIPG_TABLE_CONFIG__bench_parcels_current__PK": "parcel_id",
           # landflood's tile settings (ogc_api.tiles): 64 px buffer, up to 20,000 features a tile
           "TIPG_TILE_BUFFER": "64", "TIPG_MAX_FEATURES_PER_TILE": "20000"}
    cmd = [str(tipg_py), "-m", "uvicorn", "tipg.main:app", "--workers", str(workers), "--host", "127.0.0.1",
           "--port", str(ports["tipg"]), "--no-access-log", "--log-level", "warning"]
    _spawn(procs, "tipg", cmd, env, work, logs)

    config = _pygeoapi_config(work, url, bases["pygeoapi"])
    openapi = work / "pygeoapi-openapi.yml"
    env = {**clean, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run([str(pygeoapi_py.with_name("pygeoapi")), "openapi", "generate", str(config),
                    "--output-file", str(openapi)], env=env, check=True, capture_output=True)
    cmd = [str(pygeoapi_py), "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
           "-b", f"127.0.0.1:{ports['pygeoapi']}", "pygeoapi.flask_app:APP"]
    _spawn(procs, "pygeoapi", cmd, env, work, logs)

    for name, base in bases.items():
        _wait_up(name, base, procs[name], logs / f"{name}.log")
    return bases


def _spawn(procs: dict, name: str, cmd: list[str], env: dict, cwd: Path, logs: Path) -> None:
    log = open(logs / f"{name}.log", "w")
    procs[name] = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)


def _wait_up(name: str, base: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited ({proc.returncode}); its log {log}:\n{log.read_text()[-3000:]}")
        try:
            status, _, _ = http_get(base, "/collections", timeout=10)
            if status == 200:
                print(f"{name} is up at {base}", flush=True)
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{name} did not answer within {timeout:.0f} s; see {log}")


def stop(procs: dict) -> None:
    for proc in procs.values():  # each server is its own process group (start_new_session)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
