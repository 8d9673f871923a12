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

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import shapely
from pyproj import CRS, Transformer
from sqlalchemy import Connection, Engine

from etl import crs as crsmod
from etl import fields, loading, read
from etl.loading import LoadOptions, Progress
from etl.parcel_rows import Places, RowBuilder, ward_code
from etl.report import LoadReport
from landdb import admin as admindb
from landdb import parcel_load as load
from landdb import parties as partydb
from landflood.errors import DataError


@dataclass
class ParcelOptions(LoadOptions):
    """Options of ``landflood etl parcels`` (see its --help)."""

    ward_code: str | None = None
    repair: bool = False


def load_parcels(engine: Engine, path: Path, opts: ParcelOptions, progress: Progress | None = None) -> LoadReport:
    """Load the parcels in ``path``; the report says what happened to every row."""
    report = LoadReport(source=str(path), kind="parcels", dry_run=opts.dry_run)
    return loading.timed(report, lambda: _load(engine, path, opts, report, progress or loading.no_progress))


def _load(engine: Engine, path: Path, opts: ParcelOptions, report: LoadReport, progress: Progress) -> None:
    src = read.open_source(path, opts.layer)
    report.layer = src.layer
    required = ("map_sheet", "parcel_no", "land_use") + (() if opts.ward_code else ("ward_code",))
    cols = fields.resolve(src.fields, fields.PARCEL_FIELDS, opts.mapping, required, {"area_legal": fields.AREA_UNITS})
    first, batches = loading.first_batch(src, opts.batch_size)
    decode = read.text_decoder(src, loading.choose_encoding(src, first, opts.encoding, report))
    with loading.transaction(engine, opts.actor, report) as conn:
        load.tune(conn)
        builder = _builder(conn, src, first, cols, decode, opts, report)
        load.stage_create(conn)
        for batch, table in _prefetched(builder, batches):
            load.stage_copy(conn, table)
            report.read += len(batch)
            progress(len(batch), src.count)
        load.stage_duplicates(conn)
        for row, key, reason in load.stage_rejects(conn):
            report.reject(row, key, reason)
        rejected_rows = {r.row for r in report.rejected}
        report.repaired = [r for r in builder.repaired if r.row not in rejected_rows]
        loading.refuse_if_strict(opts.strict, report)
        restore = [] if opts.dry_run else load.bulk_start(conn)
        loading.count_loaded(report, load.stage_merge(conn))
        if "owner_name" in cols:
            report.owners = partydb.stage_merge_owners(conn)
        load.bulk_finish(conn, restore)


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


def _builder(conn: Connection, src: read.Source, first: read.Batch, cols: dict[str, str], decode: read.Decoder,
             opts: ParcelOptions, report: LoadReport) -> RowBuilder:
    """What turns each batch into staging rows, with the CRS, codes and boundaries it needs."""
    transformer = _choose_crs(conn, src, first, cols, decode, opts, report)
    admin = load.admin_geometries(conn)
    if admin is None:
        report.warnings.append("no administrative boundaries are loaded, so parcels were not checked against "
                               "the city boundary; load them first with `landflood etl admin`")
    places = None if admin is None else Places(np.array(admin[0], dtype=object),
                                               np.array(admin[1], dtype=object), admin[2])
    area_unit = fields.column_unit(cols["area_legal"], fields.PARCEL_FIELDS["area_legal"], fields.AREA_UNITS) if (
        "area_legal" in cols) else None
    return RowBuilder(cols=cols, decode=decode, transformer=transformer, land_use=load.land_use_codes(conn),
                      places=places, ward_code=opts.ward_code, repair=opts.repair,
                      area_scale=fields.AREA_UNITS[area_unit or "m2"])


def _choose_crs(conn: Connection, src: read.Source, first: read.Batch, cols: dict[str, str], decode: read.Decoder,
                opts: ParcelOptions, report: LoadReport) -> Transformer | None:
    def detect() -> tuple[CRS, str]:
        # Projected coordinates fit several CRSs around Hanoi: the parcels' own ward codes decide.
        idx = np.flatnonzero(~shapely.is_missing(first.geoms))[:2000]
        if len(idx) == 0:
            raise DataError("the first records have no geometry to detect the CRS from; pass --crs")
        pts = shapely.get_coordinates(shapely.point_on_surface(first.geoms[idx]))
        codes = [_ward(first.columns, cols, decode, opts, i) for i in idx]
        return crsmod.detect(pts, codes, admindb.boundaries(conn, {c for c in codes if c}))

    return loading.choose_crs(src, opts.crs, report, detect)


def _ward(columns: dict[str, list], cols: dict[str, str], decode: read.Decoder, opts: ParcelOptions,
          i: int | np.integer) -> str | None:
    if "ward_code" not in cols:
        return opts.ward_code
    return ward_code(decode(columns[cols["ward_code"]][i]))
