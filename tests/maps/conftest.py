"""The maps under test: a sample city loaded with the real CLI into its own database, the whole
app on a real HTTP server (werkzeug, in a thread, on a free port) and the distribution's
Chromium driven headless by Playwright. Nothing is mocked; only the basemap's internet tiles
are answered by the test (the machine has no internet)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from werkzeug.serving import make_server

from landdb import api_users
from landdb.migrate import upgrade
from landflood.cli import main
from landflood.settings import Settings
from tests.maps import flood_fixture

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EXTERNAL = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")
#: A 1x1 transparent PNG, the test's stand-in for OpenStreetMap's tiles.
BLANK_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                          "0000000d49444154789c6360000002000100e5270ade0000000049454e44ae426082")
ROOT = Path(__file__).resolve().parents[2]


def cli(url: str, *args: str) -> str:
    """``landflood ARGS...`` against the database at ``url``; its output."""
    result = CliRunner().invoke(main, list(args), env={"LANDFLOOD_DATABASE_URL": url}, catch_exceptions=False)
    assert result.exit_code == 0, result.output  # the sample city loads with no reject
    return result.output


def load_sample(url: str, folder: Path, parcels: int) -> None:
    cli(url, "sample", "--out", str(folder), "--parcels", str(parcels))
    cli(url, "etl", "admin", str(folder / "admin_units.geojson"))
    cli(url, "etl", "parcels", str(folder / "parcels.gpkg"))
    cli(url, "etl", "waterlogging", str(folder / "waterlogging_points.csv"))
    cli(url, "etl", "waterlogging", str(folder / "flood_events.csv"))
    cli(url, "etl", "rainfall", str(folder / "rainfall.csv"))


@pytest.fixture(scope="session")
def city_db(databases, tmp_path_factory) -> str:
    """A database with a small sample city and one flood scenario (zones, risk, water depth)."""
    url = databases.create("landflood_maps")
    upgrade(url)
    load_sample(url, tmp_path_factory.mktemp("sample"), 600)
    flood_fixture.add_scenario(url, flood_fixture.parcel_point(url), tmp_path_factory.mktemp("rasters"))
    return url


@dataclass
class Server:
    url: str
    db_url: str
    officer_token: str = ""
    extra: dict = field(default_factory=dict)


def _serve(db_url: str) -> Iterator[Server]:
    holder: dict = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    previous = os.environ.get("LANDFLOOD_PUBLIC_URL")
    os.environ["LANDFLOOD_PUBLIC_URL"] = url
    from landflood.app import create_app
    holder["app"] = create_app(Settings(database_url=db_url, public_url=url))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(url, db_url)
    finally:
        server.shutdown()
        holder["app"].extensions["landflood"].pools.close()
        if previous is None:
            os.environ.pop("LANDFLOOD_PUBLIC_URL", None)
        else:
            os.environ["LANDFLOOD_PUBLIC_URL"] = previous


@pytest.fixture(scope="session")
def server(city_db: str) -> Iterator[Server]:
    """The app on the sample city, with an officer's token."""
    engine = create_engine(city_db)
    with engine.begin() as conn:
        token = api_users.add(conn, "officer-maps", "officer")
    engine.dispose()
    for srv in _serve(city_db):
        srv.officer_token = token
        yield srv


@pytest.fixture
def empty_server(fresh_db: str) -> Iterator[Server]:
    """The app on a migrated database with nothing loaded (no parcels, no scenarios)."""
    yield from _serve(fresh_db)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` (tools/setup-system) installs Debian's chromium")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where each map's screenshot is kept after the run (git-ignored)."""
    folder = Settings().var_dir / "test-artifacts" / "maps"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Page:
    """A browser tab and what it saw: console errors, failed loads and requests."""

    page: object
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def _open(browser, basemap: str) -> tuple[object, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="vi-VN")
    tab = context.new_page()
    seen = Page(tab)
    tab.on("console", lambda m: m.type == "error" and seen.errors.append(f"{m.text} {m.location.get('url', '')}"))
    tab.on("pageerror", lambda e: seen.errors.append(f"page error: {e}"))
    tab.on("request", lambda r: seen.requests.append(r.url))
    if basemap == "online":  # stand in for OpenStreetMap: every external request gets a blank tile
        context.route(EXTERNAL, lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_PNG))
    else:  # no internet at all
        context.route(EXTERNAL, lambda route: route.abort("internetdisconnected"))
    return context, seen


@pytest.fixture
def tab(browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose basemap tiles load."""
    context, seen = _open(browser, "online")
    yield seen
    context.close()


@pytest.fixture
def offline_tab(browser) -> Iterator[Page]:
    """A fresh browser context with no internet: basemap tiles fail."""
    context, seen = _open(browser, "offline")
    yield seen
    context.close()
