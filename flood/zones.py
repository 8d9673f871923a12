"""Flood-extent polygons in depth classes.

Depth classes (m), chosen for what water does to people and property in Hanoi's streets:

| class | depth | meaning |
| --- | --- | --- |
| low | 0.01–0.1 | wet street, passable on foot and by motorbike |
| medium | 0.1–0.3 | kerb-deep: water enters ground floors, motorbikes stall (exhausts at ~0.3 m) |
| high | 0.3–0.5 | cars stall, walking is unsafe in flowing water |
| very_high | ≥ 0.5 | dangerous for people; houses flooded |

Films under 1 cm are dry. Polygons are traced from the depth raster tile by tile (1,024 × 1,024
cells), one MultiPolygon per class and tile, so memory stays bounded and rows stay small enough
for maps; a flooded area crossing a tile edge is split there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

import numpy as np
import rasterio.features
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from flood.model import WET_M
from landdb.models import CITY_SRID

#: (depth_min_m, depth_max_m or None, class)
DEPTH_CLASSES: tuple[tuple[float, float | None, str], ...] = (
    (WET_M, 0.1, "low"), (0.1, 0.3, "medium"), (0.3, 0.5, "high"), (0.5, None, "very_high"))
LABELS = {"low": ("thấp", "low"), "medium": ("trung bình", "medium"), "high": ("cao", "high"),
          "very_high": ("rất cao", "very high")}
TILE = 1024
CITY_CRS = CRS.from_epsg(CITY_SRID)


def depth_class(depth: float) -> str | None:
    """The class of a depth (None when dry)."""
    for lo, hi, name in DEPTH_CLASSES:
        if depth >= lo and (hi is None or depth < hi):
            return name
    return None


def classify(depth: np.ndarray, water: np.ndarray | None = None) -> np.ndarray:
    """uint8 class index per cell: 0 dry (or permanent water, or no data), 1..4 the classes."""
    d = np.nan_to_num(depth, nan=0.0)
    out = np.zeros(d.shape, np.uint8)
    for k, (lo, _, _) in enumerate(DEPTH_CLASSES, start=1):
        out[d >= lo] = k
    if water is not None:
        out[water] = 0
    return out


_G = TypeVar("_G", bound=BaseGeometry)


class Mover(Protocol):
    """Moves a geometry to another CRS; the geometry keeps its type (a Point stays a Point)."""

    def __call__(self, geom: _G, /) -> _G: ...


def mover(src: CRS, dst: CRS) -> Mover:
    """A function moving geometries from ``src`` to ``dst`` (identity when they are the same)."""
    if src.equals(dst, ignore_axis_order=True):
        return lambda g: g
    tr = Transformer.from_crs(src, dst, always_xy=True)
    return lambda g: shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def to_city(crs: CRS) -> Mover:
    """A function moving geometries from ``crs`` to the city CRS."""
    return mover(crs, CITY_CRS)


def _multipolygon(rings: list) -> shapely.MultiPolygon:
    """Traced polygons (GeoJSON coordinates) as one MultiPolygon, parsed in one go; each part is
    checked (not the whole: traced parts never overlap)."""
    multi = shapely.from_geojson(json.dumps({"type": "MultiPolygon", "coordinates": rings}))
    parts = shapely.get_parts(multi)
    bad = ~shapely.is_valid(parts)
    if bad.any():
        fixed = [p for g in shapely.make_valid(parts[bad]) for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
        parts = np.concatenate([parts[~bad], np.array(fixed, dtype=object)])
    out = shapely.multipolygons(parts)
    assert isinstance(out, shapely.MultiPolygon)  # an array of polygons makes one MultiPolygon
    return out


def zones(depth: np.ndarray, transform: Affine, crs: CRS, water: np.ndarray | None = None,
          progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[float, float | None, str, bytes]]:
    """(depth_min, depth_max, class, WKB MultiPolygon in EPSG:5897) per class and tile."""
    h, w = depth.shape
    move = to_city(crs)
    tiles = [(r, c) for r in range(0, h, TILE) for c in range(0, w, TILE)]
    for done, (r, c) in enumerate(tiles, start=1):
        cls = classify(depth[r:r + TILE, c:c + TILE], None if water is None else water[r:r + TILE, c:c + TILE])
        if cls.any():
            t = transform @ Affine.translation(c, r)
            parts: dict[int, list] = {}
            for geom, value in rasterio.features.shapes(cls, mask=cls > 0, transform=t):
                parts.setdefault(int(value), []).append(geom["coordinates"])
            for k, polys in sorted(parts.items()):
                lo, hi, name = DEPTH_CLASSES[k - 1]
                yield lo, hi, name, shapely.to_wkb(move(_multipolygon(polys)))
        if progress:
            progress(done, len(tiles))
