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

Only the parcels whose box of cells holds a cell with at least 0.1 m of water (one look-up per
parcel in a summed-area table of those cells) are read and measured: the others cannot reach
0.1 m.

Kept for the process (bounded): the DEM and its depression hierarchy until the DEM file
changes; the land-use layers until the parcels change too (the audit log's newest parcel entry),
so an officer's edit is seen at once; and the last ``RESULTS_KEPT`` answers, since the same rain
on the same city gives the same answer. One nowcast computes at a time in a process (its arrays
are large): another caller waits up to ``wait_s`` for its turn (then usually finds the answer
made for the same rain), else gets a :class:`ServiceBusyError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS
from rasterio.transform import rowcol
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from flood import fsm
from flood import risk as riskmod
from flood import zones as zonesmod
from flood.grid import Grid, read_dem
from flood.inputs import check_inputs
from flood.model import DEFAULT_DRAINAGE_MM_H, simulate
from flood.run import LandUseLayers, land_use_layers, resolve_dem
from flood.scenarios import idw_grid
from landdb import flood as flooddb
from landdb import parcels as parcelsdb
from landdb.land_use import WATER_CODES
from landflood.errors import DataError, ServiceBusyError

FLOODS_AT_M = 0.1
HOTSPOT_RADIUS_M = 30.0
WGS84 = CRS.from_epsg(4326)
RESULTS_KEPT = 16

_lock = threading.Lock()  # one computation at a time; guards the caches below
_terrain: tuple[tuple, tuple[Grid, fsm.Hierarchy]] | None = None
_layers: tuple[tuple, LandUseLayers] | None = None
_results: OrderedDict[tuple, dict] = OrderedDict()


def nowcast(conn: Connection, rain_mm_h: float | None = None, per_gauge: dict[str, float] | None = None,
            duration_h: float = 1.0, drainage_mm_h: float = DEFAULT_DRAINAGE_MM_H, dem: Path | None = None,
            wait_s: float | None = None) -> dict:
    """Hotspots and parcels expected to flood, as a GeoJSON FeatureCollection in EPSG:4326.

    ``wait_s``: how long to wait while another nowcast computes (None: as long as it takes).
    """
    check_inputs(rain_mm_h, per_gauge, duration_h)
    if rain_mm_h is not None and per_gauge:
        raise DataError("give either one rain rate for the whole city or rain per gauge, not both")
    path = resolve_dem(conn, dem)
    if not _lock.acquire(timeout=-1 if wait_s is None else wait_s):
        raise ServiceBusyError("another nowcast is being computed; try again in a few seconds")
    try:
        return _nowcast(conn, path, rain_mm_h, per_gauge, duration_h, drainage_mm_h)
    finally:
        _lock.release()


def _nowcast(conn: Connection, path: Path, rain_mm_h: float | None, per_gauge: dict[str, float] | None,
             duration_h: float, drainage_mm_h: float) -> dict:
    started = time.perf_counter()
    grid, hier, layers = _prepared(conn, path)
    spots = flooddb.hotspots(conn)
    rain, source, at = _rain(conn, grid, rain_mm_h, per_gauge, duration_h)
    key = (str(path.resolve()), os.path.getmtime(path), parcelsdb.last_change(conn), _fingerprint(spots),
           _fingerprint(source), at, round(duration_h, 4), round(drainage_mm_h, 4))
    if key in _results:
        _results.move_to_end(key)
        return _results[key]
    result = simulate(grid, rain, duration_h, drainage_mm_h, layers.infiltration, water=layers.water,
                      hierarchy=hier)
    to_wgs = zonesmod.mover(grid.crs, WGS84)
    features = (_hotspots(spots, grid, result.depth, layers.water, to_wgs)
                + _parcels(conn, grid, result.depth, layers, to_wgs))
    answer = {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "rain": source, "observed_at": at.isoformat() if at else None, "duration_h": duration_h,
            "drainage_mm_h": drainage_mm_h, "max_depth_m": round(result.max_depth_m, 3),
            "flooded_area_m2": round(result.flooded_area_m2, 1),
            "hotspots_expected": sum(f["properties"]["kind"] == "hotspot" for f in features),
            "parcels_expected": sum(f["properties"]["kind"] == "parcel" for f in features),
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 3),
        },
    }
    _results[key] = answer
    while len(_results) > RESULTS_KEPT:
        _results.popitem(last=False)
    return answer


def _prepared(conn: Connection, path: Path) -> tuple[Grid, fsm.Hierarchy, LandUseLayers]:
    """The DEM, its hierarchy and the land-use layers, from the caches when they are current."""
    global _terrain, _layers
    dem_key = (str(path.resolve()), os.path.getmtime(path))
    if _terrain is None or _terrain[0] != dem_key:
        _terrain = _layers = None  # free the old grid before reading the new one
        grid = read_dem(path)
        _terrain = (dem_key, (grid, fsm.build(grid.z, grid.row_areas())))
    grid, hier = _terrain[1]
    # Every change to the parcels leaves an audit row: its time says whether the layers are stale.
    layers_key = (*dem_key, parcelsdb.last_change(conn))
    if _layers is None or _layers[0] != layers_key:
        _layers = None
        _layers = (layers_key, land_use_layers(conn, grid))
    return grid, hier, _layers[1]


def _fingerprint(value: Any) -> str:
    return hashlib.sha1(repr(value).encode()).hexdigest()


def _rain(conn: Connection, grid: Grid, rain_mm_h: float | None, per_gauge: dict[str, float] | None,
          duration_h: float) -> tuple[np.ndarray | float, dict, dt.datetime | None]:
    """(rain mm per cell or uniform, a description, observation time)."""
    if rain_mm_h is not None:
        return rain_mm_h * duration_h, {"uniform_mm_h": rain_mm_h}, None
    at = None
    if per_gauge:
        known = flooddb.gauges(conn)
        unknown = sorted(set(per_gauge) - set(known))
        if unknown:
            raise DataError(f"unknown rain gauge(s) {', '.join(unknown)}; known gauges: {', '.join(known) or 'none'}")
        pts = [(code, *known[code], float(v)) for code, v in sorted(per_gauge.items())]
    else:
        at, pts = flooddb.latest_rain(conn)
        if not pts:
            raise DataError("there are no rain observations in the database: give rain_mm_h or rain per gauge, "
                            "or load observations (landflood etl rainfall FILE.csv)")
    xs, ys, rates = (np.array([p[k] for p in pts]) for k in (1, 2, 3))
    return idw_grid(grid, xs, ys, rates * duration_h), {"per_gauge_mm_h": {p[0]: p[3] for p in pts}}, at


def _hotspots(spots: list[flooddb.Hotspot], grid: Grid, depth: np.ndarray, water: np.ndarray,
              to_wgs: Any) -> list[dict]:
    out = []
    move = zonesmod.mover(zonesmod.CITY_CRS, grid.crs)
    dx = grid.cell_sizes()[1]
    reach = max(1, int(round(HOTSPOT_RADIUS_M / dx)))
    dry = np.where(water, 0.0, depth)  # water on lakes and rivers is not waterlogging
    for h in spots:
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


def _parcels(conn: Connection, grid: Grid, depth: np.ndarray, layers: LandUseLayers, to_wgs: Any) -> list[dict]:
    deep = (np.nan_to_num(depth) >= FLOODS_AT_M) & ~layers.water
    if not deep.any() or not layers.keys:
        return []
    sat = _summed_area(deep)
    r0, r1, c0, c1 = layers.windows.T
    wet_cells = sat[r1, c1] - sat[r0, c1] - sat[r1, c0] + sat[r0, c0]
    hit = [i for i in np.flatnonzero(wet_cells > 0) if layers.keys[i][3] not in WATER_CODES]
    rows = flooddb.current_parcels(conn, [layers.keys[i][:3] for i in hit])
    if not rows:
        return []
    move = zonesmod.mover(zonesmod.CITY_CRS, grid.crs)
    geoms = [move(shapely.from_wkb(r[4])) for r in rows]
    # Measure on the part of the grid the candidates cover (the statistics are the same).
    top, left = int(r0[hit].min()), int(c0[hit].min())
    bottom, right = int(r1[hit].max()), int(c1[hit].max())
    part = (slice(top, bottom), slice(left, right))
    transform = grid.transform @ Affine.translation(left, top)
    stats = riskmod.zonal(depth[part], transform, grid.crs, geoms, layers.water[part])
    out = []
    for i, (ward, sheet, no, code, _) in enumerate(rows):
        d, frac = float(stats["max_depth_m"][i]), float(stats["flooded_fraction"][i])
        if d < FLOODS_AT_M or frac < riskmod.MIN_FRACTION or code in WATER_CODES:  # a pond is not waterlogged
            continue
        out.append(_feature(to_wgs(geoms[i]), {
            "kind": "parcel", "id": f"{ward}-{sheet}-{no}", "land_use_code": code,
            "expected_depth_m": round(d, 3), "mean_depth_m": round(float(stats["mean_depth_m"][i]), 3),
            "flooded_fraction": round(frac, 3), "depth_class": zonesmod.depth_class(d)}))
    out.sort(key=lambda f: f["properties"]["id"])
    return out


def _summed_area(mask: np.ndarray) -> np.ndarray:
    """``sat[r, c]`` = number of True cells above and left of (r, c): any box's count in 4 look-ups."""
    h, w = mask.shape
    sat = np.zeros((h + 1, w + 1), np.int32 if h * w < 2**31 else np.int64)
    np.cumsum(mask, axis=0, dtype=sat.dtype, out=sat[1:, 1:])
    np.cumsum(sat[1:, 1:], axis=1, out=sat[1:, 1:])
    return sat


def _feature(geom: BaseGeometry, props: dict) -> dict:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-7)),
            "properties": props}
