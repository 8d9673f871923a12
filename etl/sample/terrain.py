"""A 5 m DEM of the sample area (GeoTIFF, EPSG:5897, float32, nodata -9999, tiled, deflate).

The model: gently varying ground of 5-12 m (higher in the north-west, lowest towards Yên Sở),
streets 0.15-0.35 m below the blocks, a bowl of 0.3-1 m at every waterlogging hotspot, lakes
3-4.5 m, the Tô Lịch and Kim Ngưu channels, and the Red River: a 2.5-4 m channel, a 9-10.5 m
floodplain and dykes with crests of about 14 m on both banks. It is written window by window,
so memory does not grow with the area.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin
from rasterio.windows import Window

from etl.sample import places
from etl.sample.common import hash_uniform, origin, to_city
from etl.sample.fabric import Fabric
from etl.sample.hydro import CHANNEL_HALF_WIDTH, STREAM_HALF_WIDTH, hydro

RES = 5.0
NODATA = -9999.0
TILE = 256
DYKE_CREST = {"west": 14.5, "east": 13.8}
_TAG_NOISE, _TAG_HOTSPOT = 61, 62


def hotspot_depressions(seed: int) -> list[tuple[float, float, float, float]]:
    """(x, y, depth m, radius m) of the bowl at each hotspot; depth also drives how easily it floods."""
    out = []
    for k, h in enumerate(places.hotspots()):
        x, y = to_city(h.lon, h.lat)
        u = float(hash_uniform(seed, _TAG_HOTSPOT, k, 0))
        out.append((float(x), float(y), 0.3 + 0.7 * u, 60.0 + 80.0 * float(hash_uniform(seed, _TAG_HOTSPOT, k, 1))))
    return out


def write_dem(path: Path, area: shapely.Geometry, seed: int) -> tuple[int, int]:
    """Write the DEM covering ``area`` (EPSG:5897); returns (width, height)."""
    minx, miny, maxx, maxy = shapely.bounds(shapely.buffer(area, 100.0))
    minx, maxy = math.floor(minx / RES) * RES, math.ceil(maxy / RES) * RES
    width, height = int(math.ceil((maxx - minx) / RES)), int(math.ceil((maxy - miny) / RES))
    mask = shapely.buffer(area, 100.0)
    shapely.prepare(mask)
    model = _Model(seed)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "float32",
               "crs": "EPSG:5897", "transform": from_origin(minx, maxy, RES, RES), "nodata": NODATA,
               "tiled": True, "blockxsize": TILE, "blockysize": TILE, "compress": "deflate", "predictor": 3,
               "BIGTIFF": "IF_SAFER"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.update_tags(SOURCE="landflood sample (modelled terrain, not a survey)")
        for row in range(0, height, TILE):
            for col in range(0, width, TILE):
                w, h = min(TILE, width - col), min(TILE, height - row)
                x = minx + (col + np.arange(w) + 0.5) * RES
                y = maxy - (row + np.arange(h) + 0.5) * RES
                xx, yy = (a.ravel() for a in np.meshgrid(x, y))
                dst.write(model.tile(xx, yy, mask).reshape(h, w), 1, window=Window(col, row, w, h))
    return width, height


class _Model:
    def __init__(self, seed: int) -> None:
        self.fabric = Fabric(seed)
        self.ox, self.oy = origin()
        u = [hash_uniform(seed, _TAG_NOISE, k, np.arange(3)) for k in range(6)]
        self.waves = [(2_000 + 4_000 * a, 2 * np.pi * b, 2 * np.pi * c) for a, b, c in u]
        self.hotspots = hotspot_depressions(seed)
        self.low = [(*to_city(105.862, 20.962), -2.0, 2_500.0), (*to_city(105.836, 21.035), 1.0, 1_500.0)]
        self.hy = hydro()
        self.lakes = [poly for _, poly in self.hy.lakes]
        for g in (self.hy.corridor, *self.lakes):
            shapely.prepare(g)

    def tile(self, x: np.ndarray, y: np.ndarray, mask: shapely.Geometry) -> np.ndarray:
        """Heights of one tile's pixel centres; NODATA outside ``mask``."""
        box = shapely.box(x.min(), y.min(), x.max(), y.max())
        z = np.full(x.shape, NODATA, np.float32)
        if shapely.contains_properly(mask, box):
            inside = np.ones(x.shape, bool)
        elif shapely.intersects(mask, box):
            inside = shapely.contains_xy(mask, x, y)
        else:
            return z
        if inside.any():
            z[inside] = self._height(x[inside], y[inside], box)
        return z

    def _height(self, x: np.ndarray, y: np.ndarray, box: shapely.Geometry) -> np.ndarray:
        z = self._ground(x, y) - self.fabric.street_depth(x, y)
        for hx, hy_, depth, radius in self.hotspots:
            if shapely.dwithin(box, shapely.Point(hx, hy_), 3 * radius):
                z -= depth * np.exp(-((x - hx) ** 2 + (y - hy_) ** 2) / radius**2)
        z = self._river(x, y, z, box)
        return self._lakes_and_streams(x, y, z, box).astype(np.float32)

    def _ground(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx, dy = (x - self.ox) / 1000.0, (y - self.oy) / 1000.0
        z = 9.0 + 0.18 * dy - 0.12 * dx
        for wavelength, angle, phase in self.waves:
            z += 0.3 * np.sin(2 * np.pi * ((x * np.cos(angle) + y * np.sin(angle)) / wavelength) + phase)
        for cx, cy, amp, sigma in self.low:
            z += amp * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
        return np.clip(z, 5.0, 12.0)

    def _river(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, box: shapely.Geometry) -> np.ndarray:
        hy = self.hy
        if shapely.intersects(hy.corridor, box):
            inside = shapely.contains_xy(hy.corridor, x, y)
            dc = _distance(x[inside], y[inside], hy.centerline)
            bank = 9.2 + 1.2 * np.clip((dc - CHANNEL_HALF_WIDTH) / 700.0, 0, 1)
            z[inside] = np.where(dc < CHANNEL_HALF_WIDTH, 2.5 + 1.5 * (dc / CHANNEL_HALF_WIDTH) ** 2, bank)
        for line, crest in ((hy.dyke_west, DYKE_CREST["west"]), (hy.dyke_east, DYKE_CREST["east"])):
            if shapely.dwithin(box, line, 40.0):
                dd = _distance(x, y, line)
                z = np.maximum(z, np.where(dd < 40.0, crest - np.maximum(0.0, dd - 4.0) / 2.5, z))
        return z

    def _lakes_and_streams(self, x: np.ndarray, y: np.ndarray, z: np.ndarray, box: shapely.Geometry) -> np.ndarray:
        for lake in self.lakes:
            if shapely.intersects(lake, box):
                inside = shapely.contains_xy(lake, x, y)
                d = _distance(x[inside], y[inside], lake.exterior)
                z[inside] = 4.5 - 1.3 * np.clip(d / 60.0, 0, 1)
        for name, line in self.hy.streams:
            half = STREAM_HALF_WIDTH[name]
            if shapely.dwithin(box, line, half):
                d = _distance(x, y, line)
                near = d < half
                z[near] = np.maximum(2.0, z[near] - 3.5 + 2.5 * (d[near] / half) ** 2)
        return z


def _distance(x: np.ndarray, y: np.ndarray, line: shapely.Geometry) -> np.ndarray:
    """Distance from points to a polyline or ring (numpy: no point objects for millions of pixels)."""
    xy = shapely.get_coordinates(line)
    best = np.full(x.shape, np.inf)
    for (ax, ay), (bx, by) in zip(xy[:-1], xy[1:], strict=True):
        dx, dy = bx - ax, by - ay
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        np.minimum(best, np.hypot(x - ax - t * dx, y - ay - t * dy), out=best)
    return best
