"""Register a DEM or a flood-depth raster: check it, write it as a Cloud-Optimized GeoTIFF under
the data directory (``var_dir/rasters/<kind>/<name>.tif``) and record it in ``rasters``.

A raster is refused (nothing written, exit 1, the message says what to do) when it has no CRS
(``--crs`` gives one), more than one band, rotated, south-up or non-square pixels, or lies
outside Hanoi (its extent misses the city's lon/lat box, or every loaded admin unit).

Nodata rule: a raster that declares no nodata value (and no ``--nodata``) is scanned once. Values
below -100 m or above 9,000 m cannot be an elevation or a water depth in Hanoi (the city lies
between about 0 and 1,300 m), so such pixels are taken for an undeclared nodata marker such as
-9999 and the raster is refused with the ``--nodata`` to pass. NaN pixels are simply nodata.

The COG is always float32 in EPSG:5897 with nodata -9999: a raster already in EPSG:5897 keeps its
grid and values exactly; any other is reprojected with bilinear resampling onto square pixels
(the size GDAL suggests, rounded to the millimetre, grid aligned to it). 512-px tiles, DEFLATE
with the floating-point predictor, internal overviews (bilinear).

Re-loading: the pixels and grid that would be written are compared, block by block, with the
file registered under the same name; when they and the registration agree the raster is
unchanged and nothing is written. A different raster replaces a registered one only with
``--replace``. (Comparing the pixels costs one read of the registered file; a checksum column
would make it cheaper.) The COG is written to a hidden temporary file beside its target and
renamed into place just before the row is committed; if the commit fails the previous file is
put back, so a failed load leaves neither a file nor a row.
"""

from __future__ import annotations

import logging
import math
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import shapely
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.transform import array_bounds
from rasterio.vrt import WarpedVRT
from rasterio.warp import aligned_target, calculate_default_transform, transform_bounds
from rasterio.windows import Window
from sqlalchemy import Connection, Engine

from etl import crs as crsmod
from etl import loading
from etl.report import LoadReport, shown_error
from landdb import admin as admindb
from landdb import rasters as rasterdb
from landdb.models import CITY_EXTENT, CITY_SRID
from landflood.errors import DataError
from landflood.settings import Settings

log = logging.getLogger(__name__)

#: CLI kind -> the rasters.kind stored (and the folder under var_dir/rasters).
KINDS = {"dem": "dem", "flood-depth": "flood_depth"}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
NODATA = -9999.0
#: Values outside this range (m) cannot be an elevation or a water depth in Hanoi.
PLAUSIBLE_M = (-100.0, 9000.0)
COG_OPTIONS = {"compress": "DEFLATE", "predictor": "YES", "blocksize": 512, "overviews": "AUTO",
               "resampling": "BILINEAR", "bigtiff": "IF_SAFER", "num_threads": "ALL_CPUS"}
_CITY = rasterio.crs.CRS.from_epsg(CITY_SRID)
_ROWS = 512  # rows per block when scanning or comparing


@dataclass
class RasterOptions:
    """Options of ``landflood etl raster`` (see its --help)."""

    name: str | None = None
    crs: str | None = None
    nodata: float | None = None
    replace: bool = False
    dry_run: bool = False


@dataclass
class RasterReport(LoadReport):
    """A load report with what was (or would be) registered."""

    name: str | None = None
    path: str | None = None
    width: int | None = None
    height: int | None = None
    res_m: float | None = None


@dataclass(frozen=True)
class _Grid:
    transform: Affine
    width: int
    height: int
    resampling: Resampling

    @property
    def res(self) -> float:
        return abs(self.transform.a)

    def footprint(self) -> shapely.Polygon:
        return shapely.box(*array_bounds(self.height, self.width, self.transform))


def load_raster(engine: Engine, settings: Settings, path: Path, kind: str, scenario: str | None,
                opts: RasterOptions) -> RasterReport:
    """Check, write and register the raster at ``path`` as a ``kind`` ('dem' or 'flood-depth')."""
    report = RasterReport(source=str(path), kind=f"raster ({kind})", dry_run=opts.dry_run)
    return loading.timed(report, lambda: _load(engine, settings, path, kind, scenario, opts, report))


def _load(engine: Engine, settings: Settings, path: Path, kind: str, scenario: str | None,
          opts: RasterOptions, report: RasterReport) -> None:
    db_kind = _check_kind(kind, scenario)
    report.name = name = default_name(path) if opts.name is None else opts.name
    if not NAME_RE.match(name):
        raise DataError(f"{name!r} cannot name a raster: use lower-case letters, digits, '.', '_' and '-' (--name)")
    target = settings.var_dir / "rasters" / db_kind / f"{name}.tif"
    with _open(path) as src:
        report.read = 1
        src_crs = _source_crs(src, path, opts, report)
        _check_pixels(src, path)
        _check_near_city(src, src_crs, path)
        src_nodata = _source_nodata(src, path, db_kind, opts, report)
        grid = _target_grid(src, src_crs, report)
        rec = rasterdb.RasterRecord(name, db_kind, scenario, str(target), f"EPSG:{CITY_SRID}", grid.width,
                                    grid.height, grid.res, NODATA, grid.footprint())
        report.path, report.width, report.height, report.res_m = rec.path, rec.width, rec.height, rec.res_m
        with engine.connect() as conn, conn.begin() as trans, _warped(src, src_crs, src_nodata, grid) as vrt:
            _check_scenario(conn, scenario)
            if admindb.touches_city(conn, rec.footprint) is False:
                raise DataError(f"{path.name} touches none of the loaded administrative units: it lies outside "
                                "the city. Is its CRS right? (--crs overrides the file's)")
            old = rasterdb.get(conn, name, for_update=True)
            action, why = _compare(old, rec, vrt)
            setattr(report, action, 1)
            report.loaded = 1
            if action == "updated" and not opts.replace and why != "missing":
                raise DataError(f"a different raster is already registered as {name!r} ({why}); pass --replace "
                                "to replace it, or --name to register this one under another name")
            if why == "missing":
                assert old is not None  # _compare says "missing" only of a registered raster
                report.warnings.append(f"the registered file {old.path} was missing; it is written again")
            if opts.dry_run:
                trans.rollback()
                return
            if action != "unchanged":
                rasterdb.save(conn, rec)
                _install(vrt, target, old, trans.commit)
    report.committed = True


def default_name(path: Path) -> str:
    """A raster name from a file name: "DEM Hà Nội 5m.tif" → "dem-ha-noi-5m"."""
    s = unicodedata.normalize("NFD", path.stem).replace("đ", "d").replace("Đ", "D")
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9_.]+", "-", s).strip("-._")


def _check_kind(kind: str, scenario: str | None) -> str:
    if kind not in KINDS:
        raise DataError(f"unknown raster kind {kind!r}: use {' or '.join(KINDS)}")
    if kind == "flood-depth" and not scenario:
        raise DataError("a flood-depth raster belongs to a flood scenario: pass --scenario NAME")
    if kind == "dem" and scenario:
        raise DataError("--scenario only goes with --kind flood-depth")
    return KINDS[kind]


def _check_scenario(conn: Connection, scenario: str | None) -> None:
    if scenario is None:
        return
    names = rasterdb.scenario_names(conn)
    if scenario not in names:
        known = f"the defined ones are {', '.join(names)}" if names else "no scenario is defined yet"
        raise DataError(f"flood scenario {scenario!r} does not exist ({known}); define it first, "
                        "then load its depths")


@contextmanager
def _open(path: Path) -> Iterator[rasterio.DatasetReader]:
    try:
        src = rasterio.open(path)
    except RasterioError as exc:
        raise DataError(f"cannot read {path} as a raster: {shown_error(exc)}. Is it a complete GeoTIFF (or another "
                        "format GDAL reads)?") from exc
    with src:
        yield src


def _source_crs(src: rasterio.DatasetReader, path: Path, opts: RasterOptions, report: RasterReport) -> rasterio.crs.CRS:
    if opts.crs:
        crs, report.crs_source = crsmod.parse_crs(opts.crs), "option"
    elif src.crs is not None:
        crs, report.crs_source = CRS.from_user_input(src.crs), "file"
    else:
        raise DataError(f"{path.name} has no CRS; pass --crs with the CRS its coordinates are in, "
                        "for example --crs EPSG:5897 (VN-2000 / TM-3 105°, Hanoi's cadastral CRS)")
    report.crs = crsmod.label(crs)
    return rasterio.crs.CRS.from_wkt(crs.to_wkt())


def _check_pixels(src: rasterio.DatasetReader, path: Path) -> None:
    t = src.transform
    if src.count != 1:
        raise DataError(f"{path.name} has {src.count} bands; a DEM or a depth raster has one: extract it "
                        "first (gdal_translate -b N in.tif out.tif)")
    if t.b != 0 or t.d != 0 or t.e >= 0:
        raise DataError(f"{path.name} is not a north-up grid (its pixels are rotated or it is stored "
                        "south-up); warp it first: gdalwarp -t_srs EPSG:5897 in.tif out.tif")
    if not math.isclose(abs(t.a), abs(t.e), rel_tol=1e-6):
        raise DataError(f"{path.name} has non-square pixels ({abs(t.a):g} × {abs(t.e):g}); resample it to "
                        f"square pixels first: gdalwarp -tr {abs(t.a):g} {abs(t.a):g} in.tif out.tif")


def _check_near_city(src: rasterio.DatasetReader, crs: rasterio.crs.CRS, path: Path) -> None:
    try:
        x0, y0, x1, y1 = transform_bounds(crs, "EPSG:4326", *src.bounds, densify_pts=21)
    except RasterioError as exc:
        raise DataError(f"the extent of {path.name} cannot be placed on Earth in {crs}: {shown_error(exc)}") from exc
    hx0, hy0, hx1, hy1 = CITY_EXTENT
    if x1 < hx0 or x0 > hx1 or y1 < hy0 or y0 > hy1:
        raise DataError(f"{path.name} lies outside Hanoi: it covers lon {x0:.3f}…{x1:.3f}, lat {y0:.3f}…{y1:.3f} "
                        f"(Hanoi: lon {hx0}…{hx1}, lat {hy0}…{hy1}). Is its CRS right? (--crs overrides the file's)")


def _source_nodata(src: rasterio.DatasetReader, path: Path, kind: str, opts: RasterOptions,
                   report: RasterReport) -> float | None:
    """The source's nodata: --nodata, the declared one, NaN, or None; refuses an undeclared marker."""
    if opts.nodata is not None:
        return opts.nodata
    if src.nodata is not None:
        return src.nodata
    lo, hi = PLAUSIBLE_M
    n_bad, n_nan, lowest, highest = 0, 0, math.inf, -math.inf
    for w in _row_windows(src.width, src.height):
        a = src.read(1, window=w)
        nan = np.isnan(a) if a.dtype.kind == "f" else np.zeros(a.shape, bool)
        bad = ~nan & ((a < lo) | (a > hi))
        n_nan, n_bad = n_nan + int(nan.sum()), n_bad + int(bad.sum())
        if bad.any():
            lowest, highest = min(lowest, float(a[bad].min())), max(highest, float(a[bad].max()))
    if n_bad:
        what = "an elevation" if kind == "dem" else "a water depth"
        marker = lowest if lowest < lo else highest
        raise DataError(f"{path.name} declares no nodata value, but {n_bad:,} pixel(s) are outside {lo:g}…{hi:g} m "
                        f"(such as {marker:g}), which cannot be {what} in Hanoi; if they mark missing data, pass "
                        f"--nodata {marker:g}")
    if n_nan:
        report.warnings.append(f"{n_nan:,} NaN pixel(s) are taken as nodata")
        return math.nan
    return None


def _target_grid(src: rasterio.DatasetReader, crs: rasterio.crs.CRS, report: RasterReport) -> _Grid:
    if CRS.from_user_input(crs).equals(crsmod.CITY_CRS, ignore_axis_order=True):
        return _Grid(src.transform, src.width, src.height, Resampling.nearest)
    t, w, h = calculate_default_transform(crs, _CITY, src.width, src.height, *src.bounds)
    res = round(abs(t.a), 3) or abs(t.a)
    t, w, h = aligned_target(t, w, h, res)
    report.warnings.append(f"reprojected from {report.crs} to EPSG:{CITY_SRID} (bilinear) onto {res:g} m pixels")
    return _Grid(t, w, h, Resampling.bilinear)


@contextmanager
def _warped(src: rasterio.DatasetReader, crs: rasterio.crs.CRS, nodata: float | None,
            grid: _Grid) -> Iterator[WarpedVRT]:
    """The raster as it will be written: float32, EPSG:5897, nodata -9999, on ``grid``."""
    with WarpedVRT(src, src_crs=crs, src_nodata=nodata, crs=_CITY, transform=grid.transform,
                   width=grid.width, height=grid.height, resampling=grid.resampling, nodata=NODATA,
                   dtype="float32") as vrt:
        yield vrt


def _row_windows(width: int, height: int) -> Iterator[Window]:
    for row in range(0, height, _ROWS):
        yield Window(0, row, width, min(_ROWS, height - row))


def _compare(old: rasterdb.RasterRecord | None, new: rasterdb.RasterRecord, vrt: WarpedVRT) -> tuple[str, str | None]:
    """('inserted'|'updated'|'unchanged', what differs); 'missing' when the registered file is gone."""
    if old is None:
        return "inserted", None
    if not Path(old.path).is_file():
        return "updated", "missing"
    described = f"{old.kind}, {old.width}×{old.height} px at {old.res_m:g} m, {old.path}"
    fields = ("kind", "scenario", "path", "crs", "width", "height", "res_m", "nodata")
    if any(getattr(old, f) != getattr(new, f) for f in fields):
        return "updated", described
    with rasterio.open(old.path) as f:
        same_grid = (f.count == 1 and f.dtypes[0] == "float32" and f.crs == _CITY and f.nodata == NODATA
                     and f.transform.almost_equals(vrt.transform, precision=1e-9))
        if not same_grid or not all(np.array_equal(vrt.read(1, window=w), f.read(1, window=w), equal_nan=True)
                                    for w in _row_windows(new.width, new.height)):
            return "updated", described + ", other pixel values"
    return "unchanged", None


def _install(vrt: WarpedVRT, target: Path, old: rasterdb.RasterRecord | None, commit: Callable[[], None]) -> None:
    """Write the COG beside ``target``, move it into place and commit; on failure put the old file back."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp, backup = target.with_name(f".{target.name}.{tag}.tmp"), None
    placed = False
    try:
        rasterio.shutil.copy(vrt, tmp, driver="COG", **COG_OPTIONS)
        if target.exists():
            backup = target.with_name(f".{target.name}.{tag}.old")
            os.replace(target, backup)
        os.replace(tmp, target)
        placed = True
        commit()
    except BaseException as exc:
        if placed:
            target.unlink(missing_ok=True)
        if backup is not None:
            os.replace(backup, target)
        tmp.unlink(missing_ok=True)
        if isinstance(exc, RasterioError):
            raise DataError(f"cannot write {target}: {shown_error(exc)}") from exc
        raise
    if backup is not None:
        backup.unlink(missing_ok=True)
    if old is not None and Path(old.path) != target:
        Path(old.path).unlink(missing_ok=True)
    log.info("wrote %s", target)
