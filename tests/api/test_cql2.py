"""CQL2 text and JSON filters: each operator class, CRS of literals, errors that name the bad part."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from pyproj import Transformer
from sqlalchemy import create_engine, text

from tests.api.conftest import KNOWN_E, KNOWN_N, WARDS

TOTAL = sum(WARDS.values())


def matched(client, cql: str, extra: str = "") -> list[str]:
    resp = client.get(f"/collections/parcels/items?limit=1000&skipGeometry=true&filter={quote(cql)}{extra}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return sorted(f["id"] for f in resp.get_json()["features"])


def count(client, cql: str, extra: str = "") -> int:
    return len(matched(client, cql, extra))


@pytest.mark.parametrize(("cql", "expected"), [
    ("land_use = 'DGT'", 42),  # every 6th parcel from the 4th: 25 + 17
    ("land_use <> 'ODT' AND ward_code = '00082'", 50),
    ("address LIKE '%Hàng Bạc%'", 125),
    ("address NOT LIKE '%Hàng Bạc%' AND ward_code = '00070'", 75),
    ("CASEI(address) LIKE CASEI('%HÀNG BẠC%')", 125),
    ("land_use IN ('TMD', 'CLN')", 84),  # 83 as loaded, and 00070-1-7 became TMD
    ("parcel_no BETWEEN 10 AND 19 AND ward_code = '00070'", 10),
    ("NOT (ward_code = '00070' OR land_use = 'ODT')", 50),
    ("area_legal_m2 IS NULL", 25),
    ("area_legal_m2 IS NOT NULL AND ward_code = '00082'", 90),
    ("ward_code = '00070' OR ward_code = '00082' AND parcel_no < 3", 152),  # AND binds tighter
])
def test_comparison_like_in_between_not_null(client, cql, expected) -> None:
    assert count(client, cql) == expected


def test_in_counts_agree_with_the_database(client, api_db) -> None:
    eng = create_engine(api_db)
    with eng.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM parcel_versions WHERE valid_to IS NULL "
                              "AND land_use_code IN ('TMD', 'CLN')")).scalar()
    eng.dispose()
    assert count(client, "land_use IN ('TMD', 'CLN')") == n


def test_spatial_predicates_in_crs84_and_vn2000(client) -> None:
    to_ll = Transformer.from_crs(5897, 4326, always_xy=True)
    lon1, lat1 = to_ll.transform(KNOWN_E + 1, KNOWN_N + 1)
    lon2, lat2 = to_ll.transform(KNOWN_E + 23, KNOWN_N + 19)
    two = ["00070-1-1", "00070-1-2"]
    poly = f"POLYGON(({lon1} {lat1}, {lon2} {lat1}, {lon2} {lat2}, {lon1} {lat2}, {lon1} {lat1}))"
    assert matched(client, f"S_INTERSECTS(geometry, {poly})") == two
    assert matched(client, f"S_INTERSECTS(geometry, BBOX({lon1},{lat1},{lon2},{lat2}))") == two
    native = (f"S_INTERSECTS(geometry, POLYGON(({KNOWN_E + 1} {KNOWN_N + 1}, {KNOWN_E + 23} {KNOWN_N + 1}, "
              f"{KNOWN_E + 23} {KNOWN_N + 19}, {KNOWN_E + 1} {KNOWN_N + 1})))")
    assert matched(client, native, "&filter-crs=EPSG:5897") == two
    big = f"BBOX({KNOWN_E - 1},{KNOWN_N - 1},{KNOWN_E + 25},{KNOWN_N + 21})"
    assert matched(client, f"S_WITHIN(geometry, {big})", "&filter-crs=EPSG:5897") == two
    # 30 m around the survey point (its parcel's corner): the 2 x 2 parcels nearby and the 3rd in the row.
    assert matched(client, "S_DWITHIN(geometry, POINT(105.8542 21.0285), 30, meters)") == [
        "00070-1-1", "00070-1-2", "00070-1-26", "00070-1-27", "00070-1-3"]
    assert count(client, "S_DWITHIN(geometry, POINT(105.8542 21.0285), 0.03, kilometers)") == 5


def test_temporal_functions(client) -> None:
    assert matched(client, "T_AFTER(valid_from, TIMESTAMP('2025-01-01T00:00:00Z'))") == ["00070-1-7"]
    assert count(client, "T_INTERSECTS(valid_from, INTERVAL('2023-12-31', '2024-01-02'))") == 249
    assert count(client, "T_DURING(valid_from, INTERVAL('..', '2024-06-01T00:00:00Z'))") == 249
    assert count(client, "valid_from > TIMESTAMP('2024-06-01T00:00:00Z')") == 1


def test_cql2_json_as_a_parameter_and_as_a_post_body(client) -> None:
    doc = {"op": "and", "args": [
        {"op": "=", "args": [{"property": "ward_code"}, "00082"]},
        {"op": "between", "args": [{"property": "parcel_no"}, 1, 10]},
    ]}
    assert count(client, json.dumps(doc), "&filter-lang=cql2-json") == 10
    resp = client.post("/collections/parcels/items?limit=1000", data=json.dumps(doc),
                       content_type="application/query-cql-json")
    assert resp.status_code == 200 and resp.get_json()["numberReturned"] == 10
    dwithin = {"op": "s_dwithin", "args": [{"property": "geometry"},
                                           {"type": "Point", "coordinates": [105.8542, 21.0285]}, 30]}
    assert count(client, json.dumps(dwithin), "&filter-lang=cql2-json") == 5


@pytest.mark.parametrize(("cql", "says"), [
    ("land_use = = 'ODT'", "at character 12"),
    ("land_use = 'ODT' AND", "at the end"),
    ("nope = 1", "no queryable property 'nope'"),
    ("S_INTERSECTS(geometry, POINT(1))", "character"),
    ("S_DWITHIN(geometry, POINT(105 21), 3, furlongs)", "furlongs"),
    ("T_AFTER(valid_from, TIMESTAMP('soon'))", "'soon' is not an RFC 3339"),
    ("S_INTERSECTS(address, POINT(105 21))", "spatial predicates compare the geometry"),
])
def test_bad_filters_are_400s_that_name_the_bad_part(client, cql, says) -> None:
    resp = client.get(f"/collections/parcels/items?filter={quote(cql)}")
    assert resp.status_code == 400
    assert says in resp.get_json()["description"]


def test_bad_json_filter_and_filter_lang(client) -> None:
    resp = client.get("/collections/parcels/items?filter-lang=cql2-json&filter=" + quote("{\"op\": "))
    assert resp.status_code == 400 and "not JSON" in resp.get_json()["description"]
    assert client.get("/collections/parcels/items?filter-lang=sql&filter=1").status_code == 400


def test_filter_text_never_becomes_sql(client, api_db) -> None:
    evil = "land_use = 'ODT''; DROP TABLE parcel_versions; --'"
    assert count(client, evil) == 0
    resp = client.get("/collections/parcels/items?filter=" + quote("\"land_use; DROP TABLE parcels\" = 1"))
    assert resp.status_code == 400
    resp = client.get("/collections/parcels/items?sortby=" + quote("land_use; DROP TABLE parcels"))
    assert resp.status_code == 400
    eng = create_engine(api_db)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM parcel_versions WHERE valid_to IS NULL")).scalar() == sum(
            WARDS.values())
    eng.dispose()


def test_spatial_functions_with_every_geometry_type(client) -> None:
    """The classes /conformance declares: spatial-functions and basic-spatial-functions-plus."""
    e, n, native = KNOWN_E, KNOWN_N, "&filter-crs=EPSG:5897"
    row = f"LINESTRING({e + 1} {n + 1}, {e + 30} {n + 1})"  # across the first three parcels of the row
    assert matched(client, f"S_INTERSECTS(geometry, {row})", native) == ["00070-1-1", "00070-1-2", "00070-1-3"]
    assert matched(client, f"S_CROSSES(geometry, {row})", native) == ["00070-1-1", "00070-1-2", "00070-1-3"]
    two = ["00070-1-1", "00070-1-2"]
    assert matched(client, f"S_INTERSECTS(geometry, MULTIPOINT(({e + 1} {n + 1}), ({e + 13} {n + 1})))", native) == two
    assert matched(client, f"S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT({e + 1} {n + 1}), "
                           f"POINT({e + 13} {n + 1})))", native) == two
    assert matched(client, f"S_INTERSECTS(geometry, MULTILINESTRING(({e + 1} {n + 1}, {e + 2} {n + 2})))",
                   native) == ["00070-1-1"]
    assert matched(client, f"S_INTERSECTS(geometry, MULTIPOLYGON((({e + 1} {n + 1}, {e + 2} {n + 1}, "
                           f"{e + 2} {n + 2}, {e + 1} {n + 1}))))", native) == ["00070-1-1"]
    assert matched(client, f"S_CONTAINS(geometry, POINT({e + 1} {n + 1}))", native) == ["00070-1-1"]
    assert matched(client, f"S_TOUCHES(geometry, POINT({e} {n}))", native) == ["00070-1-1"]
    assert count(client, f"S_DISJOINT(geometry, POINT({e + 1} {n + 1}))", native) == TOTAL - 1
    assert count(client, "S_EQUALS(geometry, geometry)") == TOTAL


def test_property_property_and_case_insensitive_equality(client) -> None:
    assert count(client, "parcel_no = map_sheet") == 2  # 00070-1-1 and 00082-1-1
    assert count(client, "area_legal_m2 < area_m2") == count(client, "area_legal_m2 IS NOT NULL")
    assert count(client, "T_INTERSECTS(valid_from, valid_from)") == TOTAL
    assert count(client, "CASEI(land_use) = CASEI('odt')") == count(client, "land_use = 'ODT'")
