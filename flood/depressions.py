"""Depressions (sinks) of a DEM as polygons, with their spill elevation and storage volume.

A depression is a connected (8-neighbour) region that plain priority-flood filling raises.
Every cell of one such region is raised to the same level, its spill elevation: the height at
which water standing in it would start to flow out. Its storage volume is the water it holds
when full, ∑ (spill − height) × cell area, with exact cell areas (on the ellipsoid for a
geographic DEM). Nested depressions are reported as the one outer depression they fill into.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import rasterio.features
import shapely
from scipy import ndimage

from flood.fill import fill_depressions
from flood.grid import Grid


@dataclass(frozen=True)
class Depression:
    """One depression; ``geometry`` is in the DEM's CRS."""

    id: int
    spill_elevation_m: float
    volume_m3: float
    area_m2: float
    max_depth_m: float
    cells: int
    geometry: shapely.Geometry


def depressions(grid: Grid, filled: np.ndarray | None = None, min_volume_m3: float = 0.0,
                min_depth_m: float = 0.0) -> list[Depression]:
    """The depressions of ``grid``, largest volume first (``filled``: its plain-filled heights)."""
    if filled is None:
        filled = fill_depressions(grid.z)
    depth = np.where(grid.valid, filled.astype(np.float64) - grid.z, 0.0)
    labels, count = ndimage.label(depth > 0, structure=np.ones((3, 3), bool))
    if count == 0:
        return []
    area = np.broadcast_to(grid.row_areas()[:, None], grid.shape)
    flat = labels.ravel()
    idx = np.flatnonzero(flat)
    lab = flat[idx]
    volume = np.bincount(lab, (depth.ravel()[idx] * area.ravel()[idx]), count + 1)
    areas = np.bincount(lab, area.ravel()[idx], count + 1)
    cells = np.bincount(lab, minlength=count + 1)
    max_depth = np.zeros(count + 1)
    np.maximum.at(max_depth, lab, depth.ravel()[idx])
    spill = np.zeros(count + 1)
    spill[lab] = filled.ravel()[idx]
    keep = [k for k in range(1, count + 1) if volume[k] >= min_volume_m3 and max_depth[k] >= min_depth_m]
    geoms = dict(_polygons(labels, grid, set(keep)))
    out = [Depression(k, float(spill[k]), float(volume[k]), float(areas[k]), float(max_depth[k]), int(cells[k]),
                      geoms[k]) for k in keep]
    return sorted(out, key=lambda d: -d.volume_m3)


def _polygons(labels: np.ndarray, grid: Grid, keep: set[int]) -> Iterator[tuple[int, shapely.Geometry]]:
    parts: dict[int, list] = {}
    for geom, value in rasterio.features.shapes(labels.astype(np.int32), mask=labels > 0,
                                                 transform=grid.transform, connectivity=8):
        if int(value) in keep:
            parts.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    for k, polys in parts.items():
        yield k, shapely.multipolygons(polys) if len(polys) > 1 else shapely.multipolygons([polys[0]])
