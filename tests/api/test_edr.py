"""OGC API EDR for rainfall: locations, position, radius and area on three known gauges.

HK stands on the surveyed point (21.0285 N, 105.8542 E = E 588 591.944, N 2 326 345.312 in
EPSG:5897); BD is about 2.5 km west of it, SS about 24 km north. Observations are hourly and
end at the given times (UTC); HK misses 03:00.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from landflood.settings import Settings

KNOWN_E, KNOWN_N = 588591.944, 2326345.312
GAUGES = {  # code: (name, lon, lat)
    "HK": ("Hoàn Kiếm", 105.8542, 21.0285),
    "BD": ("Ba Đình", 105.8300, 21.0350),
    "SS": ("Sóc Sơn", 105.8500, 21.2500),
}
DAY = "2025-09-30"
OBSERVATIONS = {  # code: {hour: mm}
    "HK": {0: 0.0, 1: 1.5, 2: 12.0, 4: 30.5, 5: 2.0},
    "BD": {1: 4.0, 2: 8.0, 3: 0.0},
    "SS": {},
}
HK_POINT = "POINT(105.8542 21.0285)"
COVJSON = "application/prs.coverage+json"
BASE = "/collections/rainfall"


def at(hour: int) -> str:
    return f"{DAY}T{hour:02d}:00:00Z"


@pytest.fixture(scope="module")
def edr_db(databases, migrated_template) -> str:
    """A fresh migrated database holding the three gauges and their observations."""
    url = databases.create("landflood_edr", template=migrated_template)
    eng = create_engine(url)
    with eng.begin() as conn:
        for code, (name, lon, lat) in GAUGES.items():
            gid = conn.execute(text(
                "INSERT INTO rain_gauges (code, name, elevation_m, operator, geom) VALUES (:c, :n, 8.5, 'KTTV', "
                "ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 5897)) RETURNING id"),
                {"c": code, "n": name, "lon": lon, "lat": lat}).scalar()
            if code == "HK":  # exactly on the surveyed point
                conn.execute(text("UPDATE rain_gauges SET geom = ST_SetSRID(ST_MakePoint(:e, :n), 5897) WHERE id = :i"),
                             {"e": KNOWN_E, "n": KNOWN_N, "i": gid})
            for hour, mm in OBSERVATIONS[code].items():
                conn.execute(text("INSERT INTO rain_observations (gauge_id, observed_at, interval_min, rain_mm) "
                                  "VALUES (:g, :t, 60, :mm)"), {"g": gid, "t": at(hour), "mm": mm})
        ss = conn.execute(text("SELECT id FROM rain_gauges WHERE code = 'SS'")).scalar()
        conn.execute(text("INSERT INTO rain_observations (gauge_id, observed_at, interval_min, rain_mm) "
                          "VALUES (:g, '2025-09-29T00:00:00Z', 1440, 5.0)"), {"g": ss})
    eng.dispose()
    return url


@pytest.fixture(scope="module")
def edr(edr_db) -> Iterator:
    """Flask's test client on an app serving that database."""
    from landflood.app import create_app
    application = create_app(Settings(database_url=edr_db))
    yield application.test_client()
    application.extensions["landflood"].pools.close()


def get(client, url: str, status: int = 200, **kw) -> dict:
    resp = client.get(url, **kw)
    assert resp.status_code == status, resp.get_data(as_text=True)
    return json.loads(resp.get_data(as_text=True))


def error(client, url: str, status: int = 400) -> str:
    resp = client.get(url)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    return resp.get_json()["description"]


def series(cov: dict) -> dict[str, float | None]:
    return dict(zip(cov["domain"]["axes"]["t"]["values"], cov["ranges"]["rain_mm"]["values"], strict=True))


# --- metadata ---------------------------------------------------------------------------------

def test_collection_advertises_queries_and_parameter(edr) -> None:
    doc = get(edr, f"{BASE}?f=json")
    assert set(doc["data_queries"]) == {"position", "radius", "area", "locations"}
    param = doc["parameter_names"]["rain_mm"]
    assert param["unit"]["symbol"]["value"] == "mm"
    assert param["observedProperty"]["label"] == {"en": "Rainfall", "vi": "Lượng mưa"}
    paths = get(edr, "/openapi?f=json")["paths"]
    assert {f"{BASE}/position", f"{BASE}/radius", f"{BASE}/area", f"{BASE}/locations"} <= set(paths)


# --- locations --------------------------------------------------------------------------------

def test_locations_lists_gauges_in_crs84(edr) -> None:
    resp = edr.get(f"{BASE}/locations")
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    doc = resp.get_json()
    assert doc["type"] == "FeatureCollection"
    by_id = {f["id"]: f for f in doc["features"]}
    assert set(by_id) == {"HK", "BD", "SS"}
    hk = by_id["HK"]
    assert hk["properties"]["name"] == "Hoàn Kiếm"
    assert hk["properties"]["first_observation_at"] == at(0)
    assert hk["properties"]["last_observation_at"] == at(5)
    lon, lat = hk["geometry"]["coordinates"]
    assert lon == pytest.approx(105.8542, abs=2e-6) and lat == pytest.approx(21.0285, abs=2e-6)


def test_locations_in_the_cadastral_crs_and_datetime(edr) -> None:
    doc = get(edr, f"{BASE}/locations?crs=EPSG:5897")
    hk = next(f for f in doc["features"] if f["id"] == "HK")
    assert hk["geometry"]["coordinates"] == pytest.approx([KNOWN_E, KNOWN_N], abs=0.001)
    on_the_29th = get(edr, f"{BASE}/locations?datetime=2025-09-29T00:00:00Z/2025-09-29T23:59:59Z")
    assert [f["id"] for f in on_the_29th["features"]] == ["SS"]


def test_locations_as_html(edr) -> None:
    resp = edr.get(f"{BASE}/locations?f=html")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert '"id":"HK"' in page and "coverages-map" in page  # the gauges, drawn on a map


def test_location_series_is_a_point_series_coverage(edr) -> None:
    resp = edr.get(f"{BASE}/locations/HK")
    assert resp.status_code == 200 and resp.mimetype == COVJSON
    cov = resp.get_json()
    assert cov["type"] == "Coverage"
    assert cov["domain"]["domainType"] == "PointSeries"
    assert set(cov["domain"]["axes"]) == {"x", "y", "t"}
    assert cov["domain"]["axes"]["x"]["values"] == pytest.approx([105.8542], abs=2e-6)
    assert cov["domain"]["axes"]["y"]["values"] == pytest.approx([21.0285], abs=2e-6)
    systems = {tuple(r["coordinates"]): r["system"] for r in cov["domain"]["referencing"]}
    assert systems[("x", "y")]["id"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert systems[("t",)]["type"] == "TemporalRS"
    param = cov["parameters"]["rain_mm"]
    assert param["unit"]["symbol"]["value"] == "mm"
    assert param["label"] == {"en": "Rainfall", "vi": "Lượng mưa"}
    rng = cov["ranges"]["rain_mm"]
    assert rng["type"] == "NdArray" and rng["axisNames"] == ["t"] and rng["shape"] == [6]
    # Every stored value in order, and a null for the missing 03:00 observation.
    assert series(cov) == {at(0): 0.0, at(1): 1.5, at(2): 12.0, at(3): None, at(4): 30.5, at(5): 2.0}


def test_location_values_equal_the_stored_observations(edr, edr_db) -> None:
    eng = create_engine(edr_db)
    with eng.connect() as conn:
        stored = conn.execute(text(
            "SELECT to_char(o.observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), o.rain_mm "
            "FROM rain_observations o JOIN rain_gauges g ON g.id = o.gauge_id WHERE g.code = 'BD'")).all()
    eng.dispose()
    assert series(get(edr, f"{BASE}/locations/BD")) == dict(stored)


# --- datetime ---------------------------------------------------------------------------------

@pytest.mark.parametrize("window, expected", [
    (at(2), {at(2): 12.0}),
    (f"{at(1)}/{at(4)}", {at(1): 1.5, at(2): 12.0, at(3): None, at(4): 30.5}),
    (f"../{at(1)}", {at(0): 0.0, at(1): 1.5}),
    (f"{at(4)}/..", {at(4): 30.5, at(5): 2.0}),
    # Hanoi time; the missing 03:00 is a null even at the end of the window
    ("2025-09-30T09:00:00+07:00/2025-09-30T10:00:00+07:00", {at(2): 12.0, at(3): None}),
    # a window wider than the gauge's records: from its first to its last observation
    ("2025-01-01T00:00:00Z/2026-01-01T00:00:00Z", {at(0): 0.0, at(1): 1.5, at(2): 12.0, at(3): None, at(4): 30.5,
                                                   at(5): 2.0}),
])
def test_datetime_instant_interval_and_open_ends(edr, window: str, expected: dict) -> None:
    from urllib.parse import quote
    assert series(get(edr, f"{BASE}/locations/HK?datetime={quote(window)}")) == expected


def test_datetime_without_observations_says_when_there_are(edr) -> None:
    message = error(edr, f"{BASE}/locations/HK?datetime=2024-01-01T00:00:00Z", 404)
    assert "HK" in message and at(0) in message and at(5) in message


# --- position, radius, area -------------------------------------------------------------------

def test_position_finds_the_nearest_gauge(edr) -> None:
    cov = get(edr, f"{BASE}/position?coords=POINT(105.8540 21.0290)")
    assert cov["type"] == "Coverage" and cov["id"] == "HK"
    assert cov["landflood:gauge"]["distance_m"] < 100
    assert series(cov)[at(4)] == 30.5


def test_position_too_far_from_any_gauge_is_404_naming_the_nearest(edr) -> None:
    message = error(edr, f"{BASE}/position?coords=POINT(105.60 21.03)", 404)
    assert "5 km" in message and "BD" in message and "radius" in message


def test_position_in_other_crss(edr) -> None:
    cov = get(edr, f"{BASE}/position?coords=POINT({KNOWN_E} {KNOWN_N})&crs=EPSG:5897")
    assert cov["id"] == "HK"
    assert cov["domain"]["axes"]["x"]["values"] == pytest.approx([KNOWN_E], abs=0.001)
    assert cov["domain"]["axes"]["y"]["values"] == pytest.approx([KNOWN_N], abs=0.001)
    assert cov["domain"]["referencing"][0]["system"]["type"] == "ProjectedCRS"
    # EPSG:4326 is latitude first, in coords and in the referencing's axis order.
    cov = get(edr, f"{BASE}/position?coords=POINT(21.0285 105.8542)&crs=EPSG:4326")
    assert cov["id"] == "HK" and cov["domain"]["referencing"][0]["coordinates"] == ["y", "x"]
    assert cov["domain"]["axes"]["x"]["values"] == pytest.approx([105.8542], abs=2e-6)


def test_radius_catches_two_gauges_nearest_first(edr) -> None:
    resp = edr.get(f"{BASE}/radius?coords={HK_POINT}&within=3&within-units=km")
    assert resp.status_code == 200 and resp.mimetype == COVJSON
    doc = resp.get_json()
    assert doc["type"] == "CoverageCollection" and doc["domainType"] == "PointSeries"
    assert doc["parameters"]["rain_mm"]["unit"]["symbol"]["value"] == "mm"
    assert [c["id"] for c in doc["coverages"]] == ["HK", "BD"]
    assert series(doc["coverages"][1]) == {at(1): 4.0, at(2): 8.0, at(3): 0.0}
    in_metres = get(edr, f"{BASE}/radius?coords={HK_POINT}&within=500&within-units=m")
    assert [c["id"] for c in in_metres["coverages"]] == ["HK"]
    everything = get(edr, f"{BASE}/radius?coords={HK_POINT}&within=30&within-units=km")
    assert [c["id"] for c in everything["coverages"]] == ["HK", "BD", "SS"]


def test_radius_with_datetime_leaves_out_gauges_without_observations(edr) -> None:
    doc = get(edr, f"{BASE}/radius?coords={HK_POINT}&within=3&within-units=km&datetime={at(4)}/..")
    assert [c["id"] for c in doc["coverages"]] == ["HK"]


def test_radius_finding_nothing_is_404(edr) -> None:
    assert "no rain gauge within 0.1 km" in error(
        edr, f"{BASE}/radius?coords=POINT(105.7 20.9)&within=100&within-units=m", 404)


def test_area_returns_the_gauges_inside(edr) -> None:
    polygon = "POLYGON((105.82 21.03,105.84 21.03,105.84 21.04,105.82 21.04,105.82 21.03))"
    doc = get(edr, f"{BASE}/area?coords={polygon}")
    assert doc["type"] == "CoverageCollection"
    assert [c["id"] for c in doc["coverages"]] == ["BD"]
    both = ("MULTIPOLYGON(((105.82 21.03,105.84 21.03,105.84 21.04,105.82 21.04,105.82 21.03)),"
            "((105.85 21.02,105.86 21.02,105.86 21.04,105.85 21.04,105.85 21.02)))")
    assert {c["id"] for c in get(edr, f"{BASE}/area?coords={both}")["coverages"]} == {"HK", "BD"}


def test_geojson_output_has_one_feature_per_observation(edr) -> None:
    resp = edr.get(f"{BASE}/radius?coords={HK_POINT}&within=3&within-units=km&f=GeoJSON&datetime={at(2)}/{at(3)}")
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    rows = [(f["properties"]["gauge"], f["properties"]["datetime"], f["properties"]["rain_mm"])
            for f in resp.get_json()["features"]]
    assert rows == [("HK", at(2), 12.0), ("BD", at(2), 8.0), ("BD", at(3), 0.0)]


def test_parameter_name_and_html(edr) -> None:
    assert get(edr, f"{BASE}/locations/BD?parameter-name=rain_mm")["type"] == "Coverage"
    resp = edr.get(f"{BASE}/position?coords={HK_POINT}&f=html")
    assert resp.status_code == 200 and resp.mimetype == "text/html"


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url, status, words", [
    (f"{BASE}/position?coords=POINT(105.85", 400, ["coords", "not valid WKT"]),
    (f"{BASE}/position?coords=POLYGON((0 0,1 0,1 1,0 0))", 400, ["POLYGON", "POINT"]),
    (f"{BASE}/position", 400, ["coords is required"]),
    (f"{BASE}/position?coords=POINT(205 21)", 400, ["coords", "longitude, latitude", "±180°"]),
    (f"{BASE}/area?coords=POLYGON((105.8 21,105.9 21.1,105.9 21,105.8 21.1,105.8 21))", 400, ["not valid",
                                                                                            "Self-intersection"]),
    (f"{BASE}/locations/HK?datetime=yesterday", 400, ["datetime", "yesterday"]),
    (f"{BASE}/locations/HK?datetime={at(5)}/{at(1)}", 400, ["datetime", "ends before it starts"]),
    (f"{BASE}/locations/NOPE", 404, ["NOPE"]),
    (f"{BASE}/radius?coords={HK_POINT}&within=3&within-units=mi", 400, ["within-units", "'mi'", "km or m"]),
    (f"{BASE}/radius?coords={HK_POINT}&within=-3&within-units=km", 400, ["within", "positive"]),
    (f"{BASE}/radius?coords={HK_POINT}&within=far&within-units=km", 400, ["within", "'far'"]),
    (f"{BASE}/radius?coords={HK_POINT}", 400, ["within is required"]),
    (f"{BASE}/locations/HK?parameter-name=temperature", 400, ["parameter-name", "'temperature'", "rain_mm"]),
    (f"{BASE}/position?coords={HK_POINT}&crs=EPSG:9999", 400, ["crs", "EPSG:9999"]),
    (f"{BASE}/locations/HK?f=xml", 400, ["f=", "'xml'", "CoverageJSON"]),
    (f"{BASE}/locations?f=CoverageJSON", 400, ["f=", "GeoJSON"]),
])
def test_bad_input_is_a_client_error_naming_the_bad_part(edr, url: str, status: int, words: list[str]) -> None:
    message = error(edr, url, status)
    for word in words:
        assert word in message
