"""Run a storm on a DEM and store everything: the scenario, its depth raster (a registered
Cloud-Optimized GeoTIFF), its flood zones and every current parcel's exposure and risk class.

The database work happens in one transaction after the computation: a rerun replaces the
scenario's depth raster, zones and risk rows all at once, and a failed run changes nothing.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio.features
import shapely
from rasterio.transform import array_bounds
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Engine

from flood import risk as riskmod
from flood import zones as zonesmod
from flood.grid import NODATA, Grid, read_dem, write_cog
from flood.model import INFILTRATION_MM_H, Result, Storm, infiltration_rate, simulate
from flood.scenarios import RainGrid
from landdb import flood as flooddb
from landdb import rasters as rasterdb
from landdb.land_use import WATER_CODES
from landflood.errors import DataError, NotFoundError

Progress = Callable[[str, int, int], None]


@dataclass
class RunReport:
    """What ``landflood flood run`` reports (``report`` has the keys of the JSON report)."""

    scenario: str
    dem: str
    depth_path: str
    result: Result
    zones: int = 0
    parcels: int = 0
    risk_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def report(self) -> dict:
        out = self.result.report()
        out["seconds"] = round(self.seconds, 3)
        return {**out, "scenario": self.scenario, "dem": self.dem, "depth_raster": self.depth_path,
                "mass_balance_error": self.result.balance_error(), "flood_zones": self.zones,
                "parcels": self.parcels, "risk_classes": self.risk_counts,
                "timings_s": {k: round(v, 3) for k, v in self.timings.items()}}


def resolve_dem(conn: Connection, dem: Path | None) -> Path:
    """``dem``, or the most recently registered DEM."""
    if dem is not None:
        return Path(dem)
    found = flooddb.latest_dem(conn)
    if found is None:
        raise NotFoundError("no DEM is registered; register one (landflood etl raster DEM.tif --kind dem) "
                            "or pass --dem PATH")
    return Path(found[1])


@dataclass(frozen=True)
class LandUseLayers:
    """What the model takes from the current parcels, on the DEM's grid."""

    infiltration: np.ndarray  # steady infiltration rate (mm/h) per cell
    water: np.ndarray  # permanent water (rivers, lakes, ponds) per cell
    keys: list[tuple[str, int, int, str]]  # (ward, sheet, parcel no, land-use code) of each parcel on the grid
    windows: np.ndarray  # (n, 4) int32: row0, row1, col0, col1 (ends exclusive) of the cells each parcel's box meets


def land_use_layers(conn: Connection, grid: Grid) -> LandUseLayers:
    """Infiltration and permanent water per cell, and each parcel's window of cells, from the
    current parcels."""
    move = zonesmod.mover(zonesmod.CITY_CRS, grid.crs)
    inverse = zonesmod.mover(grid.crs, zonesmod.CITY_CRS)
    footprint = inverse(shapely.box(*array_bounds(*grid.shape, grid.transform)))
    codes = sorted(set(INFILTRATION_MM_H) | set(WATER_CODES))
    code_ids = {c: k for k, c in enumerate(codes, start=1)}
    use = np.zeros(grid.shape, np.uint16)
    keys: list[tuple[str, int, int, str]] = []
    boxes: list[np.ndarray] = []
    for batch in flooddb.parcels_in(conn, footprint.bounds):
        shapes = []
        for ward, sheet, no, code, wkb in batch:
            if code not in code_ids:
                code_ids[code] = len(code_ids) + 1
                codes.append(code)
            shapes.append((move(shapely.from_wkb(wkb)), code_ids[code]))
            keys.append((ward, sheet, no, code))
        rasterio.features.rasterize(shapes, out=use, transform=grid.transform)
        boxes.append(shapely.bounds(np.array([g for g, _ in shapes], dtype=object)))
    rates = np.array([0.0] + [infiltration_rate(c) for c in codes], np.float32)
    water_ids = np.array([False] + [c in WATER_CODES for c in codes])
    windows = _windows(np.concatenate(boxes) if boxes else np.zeros((0, 4)), grid)
    return LandUseLayers(rates[use], water_ids[use], keys, windows)


def _windows(bounds: np.ndarray, grid: Grid) -> np.ndarray:
    """The cells (row0, row1, col0, col1; ends exclusive, clipped to the grid) that each box
    (minx, miny, maxx, maxy, in the grid's CRS) meets; the whole grid if the grid is rotated."""
    t, (h, w) = grid.transform, grid.shape
    if t.b or t.d:
        return np.tile(np.array([0, h, 0, w], np.int32), (len(bounds), 1))
    c = (bounds[:, [0, 2]] - t.c) / t.a
    r = (bounds[:, [3, 1]] - t.f) / t.e
    out = np.stack([np.floor(r.min(1)), np.ceil(r.max(1)), np.floor(c.min(1)), np.ceil(c.max(1))], axis=1)
    return np.clip(out, 0, [h, h, w, w]).astype(np.int32)


def _footprint(grid: Grid) -> shapely.Polygon:
    box = shapely.box(*array_bounds(*grid.shape, grid.transform))
    return zonesmod.to_city(grid.crs)(shapely.segmentize(box, max(box.bounds[2] - box.bounds[0], 1e-9) / 16))


def run(engine: Engine, storm: Storm, dem: Path | None, var_dir: Path, out_dir: Path | None = None,
        rain_grid: RainGrid | None = None, progress: Progress | None = None) -> RunReport:
    """Model ``storm`` and store its scenario, depth raster, zones and parcel risk (one transaction)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def step(name: str, t0: float) -> float:
        timings[name] = time.perf_counter() - t0
        return time.perf_counter()

    t = time.perf_counter()
    with engine.connect() as conn:
        dem_path = resolve_dem(conn, dem)
        grid = read_dem(dem_path, progress=_bind(progress, "reading the DEM"))
        t = step("read_dem", t)
        layers = land_use_layers(conn, grid)
        infil, water = layers.infiltration, layers.water
        t = step("land_use", t)
    rain = storm.rain_mm if rain_grid is None else rain_grid(grid)
    result = simulate(grid, rain, storm.duration_h, storm.drainage_mm_h, infil if storm.infiltration else None,
                      water=water, progress=progress)
    timings.update(result.timings)
    t = time.perf_counter()
    target = Path(out_dir or var_dir / "rasters" / "flood_depth") / f"{storm.name}.tif"
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.new.tif")
    # The published raster is waterlogging: permanent water (rivers, lakes) is 0 there, as in the
    # zones and the parcels' exposure; its rise is counted in the stored volume of the report.
    write_cog(np.where(water, np.float32(0), result.depth), grid.transform, grid.crs, tmp,
              progress=_bind(progress, "writing the depth raster"))
    t = step("write_cog", t)
    zone_rows = list(zonesmod.zones(result.depth, grid.transform, grid.crs, water,
                                    progress=_bind(progress, "tracing flood zones")))
    t = step("zones", t)
    try:
        with engine.connect() as conn, conn.begin():
            risk_rows = _risk_rows(conn, grid, result.depth, water)
            t = step("exposure", t)
            flooddb.save_scenario(conn, _scenario_values(storm))
            rasterdb.save(conn, _record(storm.name, target, grid))
            n_zones = flooddb.replace_zones(conn, storm.name, zone_rows)
            n_parcels = flooddb.replace_risk(conn, storm.name, risk_rows)
            counts = flooddb.risk_counts(conn, storm.name)
            os.replace(tmp, target)
        step("store", t)
    finally:
        tmp.unlink(missing_ok=True)
    report = RunReport(storm.name, str(dem_path), str(target.resolve()), result, n_zones, n_parcels, counts, timings)
    report.seconds = time.perf_counter() - started
    result.seconds = report.seconds
    return report


def _bind(progress: Progress | None, what: str) -> Callable[[int, int], None] | None:
    return None if progress is None else (lambda done, total: progress(what, done, total))


def _risk_rows(conn: Connection, grid: Grid, depth: np.ndarray, water: np.ndarray) -> list[tuple]:
    """Exposure and risk class of every current parcel on the DEM (rows for flooddb.replace_risk)."""
    move = zonesmod.mover(zonesmod.CITY_CRS, grid.crs)
    keys: list[tuple[str, int, int]] = []
    geoms: list[BaseGeometry] = []
    ponds: list[bool] = []
    for batch in flooddb.parcels_in(conn, _footprint(grid).bounds):
        for ward, sheet, no, code, wkb in batch:
            keys.append((ward, sheet, no))
            geoms.append(move(shapely.from_wkb(wkb)))
            ponds.append(code in WATER_CODES)
    if not keys:
        return []
    stats = riskmod.zonal(depth, grid.transform, grid.crs, geoms, water)
    # Lakes, rivers and ponds are not exposed to waterlogging: rated low, with no depth (the street
    # cells along their banks would otherwise count, and nearby events would raise them).
    pond = np.array(ponds)
    for name in ("max_depth_m", "mean_depth_m", "flooded_fraction"):
        stats[name] = np.where(pond, 0.0, stats[name])
    events_near = flooddb.events_near_parcels(conn, riskmod.NEARBY_M)
    events = np.array([events_near.get(k, 0) for k in keys])
    classes = riskmod.classify(stats["max_depth_m"], stats["flooded_fraction"], np.where(pond, 0, events))
    rows = []
    for i, key in enumerate(keys):
        if stats["covered"][i] <= 0:
            continue
        mx, mean = round(float(stats["max_depth_m"][i]), 4), round(float(stats["mean_depth_m"][i]), 4)
        rows.append((*key, mx, min(mean, mx), round(float(stats["flooded_fraction"][i]), 4), int(events[i]),
                     classes[i]))
    return rows


def _scenario_values(storm: Storm) -> dict:
    return {"name": storm.name, "kind": storm.kind, "rain_mm": storm.rain_mm, "duration_h": storm.duration_h,
            "drainage_mm_h": storm.drainage_mm_h, "infiltration": storm.infiltration,
            "storm_start": storm.storm_start, "description": storm.description}


def _record(name: str, path: Path, grid: Grid) -> rasterdb.RasterRecord:
    crs = grid.crs.to_epsg()
    res = grid.cell_sizes()[1] if grid.geographic else abs(grid.transform.a)
    return rasterdb.RasterRecord(f"depth-{name}", "flood_depth", name, str(path.resolve()),
                                 f"EPSG:{crs}" if crs else grid.crs.to_wkt(), grid.shape[1], grid.shape[0],
                                 float(res), NODATA, _footprint(grid))


def check_storm(rain_mm: float, duration_h: float, drainage_mm_h: float) -> None:
    if rain_mm <= 0 or duration_h <= 0:
        raise DataError("rain and duration must be positive: --rain-mm 100 --duration-h 2, for example")
    if drainage_mm_h < 0:
        raise DataError("--drainage-mm-h cannot be negative (0 means no drains)")


