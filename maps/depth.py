"""A scenario's water-depth raster as one small PNG in Web Mercator, for a Leaflet image overlay."""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.warp import calculate_default_transform, reproject

#: Depth class edges (m) and their colours (RGBA); shallower than the first edge is transparent.
DEPTH_STEPS: tuple[tuple[float, tuple[int, int, int, int]], ...] = (
    (0.05, (198, 219, 239, 170)),
    (0.15, (107, 174, 214, 190)),
    (0.30, (33, 113, 181, 210)),
    (0.50, (8, 69, 148, 225)),
    (1.00, (8, 29, 88, 235)),
)
MAX_PIXELS = 1024


def colorize(depth: np.ndarray) -> np.ndarray:
    """RGBA bands (4, h, w) for depths in metres (NaN and shallow water are transparent)."""
    rgba = np.zeros((4, *depth.shape), dtype=np.uint8)
    values = np.nan_to_num(depth, nan=0.0)
    for edge, color in DEPTH_STEPS:
        mask = values >= edge
        for band in range(4):
            rgba[band][mask] = color[band]
    return rgba


def legend_steps() -> list[dict[str, float | str]]:
    """DEPTH_STEPS for maps.js's legend: each edge with its colour as CSS ``rgba()``."""
    return [{"min": edge, "color": f"rgba({r},{g},{b},{a / 255:.2f})"} for edge, (r, g, b, a) in DEPTH_STEPS]


def _lonlat(x: float, y: float) -> tuple[float, float]:
    r = 6378137.0
    return math.degrees(x / r), math.degrees(2 * math.atan(math.exp(y / r)) - math.pi / 2)


@lru_cache(maxsize=8)
def _render(path: str, mtime: float) -> tuple[bytes, list[list[float]]]:
    with rasterio.open(path) as src:
        transform, width, height = calculate_default_transform(src.crs, "EPSG:3857", src.width, src.height,
                                                               *src.bounds)
        scale = max(width, height) / MAX_PIXELS
        if scale > 1:
            width, height = max(1, round(width / scale)), max(1, round(height / scale))
            transform = transform * transform.scale(scale, scale)
        depth = np.full((height, width), np.nan, dtype="float32")
        reproject(rasterio.band(src, 1), depth, dst_transform=transform, dst_crs="EPSG:3857",
                  dst_nodata=np.nan, resampling=Resampling.average)
    rgba = colorize(depth)
    with MemoryFile() as mem, warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # a PNG has no CRS
        with mem.open(driver="PNG", width=width, height=height, count=4, dtype="uint8") as png:
            png.write(rgba)
        data = mem.read()
    west, north = _lonlat(transform.c, transform.f)
    east, south = _lonlat(transform.c + transform.a * width, transform.f + transform.e * height)
    return data, [[south, west], [north, east]]


def render_png(path: str) -> tuple[bytes, list[list[float]]]:
    """The PNG and its bounds ``[[south, west], [north, east]]``; cached while the file is unchanged."""
    return _render(path, Path(path).stat().st_mtime)
