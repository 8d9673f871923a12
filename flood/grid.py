"""A DEM in memory with what the hydrology needs: heights, the valid mask, cell areas and
cell sizes in metres, for projected (EPSG:5897, UTM, …) and geographic (EPSG:4326) grids.

Cell areas of a geographic grid are exact areas of the cells on the ellipsoid (the area of an
ellipsoidal quadrangle between two parallels and two meridians, via the authalic latitude);
cell widths and heights in metres are geodesic lengths along the parallel and the meridian at
the cell's centre. Reading and writing go window by window (512 rows at a time), so files of
any size stream; the arrays themselves are held in memory (about 40 bytes per cell at most
in the hydrological solve).
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from pyproj import CRS, Geod
from rasterio.errors import RasterioError
from rasterio.windows import Window

from landflood.errors import DataError

#: Rows per window when reading and writing rasters.
WINDOW_ROWS = 512
NODATA = -9999.0
COG_OPTIONS = {"compress": "DEFLATE", "predictor": "YES", "blocksize": 512, "overviews": "AUTO",
               "resampling": "BILINEAR", "bigtiff": "IF_SAFER"}

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class Grid:
    """Heights ``z`` (float32, NaN where there is no data) on a north-up grid."""

    z: np.ndarray
    transform: Affine
    crs: CRS

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return self.z.shape

    @property
    def valid(self) -> np.ndarray:
        return ~np.isnan(self.z)

    @property
    def geographic(self) -> bool:
        return self.crs.is_geographic

    def row_areas(self) -> np.ndarray:
        """Area of one cell (m²) in each row."""
        h = self.shape[0]
        if not self.geographic:
            return np.full(h, abs(self.transform.a * self.transform.e) * _unit(self.crs) ** 2)
        top = self.transform.f + self.transform.e * np.arange(h + 1)
        return ellipsoid_band_area(top[1:], top[:-1], abs(self.transform.a), self.crs)

    def cell_sizes(self) -> tuple[np.ndarray, float]:
        """(width of a cell in each row, height of a cell), in metres."""
        h = self.shape[0]
        if not self.geographic:
            u = _unit(self.crs)
            return np.full(h, abs(self.transform.a) * u), abs(self.transform.e) * u
        geod = _geod(self.crs)
        lat = self.transform.f + self.transform.e * (np.arange(h) + 0.5)
        dlon, dlat = abs(self.transform.a), abs(self.transform.e)
        _, _, dx = geod.inv(np.zeros(h), lat, np.full(h, dlon), lat)
        mid = float(lat[h // 2])
        _, _, dy = geod.inv(0.0, mid - dlat / 2, 0.0, mid + dlat / 2)
        return np.asarray(dx, float), float(dy)


def _unit(crs: CRS) -> float:
    factor = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return float(factor or 1.0)


def _geod(crs: CRS) -> Geod:
    return crs.get_geod() or Geod(ellps="WGS84")


def ellipsoid_band_area(lat_lo: np.ndarray, lat_hi: np.ndarray, dlon_deg: float, crs: CRS) -> np.ndarray:
    """Exact area (m²) of cells ``dlon_deg`` wide between the parallels ``lat_lo`` and ``lat_hi``."""
    geod = _geod(crs)
    a, e2 = geod.a, geod.es
    e = math.sqrt(e2)

    def q(lat: np.ndarray) -> np.ndarray:  # authalic function (Snyder 1987, eq. 3-12)
        s = np.sin(np.radians(lat))
        return (1 - e2) * (s / (1 - e2 * s * s) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))

    return a * a / 2 * np.abs(q(lat_hi) - q(lat_lo)) * math.radians(dlon_deg)


def row_windows(width: int, height: int, rows: int = WINDOW_ROWS) -> Iterator[Window]:
    for row in range(0, height, rows):
        yield Window(0, row, width, min(rows, height - row))


def read_dem(path: Path, progress: Progress | None = None) -> Grid:
    """Read a single-band DEM window by window; nodata and NaN become NaN."""
    try:
        src = rasterio.open(path)
    except RasterioError as exc:
        raise DataError(f"cannot read {path} as a raster: {exc}. Is it a complete GeoTIFF?") from exc
    with src:
        if src.crs is None:
            raise DataError(f"{path} has no CRS; assign one first (gdal_edit.py -a_srs EPSG:5897 {path})")
        t = src.transform
        if src.count != 1 or t.b != 0 or t.d != 0 or t.e >= 0:
            raise DataError(f"{path} must be one band on a north-up grid; warp it first "
                            "(gdalwarp -t_srs EPSG:5897 in.tif out.tif)")
        z = np.empty((src.height, src.width), np.float32)
        for w in row_windows(src.width, src.height):
            block = src.read(1, window=w, masked=True).astype(np.float32)
            z[w.row_off:w.row_off + w.height] = block.filled(np.nan)
            if progress:
                progress(w.row_off + w.height, src.height)
        crs = CRS.from_user_input(src.crs.to_wkt())
        grid = Grid(z, t, crs)
    if not grid.valid.any():
        raise DataError(f"{path} holds no data (every pixel is nodata)")
    return grid


def write_cog(array: np.ndarray, transform: Affine, crs: CRS, path: Path, nodata: float = NODATA,
              progress: Progress | None = None) -> Path:
    """Write ``array`` (NaN = nodata) as a float32 Cloud-Optimized GeoTIFF, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = array.shape
    tag = uuid.uuid4().hex[:8]
    tmp, plain = path.with_name(f".{path.name}.{tag}.tmp"), path.with_name(f".{path.name}.{tag}.src.tif")
    profile = {"driver": "GTiff", "width": w, "height": h, "count": 1, "dtype": "float32", "crs": crs.to_wkt(),
               "transform": transform, "nodata": nodata, "tiled": True, "blockxsize": 512, "blockysize": 512,
               "BIGTIFF": "IF_SAFER"}
    try:
        with rasterio.open(plain, "w", **profile) as dst:
            for win in row_windows(w, h):
                block = array[win.row_off:win.row_off + win.height]
                dst.write(np.where(np.isnan(block), nodata, block).astype(np.float32), 1, window=win)
                if progress:
                    progress(win.row_off + win.height, h)
        with rasterio.open(plain) as src:
            rasterio.shutil.copy(src, tmp, driver="COG", **COG_OPTIONS)
        os.replace(tmp, path)
    except RasterioError as exc:
        raise DataError(f"cannot write {path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
        plain.unlink(missing_ok=True)
    return path
