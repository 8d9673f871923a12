"""Writing the sample: every file of it, from one seed (see :mod:`etl.sample`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import shapely

from etl.sample.admin import Admin, write_geojson
from etl.sample.choices import DEFAULT_SEED, ENCODINGS, FORMATS
from etl.sample.output import parcels_path, write_parcels
from etl.sample.parcels import LAYER, ParcelGenerator
from etl.sample.rain import write_events, write_hotspots, write_rainfall
from etl.sample.readme import write_readme
from etl.sample.terrain import write_dem
from landflood.errors import DataError

logger = logging.getLogger(__name__)


def write_sample(out_dir: Path, parcels: int = 20_000, seed: int = DEFAULT_SEED, fmt: str = "gpkg",
                 encoding: str = "utf-8", progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the sample into ``out_dir`` (created if missing) and return counts of what it holds.

    ``progress`` is called with the number of parcels written since its last call.
    """
    _check(parcels, seed, fmt, encoding)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    admin = Admin(seed)
    generator = ParcelGenerator(seed, admin)
    path = parcels_path(out_dir, fmt)
    logger.info("writing %d parcels to %s", parcels, path)
    write_parcels(path, generator.batches(parcels, progress=progress), fmt, encoding)
    units = admin.units(generator.touched)
    write_geojson(out_dir / "admin_units.geojson", units)
    old = [u for u in units if u.level == "commune" and u.valid_to is not None]
    logger.info("writing the DEM")
    width, height = write_dem(out_dir / "dem.tif", shapely.union_all([u.geom for u in old]), seed)
    write_hotspots(out_dir / "waterlogging_points.csv")
    series = write_rainfall(out_dir / "rainfall.csv", seed)
    counts = {
        "parcels": parcels,
        "districts": sum(u.level == "district" for u in units),
        "communes_before_2025": len(old),
        "communes_since_2025": sum(u.valid_to is None for u in units),
        "synthetic_communes": sum(u.code.startswith("9") for u in units if u.level == "commune"),
        "waterlogging_points": sum(1 for _ in (out_dir / "waterlogging_points.csv").open(encoding="utf-8")) - 1,
        "flood_events": write_events(out_dir / "flood_events.csv", seed, series),
        "rain_gauges": len(next(iter(series.values()))),
        "rainfall_rows": sum(s.size for s in series.values()),
        "dem_width": width,
        "dem_height": height,
    }
    write_readme(out_dir / "README.txt", path.name, LAYER, seed, fmt, encoding, counts)
    return counts


def _check(parcels: int, seed: int, fmt: str, encoding: str) -> None:
    if parcels < 1:
        raise DataError(f"--parcels must be at least 1, not {parcels}")
    if seed < 0:
        raise DataError(f"--seed must be zero or positive, not {seed}")
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if encoding not in ENCODINGS:
        raise DataError(f"unknown encoding {encoding!r}: use one of {', '.join(ENCODINGS)}")
    if encoding != "utf-8" and fmt != "shp":
        raise DataError(f"--encoding {encoding} needs --format shp: a GeoPackage is always UTF-8")
