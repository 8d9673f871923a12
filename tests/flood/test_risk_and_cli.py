"""Exposure, risk classes, and the `landflood flood` commands end to end on a small city."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner
from pyproj import CRS
from rasterio.transform import from_origin
from sqlalchemy import create_engine, text

from flood.nowcast import nowcast
from flood.report import parcel_report
from flood.risk import classify, zonal
from landdb import rasters as rasterdb
from landflood.cli import main

X0, Y1, RES, N = 585000.0, 2326800.0, 5.0, 160  # 800 m × 800 m of central Hanoi, EPSG:5897
CX, CY = X0 + 400.0, Y1 - 400.0  # a hotspot in a 1 m deep bowl


def test_zonal_statistics_against_a_hand_computed_case():
    depth = np.array([[0, 0.2, 0.4, 0], [0, 1.0, 0, 0], [0, 0, 0, 0], [np.nan, 0, 0, 0]], np.float32)
    t = Affine(1, 0, 0, 0, -1, 4)
    # the box covers half of cells (0,0) and (0,2), all of (0,1), and the upper half of row 1:
    # weights .5 1 .5 / .25 .5 .25 → mean (0.2 + 0.4·.5 + 1.0·.5) / 3 = 0.3, wet (1 + .5 + .5) / 3
    out = zonal(depth, t, CRS.from_epsg(5897), [shapely.box(0.5, 2.5, 2.5, 4), shapely.box(0, 0, 1, 1)])
    assert out["max_depth_m"][0] == pytest.approx(1.0)
    assert out["mean_depth_m"][0] == pytest.approx(0.3)
    assert out["flooded_fraction"][0] == pytest.approx(2 / 3)
    assert out["covered"][1] == 0  # only nodata under it
    water = np.zeros(depth.shape, bool)
    water[1, 1] = True  # that cell is a lake: its water is not flooding
    assert zonal(depth, t, CRS.from_epsg(5897), [shapely.box(0.5, 2.5, 2.5, 4)], water)["max_depth_m"][0] == \
        pytest.approx(0.4)


def test_risk_classes_follow_the_documented_rule():
    got = classify(max_depth=[0.6, 0.35, 0.2, 0.6, 0.05, 0.0, 0.2, 0.45],
                   fraction=[0.5, 0.5, 0.5, 0.01, 0.5, 0.0, 0.5, 0.5],
                   events=[0, 0, 0, 0, 1, 3, 2, 1])
    assert list(got) == ["very_high", "high", "medium", "low", "medium", "medium", "high", "very_high"]


def dem() -> np.ndarray:
    x = X0 + RES * (np.arange(N) + 0.5)
    y = Y1 - RES * (np.arange(N) + 0.5)
    xx, yy = np.meshgrid(x, y)
    z = 8.0 + 0.002 * (xx - X0) - 1.0 * np.exp(-((xx - CX) ** 2 + (yy - CY) ** 2) / 60.0**2)
    z[:4, :4] = np.nan  # a corner without data
    return z.astype(np.float32)


@pytest.fixture
def city(tmp_path: Path, fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("LANDFLOOD_VAR_DIR", str(tmp_path / "var"))
    path = tmp_path / "dem.tif"
    z = dem()
    with rasterio.open(path, "w", driver="GTiff", width=N, height=N, count=1, dtype="float32", crs="EPSG:5897",
                       transform=from_origin(X0, Y1, RES, RES), nodata=-9999) as dst:
        dst.write(np.nan_to_num(z, nan=-9999), 1)
    g = "ST_GeomFromText(:wkt, 5897)"
    parcels = {1: (shapely.box(CX - 10, CY - 10, CX + 10, CY + 10), "ODT"),  # in the bowl
               2: (shapely.box(X0 + 40, Y1 - 60, X0 + 60, Y1 - 40), "ODT"),  # high and far away
               3: (shapely.box(CX + 70, CY - 10, CX + 90, CY + 10), "CLN")}
    engine = create_engine(fresh_db)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO map_sheets (ward_code, sheet_no) VALUES ('00070', 12)"))
        for no, (geom, use) in parcels.items():
            conn.execute(text("INSERT INTO parcels (ward_code, map_sheet, parcel_no) VALUES ('00070', 12, :n)"),
                         {"n": no})
            conn.execute(text(f"INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, geom) "
                              f"VALUES ('00070', 12, :n, :u, ST_Multi({g}))"), {"n": no, "u": use, "wkt": geom.wkt})
        conn.execute(text(f"INSERT INTO waterlogging_points (code, name, street, geom) VALUES "
                          f"('UN001', 'Ngã tư Văn Miếu', 'Văn Miếu', {g})"), {"wkt": f"POINT({CX} {CY})"})
        for day in ("2016-05-24", "2024-09-08", "2025-09-30"):
            conn.execute(text("INSERT INTO flood_events (point_id, started_at, max_depth_m, rain_mm) "
                              "SELECT id, :d, 0.4, 150 FROM waterlogging_points"), {"d": f"{day} 07:00+07"})
        conn.execute(text(f"INSERT INTO rain_gauges (code, name, geom) VALUES ('G1', 'Láng', {g})"),
                     {"wkt": f"POINT({X0 + 100} {Y1 - 100})"})
        for hour, mm in ((6, 5.0), (7, 70.0), (8, 60.0), (9, 2.0)):
            conn.execute(text("INSERT INTO rain_observations (gauge_id, observed_at, interval_min, rain_mm) "
                              "SELECT id, :t, 60, :mm FROM rain_gauges"),
                         {"t": f"2025-09-30 {hour:02d}:00+07", "mm": mm})
    yield {"url": fresh_db, "dem": path, "engine": engine, "tmp": tmp_path}
    engine.dispose()


def invoke(*args: str) -> dict:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return {"output": result.output}


def test_run_validate_report_and_nowcast_end_to_end(city: dict):
    tmp, engine = city["tmp"], city["engine"]
    out = invoke("flood", "run", "--dem", str(city["dem"]), "--rain-mm", "100", "--duration-h", "2",
                 "--scenario", "test-100mm", "--report", str(tmp / "run.json"))
    rep = json.loads((tmp / "run.json").read_text())
    for key in ("max_depth_m", "flooded_area_m2", "rain_volume_m3", "stored_volume_m3", "drained_volume_m3",
                "infiltrated_volume_m3", "outflow_volume_m3", "seconds"):
        assert key in rep
    assert rep["rain_volume_m3"] == pytest.approx(0.1 * (N * N - 16) * 25)
    assert rep["drained_volume_m3"] == pytest.approx(0.05 * (N * N - 16) * 25)
    assert rep["infiltrated_volume_m3"] > 0  # the parcels soak some up
    assert abs(rep["rain_volume_m3"] - rep["stored_volume_m3"] - rep["drained_volume_m3"] - rep["infiltrated_volume_m3"]
               - rep["outflow_volume_m3"]) < 1e-3 * rep["rain_volume_m3"]
    assert 0.5 < rep["max_depth_m"] < 1.0
    assert "test-100mm" in out["output"]
    with rasterio.open(rep["depth_raster"]) as src:
        # A Cloud-Optimized GeoTIFF (too small at 160 × 160 cells for overviews: GDAL adds none).
        assert src.crs.to_epsg() == 5897 and src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert float(src.read(1, masked=True).max()) == pytest.approx(rep["max_depth_m"], rel=1e-5)
    with engine.connect() as conn:
        risk = dict(conn.execute(text("SELECT parcel_no, risk_class FROM flood_risk "
                                      "WHERE scenario = 'test-100mm'")).all())
        zones = conn.execute(text("SELECT count(*), bool_and(ST_IsValid(geom)) FROM flood_zones "
                                  "WHERE scenario = 'test-100mm'")).one()
        assert rasterdb.get(conn, "depth-test-100mm").kind == "flood_depth"
    assert risk == {1: "very_high", 2: "low", 3: "medium"}  # 3: dry, but 3 events within 200 m
    assert zones[0] >= 2 and zones[1]

    invoke("flood", "run", "--dem", str(city["dem"]), "--rain-mm", "100", "--duration-h", "2",
           "--scenario", "test-100mm")  # a rerun replaces, never duplicates
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM flood_risk WHERE scenario = 'test-100mm'")).scalar() == 3
        assert conn.execute(text("SELECT count(*) FROM flood_zones WHERE scenario = 'test-100mm'")).scalar() == zones[0]

    invoke("flood", "validate", "--scenario", "test-100mm", "--report", str(tmp / "validate.json"))
    val = json.loads((tmp / "validate.json").read_text())
    assert val["hit_rate"] == 1.0 and val["hotspots_observed"] == 1
    assert val["false_alarm_area_m2"] < val["flooded_area_m2"]

    with engine.connect() as conn:
        rep = parcel_report(conn, parcel_id="00070-12-1")
        assert rep["risk_class"] == "very_high" and len(rep["events_nearby"]) == 3
        vi = rep["summary"]["vi"]
        assert vi == unicodedata.normalize("NFC", vi) and "ngập sâu tới" in vi and "rất cao" in vi
        assert "very high" in rep["summary"]["en"]
        spot = shapely.Point(105.8, 21.03)  # somewhere else in lon/lat: off this DEM
        assert parcel_report(conn, geometry=spot)["scenarios"] == []

        rasterdb.save(conn, rasterdb.RasterRecord("dem", "dem", None, str(city["dem"]), "EPSG:5897", N, N, RES,
                                                  -9999.0, shapely.box(X0, Y1 - N * RES, X0 + N * RES, Y1)))
        dry = nowcast(conn, rain_mm_h=20.0)  # under what the drains take: nothing floods
        assert dry["features"] == []
        wet = nowcast(conn, per_gauge={"G1": 90.0}, duration_h=1.0)
        kinds = {f["properties"]["kind"]: f for f in wet["features"]}
        assert kinds["hotspot"]["properties"]["id"] == "UN001"
        assert kinds["hotspot"]["properties"]["depth_class"] in ("high", "very_high")
        lon, lat = kinds["hotspot"]["geometry"]["coordinates"]
        assert 105.5 < lon < 106.1 and 20.8 < lat < 21.3
        assert kinds["parcel"]["properties"]["id"] == "00070-12-1"
        latest = nowcast(conn)  # the newest observations: 2 mm/h, nothing floods
        assert latest["properties"]["observed_at"].startswith("2025-09-30") and latest["features"] == []


def test_observed_storm_runs_by_name_and_unknown_names_are_explained(city: dict):
    invoke("flood", "run", "--dem", str(city["dem"]), "--scenario", "observed-2025-09-30", "--infiltration", "off",
           "--report", str(city["tmp"] / "obs.json"))
    rep = json.loads((city["tmp"] / "obs.json").read_text())
    assert rep["rain_volume_m3"] == pytest.approx(0.130 * (N * N - 16) * 25, rel=1e-4)  # 70 + 60 mm at 07-09h
    assert rep["infiltrated_volume_m3"] == 0
    result = CliRunner().invoke(main, ["flood", "run", "--dem", str(city["dem"]), "--scenario", "storm-of-the-century"])
    assert result.exit_code == 1
    assert "observed-2025-09-30" in result.output and "design-100mm-2h" in result.output


def test_condition_writes_filled_dem_directions_and_depressions(tmp_path: Path):
    path = tmp_path / "dem.tif"
    z = dem()
    with rasterio.open(path, "w", driver="GTiff", width=N, height=N, count=1, dtype="float32", crs="EPSG:5897",
                       transform=from_origin(X0, Y1, RES, RES), nodata=-9999) as dst:
        dst.write(np.nan_to_num(z, nan=-9999), 1)
    out = invoke("flood", "condition", "--dem", str(path), "--out", str(tmp_path / "cond"))
    assert "1 depressions" in out["output"]
    import geopandas as gpd

    (bowl,) = gpd.read_file(tmp_path / "cond" / "depressions.gpkg").itertuples()
    assert bowl.geometry.contains(shapely.Point(CX, CY))
    with rasterio.open(tmp_path / "cond" / "filled.tif") as src:
        filled = src.read(1, masked=True)
    assert float(filled.min()) >= float(np.nanmin(z)) and float(filled[80, 80]) == pytest.approx(bowl.spill_elevation_m)
    assert bowl.volume_m3 == pytest.approx(float(((filled - np.nan_to_num(z)) * 25.0).sum()), rel=1e-4)
