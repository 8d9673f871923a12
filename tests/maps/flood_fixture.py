"""A small flood scenario written straight into the tables (the flood model is not needed):
a scenario, one zone around a parcel, risk rows for the parcels in it, a water-depth raster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from sqlalchemy import create_engine, text

SCENARIO = "design-100mm"


def parcel_point(url: str, parcel_id: str | None = None) -> dict:
    """A point inside a parcel (the largest urban residential one unless named), in CRS84."""
    where = "v.parcel_id = :id" if parcel_id else "v.land_use_code = 'ODT'"
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text(f"""
            SELECT v.parcel_id, ST_X(p), ST_Y(p), ST_X(c), ST_Y(c) FROM parcel_versions v,
                LATERAL (SELECT ST_PointOnSurface(v.geom) AS c) s,
                LATERAL (SELECT ST_Transform(s.c, 4326) AS p) t
            WHERE v.valid_to IS NULL AND {where} ORDER BY ST_Area(v.geom) DESC LIMIT 1"""),
            {"id": parcel_id}).one()
    engine.dispose()
    return {"parcel_id": row[0], "lon": row[1], "lat": row[2], "x": row[3], "y": row[4]}


def owner_name(url: str, parcel_id: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        name = conn.execute(text("""
            SELECT p.full_name FROM rights r JOIN parties p ON p.id = r.party_id
            JOIN parcel_versions c ON c.parcel_key = r.parcel_key AND c.valid_to IS NULL
            WHERE c.parcel_id = :id AND r.valid_to IS NULL
            ORDER BY p.full_name LIMIT 1"""), {"id": parcel_id}).scalar_one()
    engine.dispose()
    return name


def add_scenario(url: str, around: dict, raster_dir: Path) -> None:
    """Scenario SCENARIO: a 'high' zone of 80 m around ``around`` and risk rows for its parcels."""
    tif = raster_dir / f"{SCENARIO}.tif"
    x0, y0, res, n = around["x"] - 100, around["y"] + 100, 5.0, 40
    depth = np.full((n, n), 0.45, dtype="float32")
    depth[:5, :] = -9999
    with rasterio.open(tif, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32", crs="EPSG:5897",
                       transform=from_origin(x0, y0, res, res), nodata=-9999) as dst:
        dst.write(depth, 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("""INSERT INTO flood_scenarios (name, kind, rain_mm, duration_h, drainage_mm_h, description)
                             VALUES (:s, 'design', 100, 3, 20, 'test storm')"""), {"s": SCENARIO})
        conn.execute(text("""
            INSERT INTO flood_zones (scenario, depth_min_m, depth_max_m, risk_class, geom)
            VALUES (:s, 0.3, 0.5, 'high', ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(:x, :y), 5897), 80)))"""),
            {"s": SCENARIO, "x": around["x"], "y": around["y"]})
        conn.execute(text("""
            INSERT INTO flood_risk (scenario, ward_code, map_sheet, parcel_no, max_depth_m, mean_depth_m,
                                    flooded_fraction, events_nearby, risk_class)
            SELECT :s, v.ward_code, v.map_sheet, v.parcel_no, 0.45, 0.3, 0.8, 1, 'high'
            FROM parcel_versions v, flood_zones z
            WHERE z.scenario = :s AND v.valid_to IS NULL AND ST_Intersects(v.geom, z.geom)"""), {"s": SCENARIO})
        conn.execute(text("""
            INSERT INTO rasters (name, kind, scenario, path, crs, width, height, res_m, nodata, footprint)
            VALUES (:name, 'flood_depth', :s, :path, 'EPSG:5897', :n, :n, :res, -9999,
                    ST_MakeEnvelope(:x0, :y1, :x1, :y0, 5897))"""),
            {"name": f"depth-{SCENARIO}", "s": SCENARIO, "path": str(tif), "n": n, "res": res,
             "x0": x0, "y0": y0, "x1": x0 + n * res, "y1": y0 - n * res})
    engine.dispose()
