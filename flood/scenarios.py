"""Named storms: design storms and the storms observed at the rain gauges.

- ``design-{R}mm-{D}h``: R mm spread evenly over D hours on the whole city (any R and D; the
  usual ones, listed by ``landflood flood storms``, are 50, 100, 150 and 200 mm in 2 hours —
  the drains' capacity, the range that floods the known hotspots, the 30 September 2025 storm
  and beyond).
- ``observed-YYYY-MM-DD``: a day in ``rain_observations``. Its storm is the wettest 2-hour
  window of that day (local time, by the mean of the gauges' hourly rain); each gauge's total
  over the window is interpolated over the city by inverse distance weighting (power 2), so
  the rain varies in space. ``rain_mm`` records the wettest gauge's total.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pyproj import CRS, Transformer
from sqlalchemy import Connection

from flood.grid import Grid
from flood.model import DEFAULT_DRAINAGE_MM_H, Storm
from landdb import flood as flooddb
from landdb.models import CITY_SRID
from landflood.errors import NotFoundError

DESIGN_MM = (50, 100, 150, 200)
OBSERVED_WINDOW_H = 2
_DESIGN = re.compile(r"^design-(\d+(?:\.\d+)?)mm-(\d+(?:\.\d+)?)h$")
_OBSERVED = re.compile(r"^observed-(\d{4}-\d{2}-\d{2})$")

RainGrid = Callable[[Grid], np.ndarray]


@dataclass(frozen=True)
class Named:
    """A resolved storm, and for an observed one the function giving its rain per cell (mm)."""

    storm: Storm
    rain_grid: RainGrid | None = None


def design(rain_mm: float, duration_h: float = 2.0, drainage_mm_h: float = DEFAULT_DRAINAGE_MM_H,
           infiltration: bool = True) -> Storm:
    name = f"design-{rain_mm:g}mm-{duration_h:g}h"
    return Storm(name, rain_mm, duration_h, drainage_mm_h, infiltration, "design", None,
                 f"Design storm: {rain_mm:g} mm in {duration_h:g} h, uniform over the city")


def resolve(conn: Connection, name: str, drainage_mm_h: float = DEFAULT_DRAINAGE_MM_H,
            infiltration: bool = True) -> Named:
    """The storm called ``name``; NotFoundError (listing the known ones) when there is none."""
    m = _DESIGN.match(name)
    if m and float(m[1]) > 0 and float(m[2]) > 0:
        return Named(design(float(m[1]), float(m[2]), drainage_mm_h, infiltration))
    m = _OBSERVED.match(name)
    if m:
        day = dt.date.fromisoformat(m[1])
        found = observed(conn, day, drainage_mm_h, infiltration)
        if found:
            return found
    known = ", ".join(available(conn)) or "none"
    raise NotFoundError(f"no storm called {name!r}. Known storms: {known}; any design-<R>mm-<D>h also works, "
                        "or pass --rain-mm and --duration-h")


def available(conn: Connection) -> list[str]:
    days = [f"observed-{d.isoformat()}" for d, total in flooddb.rain_days(conn) if total >= 10.0]
    return [f"design-{mm}mm-2h" for mm in DESIGN_MM] + days


def observed(conn: Connection, day: dt.date, drainage_mm_h: float = DEFAULT_DRAINAGE_MM_H,
             infiltration: bool = True) -> Named | None:
    """The wettest 2-hour window of ``day`` at the gauges, or None without observations."""
    hours = flooddb.hourly_city_rain(conn, day)
    if not hours:
        return None
    ends = [t for t, _ in hours]
    rate = dict(hours)
    best = max(ends, key=lambda end: sum(rate.get(end - dt.timedelta(hours=k), 0.0) for k in range(OBSERVED_WINDOW_H)))
    start = best - dt.timedelta(hours=OBSERVED_WINDOW_H)
    totals = flooddb.gauge_totals(conn, start, best)
    if not totals or max(t[3] for t in totals) <= 0:
        return None
    xs, ys, mm = (np.array([t[k] for t in totals]) for k in (1, 2, 3))
    storm = Storm(f"observed-{day.isoformat()}", float(mm.max()), float(OBSERVED_WINDOW_H), drainage_mm_h,
                  infiltration, "observed", start,
                  f"Observed storm: the wettest {OBSERVED_WINDOW_H} h of {day.isoformat()} at {len(totals)} gauges "
                  f"({mm.min():.0f}-{mm.max():.0f} mm), interpolated by inverse distance")
    return Named(storm, lambda grid: idw_grid(grid, xs, ys, mm))


def idw_grid(grid: Grid, xs: np.ndarray, ys: np.ndarray, values: np.ndarray, power: float = 2.0) -> np.ndarray:
    """Inverse-distance interpolation of point values (x, y in EPSG:5897) on the grid's cells.

    On a geographic grid the points are moved into it and distances use a local equirectangular
    scale (exact enough for weights over a city)."""
    h, w = grid.shape
    px, py = np.asarray(xs, float), np.asarray(ys, float)
    if not grid.crs.equals(CRS.from_epsg(CITY_SRID), ignore_axis_order=True):
        px, py = Transformer.from_crs(CRS.from_epsg(CITY_SRID), grid.crs, always_xy=True).transform(px, py)
    sx = sy = 1.0
    if grid.geographic:
        lat = grid.transform.f + grid.transform.e * h / 2
        sx, sy = 111_320.0 * np.cos(np.radians(lat)), 110_574.0
    out = np.empty((h, w), np.float32)
    cols = np.arange(w) + 0.5
    for r0 in range(0, h, 256):
        rows = np.arange(r0, min(h, r0 + 256)) + 0.5
        # affine applies itself to arrays element-wise, but its type hints know only float operands.
        x: np.ndarray
        y: np.ndarray
        x, y = grid.transform @ np.meshgrid(cols, rows)  # type: ignore[assignment]
        out[r0:r0 + len(rows)] = idw(x * sx, y * sy, px * sx, py * sy, values, power)
    return out


def idw(x: np.ndarray, y: np.ndarray, xs: np.ndarray, ys: np.ndarray, values: np.ndarray,
        power: float = 2.0) -> np.ndarray:
    """Inverse-distance weighted values at (x, y); exact at the points themselves."""
    num, den = np.zeros(np.shape(x)), np.zeros(np.shape(x))
    exact = np.full(np.shape(x), np.nan)
    for px, py, v in zip(xs, ys, values, strict=True):
        d2 = (x - px) ** 2 + (y - py) ** 2
        exact = np.where(d2 < 1e-6, v, exact)
        wgt = 1.0 / np.maximum(d2, 1e-6) ** (power / 2)
        num += wgt * v
        den += wgt
    return np.where(np.isnan(exact), num / den, exact)
