"""The maps in a real headless Chromium: what a planner, an officer and someone offline see."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.maps import flood_fixture
from tests.maps.conftest import Page, Server, cli

pytestmark = pytest.mark.browser

TILES = "/tiles/WebMercatorQuad/"


@pytest.fixture(scope="module")
def target(city_db: str) -> dict:
    """The parcel the tests click on (inside the test scenario's flood zone), and its owner."""
    point = flood_fixture.parcel_point(city_db)
    point["owner"] = flood_fixture.owner_name(city_db, point["parcel_id"])
    return point


def open_map(tab: Page, server: Server, kind: str, lat: float, lon: float, zoom: int = 18, extra: str = "") -> None:
    tab.page.goto(f"{server.url}/maps/{kind}?lat={lat}&lon={lon}&z={zoom}{extra}")
    tab.page.wait_for_selector("html[data-lf-ready]")
    tab.page.wait_for_load_state("networkidle")


def click_centre(tab: Page) -> None:
    size = tab.page.viewport_size
    tab.page.mouse.click(size["width"] / 2, size["height"] / 2)


def popup(tab: Page):
    return tab.page.locator(".leaflet-popup-content")


def screenshot(page, path: Path) -> None:
    """After the popup has faded in."""
    page.wait_for_function("() => [...document.querySelectorAll('.leaflet-popup')]"
                           ".every(p => getComputedStyle(p).opacity === '1')")
    page.screenshot(path=str(path))


def test_land_use_map_public(server: Server, tab: Page, target: dict, screenshots: Path) -> None:
    open_map(tab, server, "land-use", target["lat"], target["lon"])
    assert any("/collections/parcels" + TILES in url for url in tab.requests)
    assert tab.page.locator("canvas.leaflet-tile").count() > 0  # vector tiles drawn
    # The tiles carry only what the style reads, gzipped (the popup fetches the rest on click).
    tiles = [url for url in tab.requests if TILES in url]
    assert tiles and all(url.endswith("?properties=land_use") for url in tiles)
    encodings = tab.page.evaluate(
        "urls => Promise.all(urls.map(u => fetch(u).then(r => r.headers.get('content-encoding'))))", tiles)
    assert "gzip" in encodings
    legend = tab.page.locator(".lf-legend")
    expect(legend).to_contain_text("Chú giải")
    expect(legend).to_contain_text("Đất ở tại đô thị")
    expect(legend).to_contain_text("Urban residential land")
    expect(tab.page.locator(".leaflet-control-scale")).to_be_visible()
    expect(tab.page.locator(".leaflet-control-layers")).to_be_visible()
    click_centre(tab)
    expect(popup(tab).locator(".lf-parcel-id")).to_have_text(target["parcel_id"])
    expect(popup(tab)).to_contain_text("Loại đất")
    expect(popup(tab)).to_contain_text("Cao")  # its flood risk in the test scenario
    assert target["owner"] not in popup(tab).inner_text()
    assert "Người sử dụng đất" not in popup(tab).inner_text()
    screenshot(tab.page, screenshots / "land-use.png")
    assert tab.errors == []


def sign_in(tab: Page, token: str) -> None:
    tab.page.locator(".lf-account summary").click()
    tab.page.locator(".lf-account input[name=token]").fill(token)
    with tab.page.expect_navigation():
        tab.page.locator(".lf-account button[type=submit]").click()
    tab.page.wait_for_selector("html[data-lf-ready]")


def test_officer_signs_in_sees_owners_and_signs_out(server: Server, tab: Page, target: dict) -> None:
    open_map(tab, server, "land-use", target["lat"], target["lon"])
    sign_in(tab, server.officer_token)
    expect(tab.page.locator(".lf-user")).to_have_text("officer-maps")
    cookie = next(c for c in tab.page.context.cookies() if c["name"] == "landflood_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    click_centre(tab)
    expect(popup(tab).locator(".lf-parcel-id")).to_have_text(target["parcel_id"])
    expect(popup(tab)).to_contain_text("Người sử dụng đất")
    expect(popup(tab)).to_contain_text(target["owner"])

    with tab.page.expect_navigation():
        tab.page.get_by_role("button", name="Đăng xuất").click()
    tab.page.wait_for_selector("html[data-lf-ready]")
    expect(tab.page.locator(".lf-account summary")).to_have_text("Đăng nhập cán bộ")
    click_centre(tab)
    expect(popup(tab).locator(".lf-parcel-id")).to_have_text(target["parcel_id"])
    assert target["owner"] not in popup(tab).inner_text()
    assert tab.errors == []


def test_wrong_token_is_refused(server: Server, tab: Page, target: dict) -> None:
    open_map(tab, server, "land-use", target["lat"], target["lon"])
    sign_in(tab, "lf_not-a-real-token")
    expect(tab.page.locator(".lf-error")).to_have_text("Mã truy cập không hợp lệ.")
    assert tab.page.locator(".lf-user").count() == 0


def test_flood_risk_map(server: Server, tab: Page, target: dict, screenshots: Path) -> None:
    open_map(tab, server, "flood-risk", target["lat"], target["lon"])
    for collection, styled_by in (("parcels", "land_use,flood_risk"), ("flood-risk-zones", "scenario,risk_class"),
                                  ("waterlogging-points", "max_depth_m")):
        tiles = [url for url in tab.requests if f"/collections/{collection}{TILES}" in url]
        assert tiles and all(url.endswith(f"?properties={styled_by}") for url in tiles), collection
    expect(tab.page.locator("#lf-scenario")).to_have_value(flood_fixture.SCENARIO)
    expect(tab.page.locator("img.leaflet-image-layer")).to_have_count(1)  # the scenario's water depth
    legend = tab.page.locator(".lf-legend")
    for label in ("Độ sâu ngập (kịch bản)", "Vùng nguy cơ ngập", "Rất cao", "Điểm úng ngập", "Trạm đo mưa",
                  "Mặt nước (sông, hồ, ao)"):
        expect(legend).to_contain_text(label)
    expect(tab.page.locator(".leaflet-control-scale")).to_be_visible()
    click_centre(tab)
    expect(popup(tab).locator(".lf-parcel-id")).to_have_text(target["parcel_id"])
    expect(popup(tab)).to_contain_text(f"{flood_fixture.SCENARIO}: Cao")
    assert target["owner"] not in popup(tab).inner_text()
    screenshot(tab.page, screenshots / "flood-risk.png")
    assert tab.errors == []


def _point(url: str, sql: str) -> tuple[float, float]:
    engine = create_engine(url)
    with engine.connect() as conn:
        lon, lat = conn.execute(text(sql)).one()
    engine.dispose()
    return lat, lon


def test_hotspot_popup_lists_its_events(server: Server, tab: Page) -> None:
    lat, lon = _point(server.db_url, """SELECT ST_X(ST_Transform(w.geom, 4326)), ST_Y(ST_Transform(w.geom, 4326))
        FROM waterlogging_points w WHERE EXISTS (SELECT 1 FROM flood_events e WHERE e.point_id = w.id)
        ORDER BY w.code LIMIT 1""")
    open_map(tab, server, "flood-risk", lat, lon, zoom=17)
    click_centre(tab)
    expect(popup(tab).locator(".lf-hotspot")).to_be_visible()
    expect(popup(tab)).to_contain_text("Các lần ngập gần đây")
    assert tab.errors == []


def test_rain_gauge_popup_has_a_chart(server: Server, tab: Page) -> None:
    lat, lon = _point(server.db_url, "SELECT ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) "
                                     "FROM rain_gauges ORDER BY code LIMIT 1")
    open_map(tab, server, "flood-risk", lat, lon, zoom=16, extra="&lang=en")
    click_centre(tab)
    expect(popup(tab).locator("svg.lf-rain-chart rect").first).to_be_attached()
    expect(popup(tab)).to_contain_text("Rain in the 48 hours to")
    assert tab.errors == []


def test_search_by_parcel_id_and_by_address(server: Server, tab: Page, target: dict) -> None:
    open_map(tab, server, "land-use", 21.0, 105.8, zoom=13)
    box = tab.page.locator(".lf-search input[type=search]")
    box.fill(target["parcel_id"].replace("-", " "))
    box.press("Enter")
    expect(popup(tab).locator(".lf-parcel-id")).to_have_text(target["parcel_id"])
    street = popup(tab).locator("tr", has_text="Địa chỉ").locator("td").inner_text().split(",")[0]
    box.fill(street.lower())
    box.press("Enter")
    expect(tab.page.locator(".lf-results li a").first).to_be_visible()
    assert tab.errors == []


def test_flood_map_without_scenarios_says_so(empty_server: Server, tab: Page) -> None:
    tab.page.goto(f"{empty_server.url}/maps/flood-risk")
    tab.page.wait_for_selector("html[data-lf-ready]")
    expect(tab.page.locator(".lf-scenarios")).to_contain_text("Chưa có kịch bản ngập nào được tính.")
    expect(tab.page.locator(".lf-legend")).to_contain_text("Chú giải")
    tab.page.wait_for_load_state("networkidle")
    assert tab.errors == []


def test_basemap_falls_back_offline(server: Server, offline_tab: Page, target: dict) -> None:
    open_map(offline_tab, server, "land-use", target["lat"], target["lon"])
    expect(offline_tab.page.locator(".lf-offline-note")).to_be_visible()
    assert offline_tab.page.locator("canvas.leaflet-tile").count() > 0  # the parcels still show
    click_centre(offline_tab)
    expect(popup(offline_tab).locator(".lf-parcel-id")).to_have_text(target["parcel_id"])
    # The only errors are the internet basemap's tiles that could not load.
    assert offline_tab.errors and all("tile.openstreetmap.org" in e for e in offline_tab.errors)


def test_export_opens_offline(city_db: str, browser, target: dict, tmp_path: Path, screenshots: Path) -> None:
    d = 0.004
    bbox = f"{target['lon'] - d},{target['lat'] - d},{target['lon'] + d},{target['lat'] + d}"
    cli(city_db, "maps", "export", "--out", str(tmp_path), "--bbox", bbox)
    for kind in ("land-use", "flood-risk"):
        html = (tmp_path / f"{kind}.html").read_text(encoding="utf-8")
        assert target["parcel_id"] in html and target["owner"] not in html
        context = browser.new_context(viewport={"width": 1280, "height": 860}, offline=True)
        page = context.new_page()
        errors, requests = [], []
        # Bind this page's lists: a late event from the previous page must not land in them.
        page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.on("request", lambda r, requests=requests: requests.append(r.url))
        page.goto((tmp_path / f"{kind}.html").as_uri())
        page.wait_for_selector("html[data-lf-ready]")
        expect(page.locator(".lf-legend")).to_contain_text("Chú giải")
        x, y = page.evaluate("([lat, lon]) => { const p = LF.map.latLngToContainerPoint([lat, lon]); "
                             "return [p.x, p.y]; }", [target["lat"], target["lon"]])
        page.mouse.click(x, y)
        expect(page.locator(".leaflet-popup-content .lf-parcel-id")).to_have_text(target["parcel_id"])
        screenshot(page, screenshots / f"export-{kind}.png")
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        assert errors == []
        context.close()


@pytest.mark.parametrize(("ui", "shows"), [("", ".swagger-ui .info .title"), ("&ui=redoc", ".api-info h1")])
def test_the_openapi_pages_render_without_internet(server: Server, offline_tab: Page, ui: str, shows: str) -> None:
    """Swagger UI and ReDoc come from the app's own copies (their CDN links are rewritten)."""
    offline_tab.page.goto(f"{server.url}/openapi?f=html{ui}")
    offline_tab.page.wait_for_selector(shows, timeout=30_000)
    assert "landflood" in offline_tab.page.locator(shows).first.inner_text()
    external = [u for u in offline_tab.requests if not u.startswith(server.url) and not u.startswith("data:")]
    # Only ReDoc's decorations try the internet (a font, its "powered by" logo); the page does not need them.
    assert all("fonts.googleapis.com" in u or "cdn.redoc.ly" in u for u in external), external


@pytest.mark.parametrize("path", ["/collections/parcels/items?f=html&limit=5", "/collections?f=html", "/?f=html"])
def test_the_apis_html_pages_keep_within_their_content_security_policy(server: Server, offline_tab: Page,
                                                                         path: str) -> None:
    offline_tab.page.goto(f"{server.url}{path}")
    offline_tab.page.wait_for_load_state("networkidle")
    assert not [e for e in offline_tab.errors if "Content Security Policy" in e], offline_tab.errors
