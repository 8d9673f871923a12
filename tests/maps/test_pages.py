"""The maps' pages and routes over HTTP, as a browser or a script fetches them."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from landflood.cli import main
from tests.maps.conftest import Server


def get(url: str, data: bytes | None = None) -> tuple[int, dict, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=data)) as resp:
            return resp.status, dict(resp.headers), resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_home_page_leads_to_the_maps_and_the_api_in_both_languages(server: Server) -> None:
    status, _, vi = get(f"{server.url}/maps")
    assert status == 200
    assert '<html lang="vi">' in vi and "Bản đồ nguy cơ ngập" in vi and "Bản đồ hiện trạng sử dụng đất" in vi
    assert 'href="/maps/flood-risk?lang=vi"' in vi and 'href="/maps/land-use?lang=vi"' in vi
    assert f'href="{server.url}/collections?lang=vi"' in vi and "Dành cho người dùng GIS" in vi
    _, _, en = get(f"{server.url}/maps?lang=en")
    assert "Flood-risk map" in en and "Land-use map" in en and "For GIS users" in en


@pytest.mark.parametrize("kind", ["flood-risk", "land-use"])
def test_map_pages_load_nothing_from_a_cdn_and_stay_small(server: Server, kind: str) -> None:
    status, headers, html = get(f"{server.url}/maps/{kind}")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert sources and all(s.startswith("/maps/static/") for s in sources)
    assert not re.search(r"cdn|unpkg|jsdelivr|cloudflare|bootstrap|jquery", html, re.IGNORECASE)
    weight = len(html.encode()) + sum(len(get(server.url + s)[2].encode()) for s in sources)
    assert weight < 400_000  # the parcels come as tiles, not in the page


def test_sign_in_refuses_a_bad_token_and_an_outside_redirect(server: Server) -> None:
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{server.url}/maps/land-use").read().decode()
    csrf = re.search(r'"csrf":\s*"([^"]+)"', page).group(1)

    def post(form: str) -> tuple[int, dict]:
        try:
            with opener.open(urllib.request.Request(f"{server.url}/maps/sign-in", data=form.encode())) as resp:
                return resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers)

    status, headers = post(f"token=wrong&next=/maps/land-use&csrf={csrf}")
    assert status == 303 and headers["Location"].endswith("/maps/land-use?signin=failed")
    status, headers = post(f"token=wrong&next=https://evil.example/&csrf={csrf}")
    assert status == 303 and headers["Location"].endswith("/maps/?signin=failed")
    assert post("token=wrong&next=/maps/land-use")[0] == 403  # no CSRF token: not from our page


def test_parcel_risk_and_depth_routes(server: Server) -> None:
    from tests.maps import flood_fixture
    parcel = flood_fixture.parcel_point(server.db_url)
    status, _, body = get(f"{server.url}/maps/api/parcels/{parcel['parcel_id']}/risk")
    assert status == 200 and '"risk_class": "high"' in body
    status, _, body = get(f"{server.url}/maps/api/flood-depth/{flood_fixture.SCENARIO}")
    assert status == 200 and '"bounds"' in body
    status, headers, _ = get(f"{server.url}/maps/api/flood-depth/{flood_fixture.SCENARIO}.png")
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert get(f"{server.url}/maps/api/flood-depth/no-such-scenario")[0] == 404


def test_export_refuses_a_bad_bbox(city_db: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["maps", "export", "--out", str(tmp_path), "--bbox", "1,2,3"],
                                env={"LANDFLOOD_DATABASE_URL": city_db})
    assert result.exit_code == 1 and "minlon,minlat,maxlon,maxlat" in result.output


def test_html_has_security_headers_and_every_map_script_its_nonce(server: Server) -> None:
    status, headers, html = get(f"{server.url}/maps/land-use")
    csp = headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(f'nonce="{nonce}"' in s for s in scripts)
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]  # no inline script without the nonce
    assert "frame-ancestors 'self'" in csp and headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert get(f"{server.url}/maps/land-use")[1]["Content-Security-Policy"] != csp  # a new nonce each time
    _, api_headers, _ = get(f"{server.url}/collections/parcels/items?f=html&limit=2")
    assert "frame-ancestors 'self'" in api_headers["Content-Security-Policy"]
    _, json_headers, _ = get(f"{server.url}/collections/parcels/items?limit=1")
    assert json_headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" not in json_headers
