"""The API's landing page leads planners to the maps, in its JSON and visibly in its HTML."""

from __future__ import annotations

import re


def _maps_links(doc: dict) -> list[dict]:
    return [link for link in doc["links"] if link["href"].endswith("/maps")]


def test_the_json_landing_page_links_the_maps(client) -> None:
    doc = client.get("/?f=json").get_json()
    assert _maps_links(doc) == [{"rel": "related", "type": "text/html", "title": "Bản đồ",
                                 "href": "http://127.0.0.1:5000/maps"}]
    english = client.get("/?f=json", headers={"Accept-Language": "en"}).get_json()
    assert [link["title"] for link in _maps_links(english)] == ["Maps"]
    # pygeoapi's own links are all still there.
    assert {"service-desc", "conformance", "data"} <= {link["rel"] for link in doc["links"]}


def test_the_html_landing_page_shows_the_maps_first(client) -> None:
    html = client.get("/?f=html").get_data(as_text=True)
    section = re.search(r'<section id="maps".*?</section>', html, re.S).group(0)
    assert "<h2>Bản đồ" in section and 'href="http://127.0.0.1:5000/maps?lang=vi"' in section
    assert html.index('id="maps"') < html.index("/collections?f=html")  # above the API's sections
    assert "/collections?f=html" in html and "/openapi?f=html" in html  # pygeoapi's page otherwise
    english = client.get("/?f=html&lang=en").get_data(as_text=True)
    assert "<h2>Maps" in english and 'href="http://127.0.0.1:5000/maps?lang=en">Open the maps</a>' in english


def test_the_link_leads_to_the_maps_home(client) -> None:
    resp = client.get("/maps")
    assert resp.status_code == 200 and "/maps/land-use" in resp.get_data(as_text=True)


def test_html_pages_use_the_apps_own_copies_of_their_libraries(client) -> None:
    """No internet inside a city network: pygeoapi's pages must not need a CDN to render."""
    for url in ("/?f=html", "/collections?f=html", "/collections/waterlogging-points/items?f=html",
                "/collections/parcels/items?f=html&limit=2"):
        html = client.get(url).get_data(as_text=True)
        outside = re.findall(r'(?:src|href)="(https://(?:unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com)[^"]*)"',
                             re.sub(r"<!--\[if .*?<!\[endif\]-->", "", html, flags=re.S))  # html5shiv: IE 8 only
        assert outside == [], url
        assert "/maps/static/vendor/bootstrap-5.1.3/bootstrap.min.css" in html, url
        for asset in re.findall(r'(?:src|href)="(/maps/static/vendor/[^"]+)"', html):
            assert client.get(asset).status_code == 200, asset
