"""Parcel exposure and risk classes.

Exposure of a parcel to a scenario, by exact zonal statistics (exactextract: every cell is
weighted by the fraction of it the parcel covers): the maximum and the mean water depth over
the parcel (dry ground counts as 0) and the flooded fraction, the share of the parcel's area
with at least 1 cm of water.

Risk class, the documented rule:

1. From the model: **low** when less than 5% of the parcel is flooded or the maximum depth is
   under 0.1 m; otherwise by the maximum depth: **medium** under 0.3 m, **high** under 0.5 m,
   **very_high** from 0.5 m (the depth classes of ``flood.zones``).
2. From what was observed: ``events_nearby`` counts the recorded flood events at hotspots
   within 200 m of the parcel (all years). One or more events raise the class by one step
   when the model puts any water (≥ 1 cm) on the parcel; three or more make it at least
   medium even when the model keeps it dry, because the street floods regardless.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource
from pyproj import CRS

from flood.model import WET_M
from landdb.codes import RISK_CLASSES

NEARBY_M = 200.0
MIN_FRACTION = 0.05


def classify(max_depth: npt.ArrayLike, fraction: npt.ArrayLike, events: npt.ArrayLike) -> np.ndarray:
    """Risk class per parcel (array of 'low'/'medium'/'high'/'very_high'); see the module docstring."""
    max_depth, fraction, events = (np.asarray(a, float) for a in (max_depth, fraction, events))
    level = np.select([max_depth >= 0.5, max_depth >= 0.3, max_depth >= 0.1], [3, 2, 1], 0)
    level = np.where(fraction < MIN_FRACTION, 0, level)
    level = np.where((events >= 1) & (max_depth >= WET_M), np.minimum(level + 1, 3), level)
    level = np.where(events >= 3, np.maximum(level, 1), level)
    return np.array(RISK_CLASSES, dtype=object)[level]


def zonal(depth: np.ndarray, transform: Affine, crs: CRS, geoms: Sequence[shapely.Geometry],
          water: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """max_depth_m, mean_depth_m, flooded_fraction and covered (cells) for each geometry.

    ``geoms`` are in ``crs``. Cells without data do not count; a geometry off the raster has
    covered 0 and zero statistics. Water on permanent water (``water`` mask) counts as dry.
    """
    h, w = depth.shape
    x0, y1 = transform.c, transform.f
    x1, y0 = x0 + transform.a * w, y1 + transform.e * h
    nodata = np.isnan(depth)
    depth = np.nan_to_num(depth, nan=0.0).astype(np.float64)
    if water is not None:
        depth = np.where(water, 0.0, depth)
    wet = depth >= WET_M
    d = np.ma.masked_array(depth, nodata)
    f = np.ma.masked_array(wet.astype(np.float64), nodata)
    wkt = crs.to_wkt()
    sources = [NumPyRasterSource(d, x0, y0, x1, y1, name="depth", srs_wkt=wkt),
               NumPyRasterSource(f, x0, y0, x1, y1, name="wet", srs_wkt=wkt)]
    frame = gpd.GeoDataFrame({"k": np.arange(len(geoms))}, geometry=list(geoms), crs=crs)
    out = exact_extract(sources, frame, ["max", "mean", "count"], include_cols=["k"], output="pandas")
    out = out.sort_values("k")
    return {"max_depth_m": np.nan_to_num(out["depth_max"].to_numpy(float), nan=0.0),
            "mean_depth_m": np.nan_to_num(out["depth_mean"].to_numpy(float), nan=0.0),
            "flooded_fraction": np.clip(np.nan_to_num(out["wet_mean"].to_numpy(float), nan=0.0), 0, 1),
            "covered": out["depth_count"].to_numpy(float)}
