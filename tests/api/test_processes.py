"""OGC API Processes over HTTP: the flood-risk report and the waterlogging nowcast.

The known test city (tests/api/conftest.py) in its own database, with what the processes
need that the shared one lacks: a synthetic DEM under it (5 m cells, EPSG:5897) on which the
real flood pipeline runs the design storms of 50 and 100 mm in 2 h (stored risk, depth
rasters), a second rain gauge, a lake and two more hotspots. The DEM slopes gently west and
has a bowl under UN001 (on parcel 00070-1-1, 1 m deep), UN002 (0.5 m) and UN003 (1 m, 600 m
north-east, next to gauge HN-RG02); UN004 stands 15 m from a lake (a 2 m pit under a water
parcel) and UN009 200 m north of the DEM.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from sqlalchemy import create_engine, text

from flood import run as flood_run
from flood import scenarios
from landdb import api_users
from landdb import parcels as parcel_db
from landdb import rasters as rasterdb
from tests.api.conftest import KNOWN_E, KNOWN_N, OWNER_ID, OWNER_NAME, load_city, make_settings

RES, N = 5.0, 200
X0, Y1 = KNOWN_E - 200, KNOWN_N + 800  # the DEM: 1 km x 1 km, the known city in its south-west
BOWLS = {"UN001": (KNOWN_E + 5, KNOWN_N + 5, 1.0, 40.0), "UN002": (KNOWN_E + 155, KNOWN_N + 65, 0.5, 30.0),
         "UN003": (KNOWN_E + 600, KNOWN_N + 600, 1.0, 40.0)}  # code: (x, y, depth m, radius m)
LAKE = shapely.box(KNOWN_E + 680, KNOWN_N + 280, KNOWN_E + 720, KNOWN_N + 320)  # on whole cells
EXTRA_POINTS = {"UN003": (KNOWN_E + 600, KNOWN_N + 600), "UN004": (KNOWN_E + 700, KNOWN_N + 335),
                "UN009": (KNOWN_E + 600, KNOWN_N + 1000)}
PARCEL = "00070-1-1"  # in the UN001 bowl; owned by OWNER_NAME
REPORT, NOWCAST = "/processes/flood-risk-report/execution", "/processes/waterlogging-nowcast/execution"
SECRETS = (OWNER_NAME, "Bích Ngọc", OWNER_ID, "owner", "id_number", "parties", "full_name")


def dem() -> np.ndarray:
    """Heights: 8 m, rising 1 m per km eastwards, with the bowls and the lake pit."""
    x = X0 + RES * (np.arange(N) + 0.5)
    y = Y1 - RES * (np.arange(N) + 0.5)
    xx, yy = np.meshgrid(x, y)
    z = 8.0 + 0.001 * (xx - X0)
    for cx, cy, depth, radius in BOWLS.values():
        z -= depth * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / radius**2)
    x0, y0, x1, y1 = LAKE.bounds
    z[(xx > x0) & (xx < x1) & (yy > y0) & (yy < y1)] -= 2.0
    return z.astype(np.float32)


def _add_city_extras(conn, dem_path: Path) -> None:
    rasterdb.save(conn, rasterdb.RasterRecord("dem-test", "dem", None, str(dem_path), "EPSG:5897", N, N, RES,
                                              -9999.0, shapely.box(X0, Y1 - N * RES, X0 + N * RES, Y1)))
    for code, (x, y) in EXTRA_POINTS.items():
        conn.execute(text("INSERT INTO waterlogging_points (code, name, street, geom) VALUES "
                          "(:c, :c, 'Phố Thử', ST_SetSRID(ST_MakePoint(:x, :y), 5897))"),
                     {"c": code, "x": x, "y": y})
    conn.execute(text("INSERT INTO rain_gauges (code, name, geom) VALUES ('HN-RG02', 'Tây Hồ', "
                      "ST_SetSRID(ST_MakePoint(:x, :y), 5897))"), dict(zip("xy", EXTRA_POINTS["UN003"], strict=True)))
    parcel_db.save(conn, parcel_db.ParcelData(key=parcel_db.ParcelKey("00082", 9, 1), land_use_code="MNC",
                                              geom=LAKE, address="Hồ Thử", source="test"))


@pytest.fixture(scope="module")
def proc_db(databases, migrated_template, tmp_path_factory) -> dict:
    """The known city, the extras and the pipeline's results; its URL and an officer's token."""
    url = databases.create("landflood_proc", template=migrated_template)
    load_city(url)
    tmp = tmp_path_factory.mktemp("processes")
    with rasterio.open(tmp / "dem.tif", "w", driver="GTiff", width=N, height=N, count=1, dtype="float32",
                       crs="EPSG:5897", transform=from_origin(X0, Y1, RES, RES), nodata=-9999) as dst:
        dst.write(dem(), 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        _add_city_extras(conn, tmp / "dem.tif")
        token = api_users.add(conn, "officer-processes", "officer")
    for mm in (50, 100):  # replaces the conftest's hand-written risk rows of design-100mm-2h
        flood_run.run(engine, scenarios.design(mm, 2.0), None, tmp / "var")
    engine.dispose()
    return {"url": url, "officer": {"Authorization": f"Bearer {token}"}}


@pytest.fixture(scope="module")
def proc(proc_db) -> Iterator:
    """Flask's test client on an app serving that database."""
    from landflood.app import create_app
    application = create_app(make_settings(proc_db["url"]))
    yield application.test_client()
    application.extensions["landflood"].pools.close()


def post(client, url: str, inputs, status: int = 200, headers: dict | None = None) -> dict:
    resp = client.post(url, json={"inputs": inputs}, headers=headers or {})
    body = resp.get_data(as_text=True)
    assert resp.status_code == status, body
    return json.loads(body)


def stored_risk(url: str, parcel_id: str) -> dict[str, dict]:
    """The parcel's flood_risk rows, straight from the database, by scenario."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT r.scenario, r.max_depth_m, r.mean_depth_m, r.flooded_fraction, r.risk_class "
            "FROM flood_risk r JOIN parcels p USING (ward_code, map_sheet, parcel_no) WHERE p.parcel_id = :p"),
            {"p": parcel_id}).mappings().all()
    engine.dispose()
    return {r["scenario"]: dict(r) for r in rows}


def parcel_geojson_4326(url: str, parcel_id: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as conn:
        doc = conn.execute(text("SELECT ST_AsGeoJSON(ST_Transform(geom, 4326), 9) FROM parcel_versions "
                                "WHERE parcel_id = :p AND valid_to IS NULL"), {"p": parcel_id}).scalar()
    engine.dispose()
    return json.loads(doc)


def hotspots(doc: dict) -> dict[str, dict]:
    return {f["properties"]["id"]: f["properties"] for f in doc["features"] if f["properties"]["kind"] == "hotspot"}


def parcels(doc: dict) -> dict[str, dict]:
    return {f["properties"]["id"]: f["properties"] for f in doc["features"] if f["properties"]["kind"] == "parcel"}


# --- descriptions ------------------------------------------------------------------------------

def test_both_processes_are_listed_and_described(proc) -> None:
    listed = {p["id"]: p for p in json.loads(proc.get("/processes?lang=en").get_data(as_text=True))["processes"]}
    assert set(listed) == {"flood-risk-report", "waterlogging-nowcast"}
    for pid, p in listed.items():
        assert p["jobControlOptions"] == ["sync-execute"]
        assert any(link["href"].split("?")[0].endswith(f"/processes/{pid}/execution") for link in p["links"])
    assert listed["flood-risk-report"]["title"] == "Flood-risk report for a parcel or an area"
    report = json.loads(proc.get("/processes/flood-risk-report").get_data(as_text=True))
    assert report["title"] == "Báo cáo nguy cơ ngập cho thửa đất hoặc khu vực"  # Vietnamese by default
    assert set(report["inputs"]) == {"parcel_id", "geometry"} and set(report["outputs"]) == {"report"}
    assert report["inputs"]["geometry"]["schema"]["contentMediaType"] == "application/geo+json"
    nowcast = json.loads(proc.get("/processes/waterlogging-nowcast?lang=en").get_data(as_text=True))
    assert set(nowcast["inputs"]) == {"rain_mm_h", "per_gauge", "duration_h"}
    assert nowcast["inputs"]["rain_mm_h"]["schema"]["minimum"] == 0
    assert nowcast["outputs"]["at_risk"]["schema"]["contentMediaType"] == "application/geo+json"
    assert "rainfall per gauge" in nowcast["description"]


# --- flood-risk report ---------------------------------------------------------------------------

def test_report_by_parcel_matches_the_stored_risk(proc, proc_db) -> None:
    doc = post(proc, REPORT, {"parcel_id": PARCEL})
    stored = stored_risk(proc_db["url"], PARCEL)
    assert doc["parcel_id"] == PARCEL and doc["land_use_code"] == "ODT"
    assert doc["address"] == "Số 1 phố Hàng Bạc, Hoàn Kiếm"
    assert [s["scenario"] for s in doc["scenarios"]] == ["design-50mm-2h", "design-100mm-2h"] == sorted(
        stored, key=lambda s: int(s.split("-")[1][:-2]))
    for row in doc["scenarios"]:
        db = stored[row["scenario"]]
        for key in ("max_depth_m", "mean_depth_m", "flooded_fraction"):
            assert row[key] == pytest.approx(db[key], abs=5e-4), (row["scenario"], key)
        assert row["risk_class"] == db["risk_class"]
    dry, wet = doc["scenarios"]
    assert dry["max_depth_m"] == 0 and dry["risk_class"] == "low"  # 50 mm in 2 h: what the drains take
    assert 0.5 < wet["max_depth_m"] < 1.0 and wet["depth_class"] == "very_high"  # the 1 m bowl fills
    assert doc["risk_class"] == wet["risk_class"] == "very_high" and doc["reference_scenario"] == "design-100mm-2h"
    assert [(e["code"], e["distance_m"]) for e in sorted(doc["events_nearby"], key=lambda e: e["code"])] == [
        ("UN001", 0.0), ("UN002", pytest.approx(149.9, abs=0.2))]
    assert doc["events_nearby"][0]["started_at"] == "2025-09-30T01:00:00+00:00"

    vi, en = doc["summary"]["vi"], doc["summary"]["en"]
    assert unicodedata.is_normalized("NFC", vi)
    assert vi.startswith(f"Thửa đất {PARCEL}: với mưa 100 mm trong 2 giờ")
    depth_vi = f"{wet['max_depth_m']:.2f}".replace(".", ",")
    assert f"ngập sâu tới {depth_vi} m" in vi and "mức rủi ro: rất cao" in vi
    assert "Đã ghi nhận 2 lần ngập úng" in vi
    assert en.startswith(f"Parcel {PARCEL}: with 100 mm of rain in 2 h")
    assert f"up to {wet['max_depth_m']:.2f} m deep" in en and "risk class: very high" in en
    assert "2 flood events were recorded" in en


def test_report_by_geometry_agrees_with_the_parcel(proc, proc_db) -> None:
    polygon = parcel_geojson_4326(proc_db["url"], PARCEL)  # the parcel itself, in CRS84
    lon, lat = polygon["coordinates"][0][0][0]  # a MultiPolygon's first corner
    assert lon == pytest.approx(105.8542, abs=1e-4) and lat == pytest.approx(21.0285, abs=1e-4)
    by_id = post(proc, REPORT, {"parcel_id": PARCEL})
    for given in (polygon, {"type": "Feature", "properties": {}, "geometry": polygon}):
        doc = post(proc, REPORT, {"geometry": given})
        assert doc["parcel_id"] is None and "address" not in doc
        assert [s["scenario"] for s in doc["scenarios"]] == [s["scenario"] for s in by_id["scenarios"]]
        for mine, theirs in zip(doc["scenarios"], by_id["scenarios"], strict=True):  # from the raster vs stored
            for key in ("max_depth_m", "mean_depth_m", "flooded_fraction"):
                assert mine[key] == pytest.approx(theirs[key], abs=2e-3), (mine["scenario"], key)
            assert mine["risk_class"] == theirs["risk_class"]
        assert doc["risk_class"] == by_id["risk_class"] == "very_high"
        assert sorted(e["code"] for e in doc["events_nearby"]) == ["UN001", "UN002"]
        vi = doc["summary"]["vi"]
        assert vi.startswith("Khu vực này: với mưa 100 mm") and "mức rủi ro: rất cao" in vi
        assert doc["summary"]["en"].startswith("This area: with 100 mm of rain")

    far = post(proc, REPORT, {"geometry": {"type": "Point", "coordinates": [105.80, 21.00]}})  # off the DEM
    assert far["scenarios"] == [] and far["risk_class"] is None and far["events_nearby"] == []
    assert "no flood scenario has been modelled" in far["summary"]["en"]
    assert "chưa có kịch bản ngập nào" in far["summary"]["vi"]


BAD_REPORTS = [
    ({"parcel_id": "00070-9-999"}, 404, "no current parcel '00070-9-999'"),
    ({}, 400, "give either parcel_id (such as 00070-12-345) or geometry"),
    ({"parcel_id": PARCEL, "geometry": {"type": "Point", "coordinates": [105.8542, 21.0285]}}, 400, "not both"),
    ({"parcel_id": 5}, 400, "parcel_id must be a string"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[105.85, 21.02], [105.86, 21.03], [105.86, 21.02],
                                                       [105.85, 21.03], [105.85, 21.02]]]}},
     400, "not valid (Self-intersection"),
    ({"geometry": {"type": "Blob", "coordinates": [1, 2]}}, 400, "not a GeoJSON geometry"),
    ({"geometry": "POINT (105.85 21.03)"}, 400, "must be a GeoJSON geometry or feature object"),
    ({"parcel_id": PARCEL, "geometry": None}, 400, "must be a GeoJSON geometry or feature object"),
    ({"parcel_id": None, "geometry": {"type": "Point", "coordinates": [105.8542, 21.0285]}}, 400,
     "parcel_id must be a string"),
    ({"geometry": {"type": "Point", "coordinates": [KNOWN_E, KNOWN_N]}}, 400, "not longitude, latitude"),
    ([PARCEL], 400, 'send a JSON object with the inputs'),
]


@pytest.mark.parametrize(("inputs", "status", "says"), BAD_REPORTS)
def test_report_errors_say_what_to_do(proc, inputs, status, says) -> None:
    doc = post(proc, REPORT, inputs, status)
    assert says in doc["description"], doc
    assert doc["code"] == ("NotFound" if status == 404 else "InvalidParameterValue")
    assert not any(s in doc["description"] for s in ("SQL", "psycopg", "Traceback", "Error executing"))


def test_the_response_is_raw_or_a_document(proc) -> None:
    raw = proc.post(REPORT, json={"inputs": {"parcel_id": PARCEL}, "response": "raw"})
    assert raw.status_code == 200 and raw.get_json()["parcel_id"] == PARCEL
    document = proc.post(REPORT, json={"inputs": {"parcel_id": PARCEL}, "response": "document"})
    assert document.status_code == 200 and document.get_json()["outputs"][0]["parcel_id"] == PARCEL
    resp = proc.post(REPORT, json={"inputs": {"parcel_id": PARCEL}, "response": "pdf"})
    assert resp.status_code == 400 and "response" in resp.get_json()["description"]
    resp = proc.post(REPORT, json={"inputs": {"parcel_id": PARCEL}, "outputs": [None]})
    assert resp.status_code == 400 and "outputs" in resp.get_json()["description"]


def test_unknown_processes_are_404(proc) -> None:
    assert proc.get("/processes/flood-report").status_code == 404
    resp = proc.post("/processes/flood-report/execution", json={"inputs": {"parcel_id": PARCEL}})
    assert resp.status_code == 404 and resp.get_json()["code"] == "NoSuchProcess"


# --- nowcast -----------------------------------------------------------------------------------

def test_nowcast_grows_with_the_rain(proc, proc_db) -> None:
    heavy = post(proc, NOWCAST, {"rain_mm_h": 80, "duration_h": 2})
    assert heavy["type"] == "FeatureCollection" and heavy["properties"]["rain"] == {"uniform_mm_h": 80.0}
    spots = hotspots(heavy)
    # UN004's only water is the lake's rise; UN009 is off the DEM: neither is waterlogged.
    assert set(spots) == {"UN001", "UN002", "UN003"}
    assert spots["UN001"]["depth_class"] == spots["UN003"]["depth_class"] == "very_high"
    assert spots["UN002"]["depth_class"] == "high" and spots["UN001"]["observed_events"] == 1
    design = stored_risk(proc_db["url"], PARCEL)["design-100mm-2h"]["max_depth_m"]
    assert spots["UN001"]["expected_depth_m"] >= design - 1e-3  # 160 mm of rain floods at least as deep as 100
    lon, lat = next(f for f in heavy["features"] if f["properties"]["id"] == "UN001")["geometry"]["coordinates"]
    assert lon == pytest.approx(105.8542, abs=2e-4) and lat == pytest.approx(21.0285, abs=2e-4)
    flooded = parcels(heavy)
    assert flooded[PARCEL]["depth_class"] == "very_high" and "00082-9-1" not in flooded  # the lake is not flooding
    assert all(p["expected_depth_m"] >= 0.1 and p["flooded_fraction"] >= 0.05 for p in flooded.values())
    assert heavy["properties"]["hotspots_expected"] == 3 and heavy["properties"]["parcels_expected"] == len(flooded)

    light = post(proc, NOWCAST, {"rain_mm_h": 5, "duration_h": 1})  # under the drains' 25 mm/h
    assert light["features"] == [] and light["properties"]["max_depth_m"] == 0
    moderate = post(proc, NOWCAST, {"rain_mm_h": 30})  # duration_h defaults to 1
    assert moderate["properties"]["duration_h"] == 1
    mid_spots, mid_parcels = hotspots(moderate), parcels(moderate)
    assert mid_spots and set(mid_spots) <= set(spots) and set(mid_parcels) < set(flooded)
    for code, props in mid_spots.items():
        assert props["expected_depth_m"] < spots[code]["expected_depth_m"]
    assert moderate["properties"]["flooded_area_m2"] < heavy["properties"]["flooded_area_m2"]


def test_rain_at_one_gauge_floods_near_it(proc) -> None:
    west = post(proc, NOWCAST, {"per_gauge": {"HN-RG01": 80, "HN-RG02": 0}, "duration_h": 2})
    assert west["properties"]["rain"] == {"per_gauge_mm_h": {"HN-RG01": 80.0, "HN-RG02": 0.0}}
    assert set(hotspots(west)) == {"UN001", "UN002"} and PARCEL in parcels(west)
    east = post(proc, NOWCAST, {"per_gauge": {"HN-RG01": 0, "HN-RG02": 80}, "duration_h": 2})
    assert set(hotspots(east)) == {"UN003"} and parcels(east) == {}
    # One gauge alone interpolates to the same rain everywhere, as the description says.
    alone = post(proc, NOWCAST, {"per_gauge": {"HN-RG01": 80}, "duration_h": 2})
    uniform = post(proc, NOWCAST, {"rain_mm_h": 80, "duration_h": 2})
    assert hotspots(alone) == hotspots(uniform) and parcels(alone) == parcels(uniform)


BAD_NOWCASTS = [
    ({"rain_mm_h": -1}, "rain rates must be between 0 and 300 mm/h"),
    ({"rain_mm_h": 1e300}, "rain rates must be between 0 and 300 mm/h"),
    ({"rain_mm_h": 20, "duration_h": 0}, "duration_h must be more than 0 and at most 24 hours"),
    ({"rain_mm_h": "heavy"}, 'rain_mm_h must be a number, not "heavy"'),
    ({"rain_mm_h": "inf"}, "must be a number"),
    ({"rain_mm_h": True}, "must be a number"),
    ({"rain_mm_h": 20, "duration_h": None}, "duration_h must be a number, not null"),
    ({"rain_mm_h": None}, "rain_mm_h must be a number, not null"),
    ({"rain_mm_h": 20, "duration_h": 100}, "at most 24 hours"),
    ({"rain_mm_h": 20, "per_gauge": {"HN-RG01": 20}}, "not both"),
    ({"per_gauge": {"HN-RG99": 20}}, "unknown rain gauge(s) HN-RG99; known gauges: HN-RG01, HN-RG02"),
    ({"per_gauge": [20]}, "per_gauge must be an object of rain rates by gauge code"),
    ({"per_gauge": {"HN-RG01": "x"}}, "HN-RG01 must be a number"),
    ({}, "there are no rain observations in the database: give rain_mm_h or rain per gauge"),
]


@pytest.mark.parametrize(("inputs", "says"), BAD_NOWCASTS)
def test_nowcast_errors_say_what_to_do(proc, inputs, says) -> None:
    doc = post(proc, NOWCAST, inputs, 400)
    assert says in doc["description"], doc
    assert doc["code"] == "InvalidParameterValue" and "Error executing" not in doc["description"]


# --- privacy ---------------------------------------------------------------------------------------

def _texts(resp) -> tuple[str, str]:
    """The raw body and the same JSON with non-ASCII unescaped (pygeoapi writes \\u escapes)."""
    raw = resp.get_data(as_text=True)
    return raw, json.dumps(json.loads(raw), ensure_ascii=False)


def test_outputs_never_carry_owners_for_anyone(proc, proc_db) -> None:
    officer = proc_db["officer"]
    # The owner is in this database and the token works: officers see them on the parcel itself.
    item = proc.get(f"/collections/parcels/items/{PARCEL}", headers=officer).get_json()
    assert item["properties"]["owner_names"] == OWNER_NAME
    requests = [(REPORT, {"parcel_id": PARCEL}), (REPORT, {"geometry": parcel_geojson_4326(proc_db["url"], PARCEL)}),
                (NOWCAST, {"rain_mm_h": 80, "duration_h": 2})]
    for url, inputs in requests:
        public = proc.post(url, json={"inputs": inputs})
        assert public.status_code == 200
        for body in _texts(public):
            assert not [s for s in SECRETS if s in body], (url, inputs)
        # Decision: the outputs are the same for officers (owners are read from the parcels collection).
        theirs = proc.post(url, json={"inputs": inputs}, headers=officer)
        assert theirs.status_code == 200 and not [s for s in SECRETS if s in _texts(theirs)[1]]
        mine, other = public.get_json(), theirs.get_json()
        if url == NOWCAST:
            assert PARCEL in parcels(mine)
            mine, other = mine["features"], other["features"]
        assert mine == other


def test_the_same_rain_is_answered_once(proc) -> None:
    first = post(proc, NOWCAST, {"rain_mm_h": 45, "duration_h": 1.5})
    again = post(proc, NOWCAST, {"rain_mm_h": 45, "duration_h": 1.5})
    assert again == first  # the kept answer, its generated_at included
    other = post(proc, NOWCAST, {"rain_mm_h": 46, "duration_h": 1.5})
    assert other["properties"]["rain"] == {"uniform_mm_h": 46.0}


def test_a_nowcast_waits_for_its_turn_then_says_busy(proc_db) -> None:
    from flood import nowcast as nowcast_module
    from landflood.app import create_app

    app = create_app(make_settings(proc_db["url"]).model_copy(update={"api_timeout_s": 0.3}))
    try:
        with nowcast_module._lock:  # another nowcast is computing
            resp = app.test_client().post(NOWCAST, json={"inputs": {"rain_mm_h": 33}})
        assert resp.status_code == 503 and resp.headers["Retry-After"]
        assert "another nowcast is being computed" in resp.get_json()["description"]
        assert app.test_client().post(NOWCAST, json={"inputs": {"rain_mm_h": 33}}).status_code == 200
    finally:
        app.extensions["landflood"].pools.close()


def test_nowcast_sees_an_edit_of_the_register(proc, proc_db) -> None:
    """Runs last: it turns the flooded parcel into a pond, which is permanent water, not waterlogging."""
    before = post(proc, NOWCAST, {"rain_mm_h": 80, "duration_h": 2})
    assert parcels(before)[PARCEL]["flooded_fraction"] > 0.5
    url = f"/collections/parcels/items/{PARCEL}"
    etag = proc.get(url, headers=proc_db["officer"]).headers["ETag"]
    patched = proc.patch(url, json={"properties": {"land_use": "MNC"}},
                         headers={**proc_db["officer"], "If-Match": etag})
    assert patched.status_code == 200, patched.get_data(as_text=True)
    after = post(proc, NOWCAST, {"rain_mm_h": 80, "duration_h": 2})
    assert PARCEL not in parcels(after) and parcels(after)
    # The cached land-use layers were refreshed: the pond's cells no longer count as flooded.
    assert after["properties"]["flooded_area_m2"] < before["properties"]["flooded_area_m2"] - 100


def test_water_parcels_are_rated_low_without_depth(proc_db) -> None:
    """The lake's own rise and the flooded street cells along its bank are not its exposure."""
    lake = stored_risk(proc_db["url"], "00082-9-1")
    assert set(lake) == {"design-50mm-2h", "design-100mm-2h"}
    assert all((r["max_depth_m"], r["flooded_fraction"], r["risk_class"]) == (0, 0, "low") for r in lake.values())


def test_processes_read_from_the_replica_when_there_is_one(proc_db, fresh_db) -> None:
    """With LANDFLOOD_DATABASE_READ_URL set, a process reads there: here the parcel exists only in
    the 'replica' (the primary is an empty database)."""
    from landflood.app import create_app

    app = create_app(make_settings(fresh_db).model_copy(update={"database_read_url": proc_db["url"]}))
    try:
        report = post(app.test_client(), REPORT, {"parcel_id": PARCEL})
        assert report["parcel_id"] == PARCEL and report["scenarios"]
    finally:
        app.extensions["landflood"].pools.close()
