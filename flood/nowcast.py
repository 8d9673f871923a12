"""Nowcast: with the rain falling now, which hotspots and parcels will be under water.

The rain rate at each gauge (given, or each gauge's newest observation in the database, over
the gauges that reported within 3 hours of the newest one) is interpolated over the registered
DEM by inverse distance weighting (power 2), or taken uniform when one rate is given; it is
assumed to go on for ``duration_h`` hours. The waterlogging model (drains 25 mm/h,
infiltration by land use) then gives the depths. A hotspot's expected depth is the deepest
water within 30 m of it, not counting permanent water (lakes, rivers: their rise is not
waterlogging); hotspots off the DEM are left out. A parcel's is its maximum depth (exact
zonal statistics). Listed are the hotspots and parcels expected to flood, that is with at
least 0.1 m of water (the parcel on at least 5% of its area); each with its depth class
(``flood.zones``).

The DEM's depression hierarchy is cached for the process until the DEM file changes, and the
land-use layers until the parcels change too (the audit log's newest parcel entry), so repeated
nowcasts only route water and still see an officer's edit at once.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import time
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS
from rasterio.transform import rowcol
from sqlalchemy import Connection

from flood import fsm
from flood import risk as riskmod
from flood import zones as zonesmod
from flood.grid import Grid, read_dem
from flood.model import DEFAULT_DRAINAGE_MM_H, simulate
from flood.run import land_use_layers, resolve_dem
from flood.scenarios import idw_grid
from landdb import flood as flooddb
from landdb import parcels as parcelsdb
from landdb.land_use import WATER_CODES
from landflood.errors import DataError

FLOODS_AT_M = 0.1
HOTSPOT_RADIUS_M = 30.0
WGS84 = CRS.from_epsg(4326)


@functools.lru_cache(maxsize=1)
def _terrain(path: str, mtime: float) -> tuple[Grid, fsm.Hierarchy]:
    """The DEM and its depression hierarchy: the slow part, kept until the DEM file changes."""
    grid = read_dem(Path(path))
    return grid, fsm.build(grid.z, grid.row_areas())


@functools.lru_cache(maxsize=1)
def _land_use(path: str, mtime: float, url: str, register_stamp: str) -> tuple[np.ndarray, np.ndarray]:
    """Infiltration and permanent water per cell, kept until the DEM or the parcels change."""
    from landdb.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return land_use_layers(conn, _terrain(path, mtime)[0])
    finally:
        engine.dispose()


def _prepared(conn: Connection, path: Path) -> tuple[Grid, fsm.Hierarchy, np.ndarray, np.ndarray]:
    key = (str(path.resolve()), os.path.getmtime(path))
    grid, hier = _terrain(*key)
    # Every change to the parcels leaves an audit row: its time says whether the layers are stale.
    stamp = parcelsdb.last_change(conn) or ""
    infil, water = _land_use(*key, conn.engine.url.render_as_string(hide_password=False), stamp)
    return grid, hier, infil, water


def nowcast(conn: Connection, rain_mm_h: float | None = None, per_gauge: dict[str, float] | None = None,
            duration_h: float = 1.0, drainage_mm_h: float = DEFAULT_DRAINAGE_MM_H, dem: Path | None = None) -> dict:
    """Hotspots and parcels expected to flood, as a GeoJSON FeatureCollection in EPSG:4326."""
    started = time.perf_counter()
    if duration_h <= 0 or duration_h > 72:
        raise DataError("duration_h must be between 0 and 72 hours")
    grid, hier, infil, water = _prepared(conn, resolve_dem(conn, dem))
    rain, source, at = _rain(conn, grid, rain_mm_h, per_gauge, duration_h)
    result = simulate(grid, rain, duration_h, drainage_mm_h, infil, water=water, hierarchy=hier)
    to_wgs = zonesmod.mover(grid.crs, WGS84)
    features = _hotspots(conn, grid, result.depth, water, to_wgs) + _parcels(conn, grid, result.depth, water, to_wgs)
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "rain": source, "observed_at": at.isoformat() if at else None, "duration_h": duration_h,
            "drainage_mm_h": drainage_mm_h, "max_depth_m": round(result.max_depth_m, 3),
            "flooded_area_m2": round(result.flooded_area_m2, 1),
            "hotspots_expected": sum(f["properties"]["kind"] == "hotspot" for f in features),
            "parcels_expected": sum(f["properties"]["kind"] == "parcel" for f in features),
            "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 3),
        },
    }


def _rain(conn: Connection, grid: Grid, rain_mm_h: float | None, per_gauge: dict[str, float] | None,
          duration_h: float) -> tuple[np.ndarray | float, dict, dt.datetime | None]:
    """(rain mm per cell or uniform, a description, observation time)."""
    if rain_mm_h is not None and per_gauge:
        raise DataError("give either one rain rate for the whole city or rain per gauge, not both")
    if rain_mm_h is not None:
        if rain_mm_h < 0:
            raise DataError("rain_mm_h cannot be negative")
        return rain_mm_h * duration_h, {"uniform_mm_h": rain_mm_h}, None
    at = None
    if per_gauge:
        known = flooddb.gauges(conn)
        unknown = sorted(set(per_gauge) - set(known))
        if unknown:
            raise DataError(f"unknown rain gauge(s) {', '.join(unknown)}; known gauges: {', '.join(known) or 'none'}")
        if any(v < 0 for v in per_gauge.values()):
            raise DataError("rain rates cannot be negative")
        pts = [(code, *known[code], float(v)) for code, v in sorted(per_gauge.items())]
    else:
        at, pts = flooddb.latest_rain(conn)
        if not pts:
            raise DataError("there are no rain observations in the database: give rain_mm_h or rain per gauge, "
                            "or load observations (landflood etl rainfall FILE.csv)")
    xs, ys, rates = (np.array([p[k] for p in pts]) for k in (1, 2, 3))
    return idw_grid(grid, xs, ys, rates * duration_h), {"per_gauge_mm_h": {p[0]: p[3] for p in pts}}, at


def _hotspots(conn: Connection, grid: Grid, depth: np.ndarray, water: np.ndarray, to_wgs) -> list[dict]:
    out = []
    move = zonesmod.mover(zonesmod.CITY_CRS, grid.crs)
    dx = grid.cell_sizes()[1]
    reach = max(1, int(round(HOTSPOT_RADIUS_M / dx)))
    dry = np.where(water, 0.0, depth)  # water on lakes and rivers is not waterlogging
    for h in flooddb.hotspots(conn):
        pt = move(shapely.Point(h.x, h.y))
        r, c = rowcol(grid.transform, pt.x, pt.y)
        # Clip both ends: a negative stop would wrap around and read the far side of the DEM.
        win = dry[max(0, r - reach):max(0, r + reach + 1), max(0, c - reach):max(0, c + reach + 1)]
        if win.size == 0 or np.isnan(win).all():
            continue
        d = float(np.nanmax(win))
        if d < FLOODS_AT_M:
            continue
        out.append(_feature(to_wgs(pt), {"kind": "hotspot", "id": h.code, "name": h.name, "street": h.street,
                                         "expected_depth_m": round(d, 3), "depth_class": zonesmod.depth_class(d),
                                         "observed_events": h.events}))
    return out


def _parcels(conn: Connection, grid: Grid, depth: np.ndarray, water: np.ndarray, to_wgs) -> list[dict]:
    deep = np.where(np.nan_to_num(depth) >= FLOODS_AT_M, depth, 0.0)
    polys = [shapely.from_wkb(wkb) for _, _, _, wkb in zonesmod.zones(deep, grid.transform, grid.crs, water)]
    if not polys:
        return []
    area = shapely.union_all(polys)
    move = zonesmod.mover(zonesmod.CITY_CRS, grid.crs)
    rows = flooddb.parcels_touching(conn, shapely.to_wkb(area))
    if not rows:
        return []
    geoms = [move(shapely.from_wkb(r[4])) for r in rows]
    stats = riskmod.zonal(depth, grid.transform, grid.crs, geoms, water)
    out = []
    for i, (ward, sheet, no, code, _) in enumerate(rows):
        d, frac = float(stats["max_depth_m"][i]), float(stats["flooded_fraction"][i])
        if d < FLOODS_AT_M or frac < riskmod.MIN_FRACTION or code in WATER_CODES:  # a pond is not waterlogged
            continue
        out.append(_feature(to_wgs(geoms[i]), {
            "kind": "parcel", "id": f"{ward}-{sheet}-{no}", "land_use_code": code,
            "expected_depth_m": round(d, 3), "mean_depth_m": round(float(stats["mean_depth_m"][i]), 3),
            "flooded_fraction": round(frac, 3), "depth_class": zonesmod.depth_class(d)}))
    return out


def _feature(geom: shapely.Geometry, props: dict) -> dict:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-7)),
            "properties": props}
