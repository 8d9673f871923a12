"""OGC API Features on the known test city: paging, bbox, datetime, properties, sortby, CRS."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from pyproj import Transformer
from sqlalchemy import create_engine, text

from tests.api.conftest import HISTORY_ID, KNOWN_E, KNOWN_N, WARDS

TOTAL = sum(WARDS.values())


def get_json(client, url: str, **kw) -> dict:
    resp = client.get(url, **kw)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return json.loads(resp.get_data(as_text=True))


def relative(href: str) -> str:
    parts = urlsplit(href)
    return f"{parts.path}?{parts.query}"


def ids(doc: dict) -> list[str]:
    return [f["id"] for f in doc["features"]]


def test_landing_conformance_and_collections(client) -> None:
    landing = get_json(client, "/")
    assert any(link["rel"] == "service-desc" for link in landing["links"])
    conformance = get_json(client, "/conformance")["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conformance
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conformance
    names = {c["id"] for c in get_json(client, "/collections")["collections"]}
    assert {"parcels", "admin-units", "waterlogging-points", "flood-events", "rain-gauges",
            "flood-risk-zones"} <= names
    parcels = get_json(client, "/collections/parcels")
    assert parcels["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/5897"
    assert "http://www.opengis.net/def/crs/EPSG/0/3405" in parcels["crs"]


def test_following_next_links_reads_every_parcel_once(client) -> None:
    url, seen, pages = "/collections/parcels/items?limit=40&skipGeometry=true", [], 0
    while url:
        doc = get_json(client, url)
        assert doc["numberMatched"] == TOTAL
        seen += ids(doc)
        pages += 1
        nxt = [link for link in doc["links"] if link["rel"] == "next"]
        assert "cursor=" in nxt[0]["href"] if nxt else True
        url = relative(nxt[0]["href"]) if nxt else None
    assert len(seen) == TOTAL == len(set(seen))
    assert pages == -(-TOTAL // 40)


def test_offset_pages_match_keyset_pages_and_have_prev_links(client) -> None:
    first = get_json(client, "/collections/parcels/items?limit=100&skipGeometry=true")
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    by_cursor = get_json(client, relative(nxt))
    by_offset = get_json(client, "/collections/parcels/items?limit=100&offset=100&skipGeometry=true")
    assert ids(by_cursor) == ids(by_offset)
    prev = next(link["href"] for link in by_offset["links"] if link["rel"] == "prev")
    assert parse_qs(urlsplit(prev).query)["offset"] == ["0"]


def test_limit_and_offset_are_validated(client) -> None:
    for bad in ("limit=0", "limit=abc", "offset=-1", "limit=100000"):
        resp = client.get(f"/collections/parcels/items?{bad}")
        assert resp.status_code == 400
        assert bad.split("=")[0] in resp.get_json()["description"]


def test_one_parcel_by_id_with_etag_and_404(client) -> None:
    resp = client.get("/collections/parcels/items/00070-1-1")
    assert resp.status_code == 200 and resp.headers["ETag"]
    assert resp.get_json()["properties"]["land_use_name"] == "Đất ở tại đô thị"
    again = client.get("/collections/parcels/items/00070-1-1", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304
    missing = client.get("/collections/parcels/items/00070-9-9999")
    assert missing.status_code == 404 and "00070-9-9999" in missing.get_json()["description"]


def test_english_names_through_language_negotiation(client) -> None:
    doc = get_json(client, "/collections/parcels/items/00070-1-1?lang=en")
    assert doc["properties"]["land_use_name"].lower().startswith("urban residential")
    doc = get_json(client, "/collections/parcels/items/00070-1-1", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert doc["properties"]["land_use_name"].lower().startswith("urban residential")


def test_bbox_in_each_crs_selects_the_same_parcels(client) -> None:
    to_ll = Transformer.from_crs(5897, 4326, always_xy=True)
    (x1, x2), (y1, y2) = (KNOWN_E + 1, KNOWN_E + 30), (KNOWN_N + 1, KNOWN_N + 30)
    lon1, lat1 = to_ll.transform(x1, y1)
    lon2, lat2 = to_ll.transform(x2, y2)
    base = "/collections/parcels/items?skipGeometry=true&limit=1000"
    native = ids(get_json(client, f"{base}&bbox={x1},{y1},{x2},{y2}&bbox-crs=EPSG:5897"))
    assert sorted(native) == ["00070-1-1", "00070-1-2", "00070-1-26", "00070-1-27", "00070-1-28", "00070-1-3"]
    crs84 = ids(get_json(client, f"{base}&bbox={lon1},{lat1},{lon2},{lat2}"))
    epsg4326 = ids(get_json(client, f"{base}&bbox={lat1},{lon1},{lat2},{lon2}"
                               "&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326"))
    assert sorted(crs84) == sorted(native) == sorted(epsg4326)
    assert client.get(f"{base}&bbox=1,2,3").status_code == 400


def test_output_in_vn2000_equals_the_survey_within_a_millimetre(client, api_db) -> None:
    resp = client.get("/collections/parcels/items?limit=1000&crs=EPSG:5897")
    assert resp.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/5897>"
    served = {f["id"]: f["geometry"]["coordinates"][0][0] for f in resp.get_json()["features"]}
    eng = create_engine(api_db)
    with eng.connect() as conn:
        stored = dict(conn.execute(text(
            "SELECT parcel_id, ST_AsGeoJSON(geom, 15)::json->'coordinates'->0->0 FROM parcel_versions "
            "WHERE valid_to IS NULL")).all())
    eng.dispose()
    assert served.keys() == stored.keys()
    worst = max(abs(a - b) for pid in stored for p, q in zip(served[pid], stored[pid], strict=True)
                for a, b in zip(p, q, strict=True))
    assert worst < 0.001
    assert served["00070-1-1"][0] == [KNOWN_E, KNOWN_N]


@pytest.mark.parametrize(("crs", "expected"), [
    ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", (105.8542, 21.0285)),
    ("http://www.opengis.net/def/crs/EPSG/0/4326", (21.0285, 105.8542)),  # latitude first
])
def test_the_known_point_in_geographic_crs(client, crs, expected) -> None:
    doc = get_json(client, f"/collections/parcels/items/00070-1-1?crs={crs}")
    first = doc["geometry"]["coordinates"][0][0][0]
    assert first == pytest.approx(expected, abs=2e-8)  # ~2 mm


@pytest.mark.parametrize("epsg", [3857, 3405])
def test_projected_outputs_agree_with_pyproj(client, epsg) -> None:
    doc = get_json(client, f"/collections/parcels/items/00070-1-1?crs=EPSG:{epsg}")
    x, y = Transformer.from_crs(5897, epsg, always_xy=True).transform(KNOWN_E, KNOWN_N)
    assert doc["geometry"]["coordinates"][0][0][0] == pytest.approx([x, y], abs=0.01)


def test_unsupported_crs_is_a_400_naming_the_supported_ones(client) -> None:
    resp = client.get("/collections/parcels/items?crs=EPSG:32648")
    assert resp.status_code == 400
    assert "EPSG/0/5897" in resp.get_json()["description"]


def test_datetime_selects_the_version_valid_then(client) -> None:
    base = f"/collections/parcels/items?parcel_id={HISTORY_ID}"
    now = get_json(client, base)["features"]
    assert [f["properties"]["land_use"] for f in now] == ["TMD"]
    then = get_json(client, f"{base}&datetime=2024-06-01T00:00:00Z")["features"]
    assert [f["properties"]["land_use"] for f in then] == ["ODT"]
    assert then[0]["id"].startswith(f"{HISTORY_ID}@2024-01-01")
    both = get_json(client, f"{base}&datetime=2024-06-01T00:00:00Z/..")["features"]
    assert sorted(f["properties"]["land_use"] for f in both) == ["ODT", "TMD"]
    old = get_json(client, f"/collections/parcels/items/{then[0]['id']}")
    assert old["properties"]["land_use"] == "ODT"
    assert client.get(f"{base}&datetime=yesterday").status_code == 400


def test_properties_skip_geometry_and_sortby(client) -> None:
    doc = get_json(client, "/collections/parcels/items?properties=parcel_id,area_legal_m2&skipGeometry=true"
                           "&sortby=-parcel_no&limit=5&ward_code=00082")
    assert all(f["geometry"] is None for f in doc["features"])
    assert all(set(f["properties"]) == {"parcel_id", "area_legal_m2"} for f in doc["features"])
    assert ids(doc)[0] == "00082-2-100"
    assert doc["numberMatched"] == WARDS["00082"]
    assert client.get("/collections/parcels/items?properties=nope").status_code == 400
    assert client.get("/collections/parcels/items?sortby=nope").status_code == 400


def test_html_pages_for_items_and_one_item(client) -> None:
    page = client.get("/collections/parcels/items?limit=5", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "00070-1-1" in page.get_data(as_text=True)
    item = client.get("/collections/parcels/items/00070-1-1?f=html")
    assert item.status_code == 200 and "Hàng Bạc" in item.get_data(as_text=True)


def test_queryables_list_the_public_properties(client) -> None:
    doc = get_json(client, "/collections/parcels/queryables")
    assert {"parcel_id", "land_use", "area_m2", "valid_from", "geometry"} <= set(doc["properties"])
    assert doc["properties"]["valid_from"]["format"] == "date-time"


def test_other_collections_serve_their_features(client) -> None:
    points = get_json(client, "/collections/waterlogging-points/items")
    assert {f["id"] for f in points["features"]} == {"UN001", "UN002"}
    assert points["features"][0]["properties"]["events"] == 1
    events = get_json(client, "/collections/flood-events/items?datetime=2025-09-30T00:00:00Z/2025-10-01T00:00:00Z")
    assert events["numberMatched"] == 2
    assert get_json(client, "/collections/flood-events/items?datetime=2020-01-01T00:00:00Z/2021-01-01T00:00:00Z")[
        "numberMatched"] == 0
    zones = get_json(client, "/collections/flood-risk-zones/items")
    assert zones["features"][0]["properties"]["risk_class"] == "high"
    gauges = get_json(client, "/collections/rain-gauges/items/HN-RG01")
    assert gauges["properties"]["name"] == "Hoàn Kiếm"
    units = get_json(client, "/collections/admin-units/items/00070")
    assert units["properties"]["name"] == "Phường Hoàn Kiếm"


def test_jsonld_is_the_same_document_with_a_geojson_ld_context(client) -> None:
    """pygeoapi's HTML pages fetch ?f=jsonld for their embedded JSON-LD block."""
    plain = client.get("/collections/parcels/items?limit=3").get_json()
    resp = client.get("/collections/parcels/items?limit=3&f=jsonld")
    assert resp.status_code == 200 and resp.mimetype == "application/ld+json"
    doc = resp.get_json(force=True)
    assert doc.pop("@context").endswith("geojson-context.jsonld")
    assert [f["id"] for f in doc["features"]] == [f["id"] for f in plain["features"]]
    one = client.get(f"/collections/parcels/items/{plain['features'][0]['id']}?f=jsonld").get_json(force=True)
    assert one["@context"] and one["id"] == plain["features"][0]["id"]


def test_skip_geometry_is_true_or_false(client) -> None:
    assert all(f["geometry"] for f in get_json(client, "/collections/parcels/items?skipGeometry=false")["features"])
    resp = client.get("/collections/parcels/items?skipGeometry=null")
    assert resp.status_code == 400 and "skipGeometry" in resp.get_json()["description"]
