"""Load cadastral parcels (with their owners) from any vector file into PostGIS.

The file is streamed in batches, so memory stays bounded however long it is. Each batch is
turned into staging rows column by column (``etl.parcel_rows``: text decoding, keys, numbers,
geometry checks and repair, the city CRS, land-use codes, the city boundary and the current
commune) and COPYed into a staging table; set-based SQL (``landdb.parcel_load``) then flags
duplicate keys and merges the rest by natural key, keeping history, and ``landdb.parties``
merges the owners. A worker thread reads and builds the next batch while the database ingests
the current one. Everything happens in one transaction: a rejected strict load, a dry run, an
error or a killed process leaves the database as it was.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import shapely
from sqlalchemy import Engine, text

from etl import crs as crsmod
from etl import fields, read
from etl.parcel_rows import Places, Problems, RowBuilder, check_geometries, ward_code
from etl.report import LoadReport
from landdb import admin as admindb
from landdb import parcel_load as load
from landdb import parties as partydb
from landflood.errors import DataError

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]  # (rows just read, total rows or None)


@dataclass
class ParcelOptions:
    """Options of ``landflood etl parcels`` (see its --help)."""

    layer: str | None = None
    crs: str | None = None
    encoding: str = "auto"
    mapping: dict[str, str] = field(default_factory=dict)
    ward_code: str | None = None
    repair: bool = False
    strict: bool = False
    dry_run: bool = False
    batch_size: int = 50_000
    actor: str = "etl"


def load_parcels(engine: Engine, path: Path, opts: ParcelOptions, progress: Progress | None = None) -> LoadReport:
    """Load the parcels in ``path``; the report says what happened to every row."""
    report = LoadReport(source=str(path), kind="parcels", dry_run=opts.dry_run)
    started = time.perf_counter()
    try:
        _load(engine, path, opts, report, progress or (lambda n, total: None))
    except DataError as exc:
        report.error = str(exc)
        report.committed = False
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _load(engine: Engine, path: Path, opts: ParcelOptions, report: LoadReport, progress: Progress) -> None:
    src = read.open_source(path, opts.layer)
    report.layer = src.layer
    required = ("map_sheet", "parcel_no", "land_use") + (() if opts.ward_code else ("ward_code",))
    cols = fields.resolve(src.fields, fields.PARCEL_FIELDS, opts.mapping, required)
    batches = src.batches(opts.batch_size)
    first = next(batches, None)
    if first is None or len(first) == 0:
        raise DataError(f"{path} has no features")
    encoding = _choose_encoding(src, first, opts, report)
    decode = read.text_decoder(src, encoding)
    with engine.connect() as conn, conn.begin() as trans:
        conn.execute(text("SELECT set_config('landflood.actor', :a, true)"), {"a": opts.actor})
        load.tune(conn)
        builder = _builder(conn, src, first, cols, decode, opts, report)
        load.stage_create(conn)
        for batch, table in _prefetched(builder, _chain(first, batches)):
            load.stage_copy(conn, table)
            report.read += len(batch)
            progress(len(batch), src.count)
        load.stage_duplicates(conn)
        for row, key, reason in load.stage_rejects(conn):
            report.reject(row, key, reason)
        rejected_rows = {r.row for r in report.rejected}
        report.repaired = [r for r in builder.repaired if r.row not in rejected_rows]
        if opts.strict and report.rejected:
            trans.rollback()
            raise DataError(f"--strict: {len(report.rejected)} row(s) rejected, nothing loaded")
        counts = load.stage_merge(conn)
        report.inserted, report.updated, report.unchanged = counts["inserted"], counts["updated"], counts["unchanged"]
        report.loaded = report.inserted + report.updated + report.unchanged
        if "owner_name" in cols:
            report.owners = partydb.stage_merge_owners(conn)
        if opts.dry_run:
            trans.rollback()
            return
    report.committed = True


def _prefetched(builder: RowBuilder, batches: Iterator[read.Batch]) -> Iterator[tuple[read.Batch, pa.Table]]:
    """Each batch with its staging rows; the next batch is read and built in a worker thread
    meanwhile (while the database ingests the current one), so at most two are held in memory."""
    def work() -> tuple[read.Batch, pa.Table] | None:
        batch = next(batches, None)
        return None if batch is None else (batch, builder.build(batch))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parcel-rows") as pool:
        future = pool.submit(work)
        while (item := future.result()) is not None:
            future = pool.submit(work)
            yield item


def _builder(conn, src: read.Source, first: read.Batch, cols: dict[str, str], decode, opts: ParcelOptions,
             report: LoadReport) -> RowBuilder:
    """What turns each batch into staging rows, with the CRS, codes and boundaries it needs."""
    transformer = _choose_crs(conn, src, first, cols, decode, opts, report)
    admin = load.admin_geometries(conn)
    if admin is None:
        report.warnings.append("no administrative boundaries are loaded, so parcels were not checked against "
                               "the city boundary; load them first with `landflood etl admin`")
    places = None if admin is None else Places(np.array(admin[0], dtype=object),
                                               np.array(admin[1], dtype=object), admin[2])
    return RowBuilder(cols=cols, decode=decode, transformer=transformer, land_use=load.land_use_codes(conn),
                      places=places, ward_code=opts.ward_code, repair=opts.repair)


def _chain(first: read.Batch, rest: Iterator[read.Batch]) -> Iterator[read.Batch]:
    yield first
    yield from rest


def _choose_encoding(src: read.Source, first: read.Batch, opts: ParcelOptions, report: LoadReport) -> str:
    if opts.encoding != "auto":
        report.encoding, report.encoding_source = opts.encoding, "option"
    elif src.encoding is not None:
        report.encoding, report.encoding_source = src.encoding, "file"
    else:
        report.encoding, report.encoding_source = read.detect_encoding(src, first), "detected"
    log.info("text encoding: %s (%s)", report.encoding, report.encoding_source)
    return report.encoding


def _choose_crs(conn, src: read.Source, first: read.Batch, cols: dict[str, str], decode,
                opts: ParcelOptions, report: LoadReport):
    if opts.crs:
        crs, report.crs_source = crsmod.parse_crs(opts.crs), "option"
    elif src.crs is not None:
        crs, report.crs_source = src.crs, "file"
    else:
        geoms = first.geoms[~shapely.is_missing(first.geoms)][:2000]
        if len(geoms) == 0:
            raise DataError("the first records have no geometry to detect the CRS from; pass --crs")
        pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
        idx = np.flatnonzero(~shapely.is_missing(first.geoms))[:2000]
        codes = [_ward(first.columns, cols, decode, opts, i) for i in idx]
        wards = admindb.boundaries(conn, {c for c in codes if c})
        crs, why = crsmod.detect(pts, codes, wards)
        report.crs_source = "detected"
        report.warnings.append(f"the file has no CRS; detected {crsmod.label(crs)}: {why}")
    report.crs = crsmod.label(crs)
    log.info("CRS: %s (%s)", report.crs, report.crs_source)
    return crsmod.to_city(crs)


def _ward(columns: dict[str, list], cols: dict[str, str], decode, opts: ParcelOptions, i: int) -> str | None:
    if "ward_code" not in cols:
        return opts.ward_code
    return ward_code(decode(columns[cols["ward_code"]][i]))


def _check_geometries(batch: read.Batch, opts, report: LoadReport) -> tuple[np.ndarray, list[str | None]]:
    """Polygonal, valid (or, with ``opts.repair``, repaired) MultiPolygons and a problem text per
    record or None; repairs are added to ``report.repaired``. Used by ``etl.admin`` too."""
    problems = Problems(len(batch))
    geoms = check_geometries(batch, opts.repair, problems, report.repaired)
    return geoms, problems.text
