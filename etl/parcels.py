"""Load cadastral parcels (with their owners) from any vector file into PostGIS.

The file is streamed in batches: each record's text is decoded, its key and numbers parsed, its
geometry checked (and repaired on request) and transformed to the city CRS, and the batch is
COPYed into a staging table. Set-based SQL then flags duplicates, unknown land-use codes and
parcels outside the city, and merges the rest by natural key, keeping history. Everything
happens in one transaction: a rejected strict load, a dry run, an error or a killed process
leaves the database as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import Engine, text

from etl import crs as crsmod
from etl import fields, read
from etl.report import LoadReport, Reject
from landdb import admin as admindb
from landdb import parcels as pdb
from landdb import parties as partydb
from landdb.models import CITY_SRID
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
        transformer = _choose_crs(conn, src, first, cols, decode, opts, report)
        pdb.stage_create(conn)
        for batch in _chain(first, batches):
            rows = _stage_rows(batch, cols, decode, transformer, opts, report)
            pdb.stage_copy(conn, rows)
            report.read += len(batch)
            progress(len(batch), src.count)
        report.warnings += pdb.stage_flag(conn)
        for row, key, reason in pdb.stage_rejects(conn):
            report.reject(row, key, reason)
        rejected_rows = {r.row for r in report.rejected}
        report.repaired = [r for r in report.repaired if r.row not in rejected_rows]
        if opts.strict and report.rejected:
            trans.rollback()
            raise DataError(f"--strict: {len(report.rejected)} row(s) rejected, nothing loaded")
        counts = pdb.stage_merge(conn)
        report.inserted, report.updated, report.unchanged = counts["inserted"], counts["updated"], counts["unchanged"]
        report.loaded = report.inserted + report.updated + report.unchanged
        if "owner_name" in cols:
            report.owners = partydb.stage_merge_owners(conn)
        if opts.dry_run:
            trans.rollback()
            return
    report.committed = True


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
    return _ward_code(decode(columns[cols["ward_code"]][i]))


def _ward_code(value) -> str | None:
    if value is None:
        return None
    s = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
    return s.zfill(5) if s.isdigit() and len(s) <= 5 else (s or None)


def _int(value) -> int | None:
    number = read.parse_number(value) if isinstance(value, str) else value
    if number is None or float(number) != int(number) or int(number) <= 0:
        raise ValueError
    return int(number)


def _stage_rows(batch: read.Batch, cols: dict[str, str], decode, transformer, opts: ParcelOptions,
                report: LoadReport) -> Iterator[tuple]:
    geoms, problems = _check_geometries(batch, opts, report)
    geoms = crsmod.transform(geoms, transformer)
    hexes = shapely.to_wkb(shapely.set_srid(geoms, CITY_SRID), hex=True, include_srid=True)
    get = {f: batch.columns[c] for f, c in cols.items()}
    for i, row_no in enumerate(batch.rows):
        problem = problems[i]
        values = {f: decode(v[i]) for f, v in get.items()}
        ward = _ward_code(values.get("ward_code")) if "ward_code" in cols else opts.ward_code
        sheet = parcel = area = birth = None
        try:
            sheet = _int(values["map_sheet"])
        except (ValueError, TypeError, DataError):
            problem = problem or f"map sheet number {values['map_sheet']!r} is not a positive whole number"
        try:
            parcel = _int(values["parcel_no"])
        except (ValueError, TypeError, DataError):
            problem = problem or f"parcel number {values['parcel_no']!r} is not a positive whole number"
        if ward is None or not (ward.isdigit() and len(ward) == 5):
            problem = problem or f"ward code {ward!r} is not a 5-digit commune code (use --ward-code)"
        try:
            area = read.parse_number(values.get("area_legal"))
            if area is not None and area <= 0:
                area = None
                problem = problem or f"legal area {values.get('area_legal')!r} is not positive"
        except DataError:
            problem = problem or f"legal area {values.get('area_legal')!r} is not a number"
        try:
            birth = _int(values["birth_year"]) if values.get("birth_year") not in (None, "") else None
        except (ValueError, TypeError, DataError):
            birth = None
        key_ok = sheet is not None and parcel is not None and ward is not None and len(ward) == 5 and ward.isdigit()
        yield (
            int(row_no), ward if key_ok else None, sheet if key_ok else None, parcel if key_ok else None,
            _upper(values.get("land_use")), round(area, 2) if area is not None else None,
            values.get("address") or None, values.get("owner_name") or None,
            _digits(values.get("owner_id")), birth, None if problem else hexes[i], problem,
        )


def _upper(v) -> str | None:
    return str(v).strip().upper() or None if v is not None else None


def _digits(v) -> str | None:
    if v is None:
        return None
    s = str(int(v)) if isinstance(v, float) else str(v).strip()
    return s or None


def _check_geometries(batch: read.Batch, opts: ParcelOptions, report: LoadReport) -> tuple[np.ndarray, list]:
    """Polygonal, valid (or repaired) MultiPolygons; a problem text per record or None."""
    geoms = batch.geoms.copy()
    problems: list[str | None] = [None] * len(geoms)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    kinds = shapely.get_type_id(geoms)
    polygonal = (kinds == 3) | (kinds == 6)
    valid = shapely.is_valid(geoms)
    for i in np.flatnonzero(missing | ~polygonal | ~valid):
        if missing[i]:
            problems[i] = "empty geometry" if not shapely.is_missing(geoms[i]) else "no geometry"
        elif not polygonal[i]:
            problems[i] = f"geometry is a {geoms[i].geom_type}, not a polygon"
        else:
            reason = shapely.is_valid_reason(geoms[i])
            if opts.repair:
                fixed = _polygonal(shapely.make_valid(geoms[i]))
                if fixed is None:
                    problems[i] = f"invalid geometry ({reason}) that make_valid cannot turn into a polygon"
                else:
                    geoms[i] = fixed
                    report.repaired.append(_repair(batch, i, reason))
            else:
                problems[i] = f"invalid geometry: {reason} (use --repair to fix it with make_valid)"
    ok = np.array([p is None for p in problems])
    geoms[ok] = _multi(geoms[ok])
    geoms[~ok] = None
    return geoms, problems


def _repair(batch: read.Batch, i: int, reason: str) -> Reject:
    return Reject(int(batch.rows[i]), None, f"repaired with make_valid: {reason}")


def _polygonal(geom) -> shapely.Geometry | None:
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    if not parts:
        return None
    return shapely.MultiPolygon([p for g in parts for p in shapely.get_parts(g)])


def _multi(geoms: np.ndarray) -> np.ndarray:
    single = shapely.get_type_id(geoms) == 3
    out = geoms.copy()
    out[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
    return out
