"""Load administrative boundaries (provinces, districts, communes) with their validity period.

Any polygon file GDAL reads. Each unit needs a code and a name; everything else is read from the
file when it has the column and derived otherwise:

- ``level``: the ``--level`` option, else a level column, else the column the code came from
  (``district_code`` → district), else the kind, else the code's length (2/3/5 digits).
- ``kind``: a kind column, else the name's prefix ("Phường" → phuong, "Xã" → xa, "Thị trấn" →
  thi_tran, "Quận" → quan, "Huyện" → huyen, "Thị xã" → thi_xa, "Thành phố", "Tỉnh", "Đặc khu").
- ``parent_code``: a parent column, else the code column of the level above (``province_code``
  for a district file).
- ``valid_from``/``valid_to``: the options, else the columns; without either, a unit is taken to
  be valid from 2008-08-01 (when Hanoi took its present extent; a note says so) and still valid.
- ``predecessors``: comma-separated codes of the units it was formed from.

Names are stored as in the file (NFC, with their prefix: "Quận Hoàn Kiếm"); codes read as numbers
get their leading zeros back. Units are upserted by (code, valid_from). Admin units are reference
data, not history: a changed name, level, kind, end date, parent, predecessors or boundary updates
the stored unit in place (the audit log keeps the old values); an unchanged unit is left alone, so
loading a file twice changes nothing. After the load, the current commune of every current parcel
is reassigned from the boundaries. One transaction, as for parcels.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Transformer
from sqlalchemy import Engine

from etl import crs as crsmod
from etl import fields, loading, read
from etl.loading import LoadOptions, Progress
from etl.polygons import Problems, check_geometries
from etl.report import LoadReport, shown, shown_names
from landdb import admin as admindb
from landdb import parcels as pdb
from landdb.models import CITY_SRID
from landflood.errors import DataError

log = logging.getLogger(__name__)

LEVELS = ("province", "district", "commune")
#: Digits of a GSO code per level.
CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}
#: Start of validity when neither the file nor --valid-from gives one.
DEFAULT_VALID_FROM = dt.date(2008, 8, 1)
#: Longest unit name ("Thị trấn Nông trường Mộc Châu" has 29 characters).
MAX_NAME_CHARS = 200

#: Field -> accepted column names (after norm_name); see etl.fields.
ADMIN_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("code", "ma", "madvhc", "madonvihanhchinh", "maso", "gsocode"),
    "commune_code": ("communecode", "wardcode", "maxa", "maphuongxa", "maxaphuong", "maphuong"),
    "district_code": ("districtcode", "mahuyen", "maquanhuyen"),
    "province_code": ("provincecode", "matinh", "matinhthanh"),
    "name": ("name", "ten", "tendvhc", "tendonvi", "tendonvihanhchinh", "tenxa", "tenphuongxa", "tenxaphuong",
             "tenphuong", "tenhuyen", "tenquanhuyen", "tenquan", "tentinh", "tentinhthanh"),
    "level": ("level", "cap", "capdvhc", "caphanhchinh"),
    "kind": ("kind", "loai", "loaidvhc", "loaihinh"),
    "parent_code": ("parentcode", "parent", "macaptren", "madvhccaptren"),
    "valid_from": ("validfrom", "hieuluctu", "tungay", "ngayhieuluc"),
    "valid_to": ("validto", "hieulucden", "denngay", "ngayhethieuluc"),
    "predecessors": ("predecessors", "predecessor", "matruoc", "dvhctruoc", "sapnhaptu"),
}

#: Name prefix (after norm_name, as words) -> kind. Longer prefixes first.
_PREFIXES = (
    (("thi", "xa"), "thi_xa"), (("thi", "tran"), "thi_tran"), (("thanh", "pho"), "thanh_pho"),
    (("dac", "khu"), "dac_khu"), (("phuong",), "phuong"), (("xa",), "xa"), (("quan",), "quan"),
    (("huyen",), "huyen"), (("tinh",), "tinh"),
)
_KIND_LEVELS = {"phuong": ("commune",), "xa": ("commune",), "thi_tran": ("commune",), "dac_khu": ("commune",),
                "quan": ("district",), "huyen": ("district",), "thi_xa": ("district",),
                "thanh_pho": ("province", "district"), "tinh": ("province",)}
_LEVEL_WORDS = {"province": "province", "tinh": "province", "captinh": "province",
                "district": "district", "huyen": "district", "caphuyen": "district", "quanhuyen": "district",
                "commune": "commune", "ward": "commune", "xa": "commune", "capxa": "commune", "phuongxa": "commune"}


@dataclass
class AdminOptions(LoadOptions):
    """Options of ``landflood etl admin`` (see its --help)."""

    level: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    repair: bool = False
    batch_size: int = 5_000


@dataclass(frozen=True)
class _Columns:
    """Which file column feeds which field, and the level its code column implies."""

    cols: dict[str, str]
    code_level: str | None  # the level of the code column (district_code → district), if specific

    def has(self, name: str) -> bool:
        return name in self.cols


def load_admin(engine: Engine, path: Path, opts: AdminOptions, progress: Progress | None = None) -> LoadReport:
    """Load the administrative units in ``path``; the report says what happened to every row."""
    report = LoadReport(source=str(path), kind="admin units", dry_run=opts.dry_run)
    return loading.timed(report, lambda: _load(engine, path, opts, report, progress or loading.no_progress))


def _load(engine: Engine, path: Path, opts: AdminOptions, report: LoadReport, progress: Progress) -> None:
    src = read.open_source(path, opts.layer)
    report.layer = src.layer
    columns = _resolve(src.fields, opts)
    first, batches = loading.first_batch(src, opts.batch_size)
    decode = read.text_decoder(src, loading.choose_encoding(src, first, opts.encoding, report))
    transformer = loading.choose_crs(src, opts.crs, report, lambda: _detect_crs(first))
    if opts.valid_from is None and not columns.has("valid_from"):
        report.warnings.append(f"no valid_from column nor --valid-from: units are taken to be valid from "
                               f"{DEFAULT_VALID_FROM} (when Hanoi took its present extent)")
    with loading.transaction(engine, opts.actor, report) as conn:
        admindb.stage_create(conn)
        for batch in batches:
            admindb.stage_copy(conn, _stage_rows(batch, columns, decode, transformer, opts, report))
            report.read += len(batch)
            progress(len(batch), src.count)
        admindb.stage_flag(conn)
        for row, key, reason in admindb.stage_rejects(conn):
            report.reject(row, key, reason)
        rejected_rows = {r.row for r in report.rejected}
        report.repaired = [r for r in report.repaired if r.row not in rejected_rows]
        loading.refuse_if_strict(opts.strict, report)
        counts, warnings = admindb.stage_merge(conn, parents=columns.has("parent_code"),
                                               successions=columns.has("predecessors"))
        report.warnings += warnings
        loading.count_loaded(report, counts)
        moved = pdb.assign_communes(conn)
        if moved:
            report.warnings.append(f"{moved:,} current parcel(s) got a new current commune")


def _resolve(columns: list[str], opts: AdminOptions) -> _Columns:
    """Map the file's columns to fields; the unit's code is the most specific code column."""
    cols = fields.resolve(columns, ADMIN_FIELDS, opts.mapping, ("name",))
    by_level = {lvl: cols.get(f"{lvl}_code") for lvl in LEVELS}
    code_level: str | None = None
    if "code" not in cols:
        wanted = [opts.level] if opts.level else list(reversed(LEVELS))
        found = next(((lvl, col) for lvl in wanted if (col := by_level[lvl])), None)
        if found is None:
            raise DataError(
                f"cannot find the column with the unit codes (looked for code, ma, ma_dvhc, "
                f"{opts.level or 'commune'}_code, ...); {fields.found_text(cols)}, among the file's "
                f'{shown_names(columns)}. Name it in a mapping file: --mapping FILE with a line code = "COLUMN"')
        code_level, cols["code"] = found
    own_level = code_level or opts.level
    if "parent_code" not in cols and own_level and own_level != "province":
        above = by_level[LEVELS[LEVELS.index(own_level) - 1]]
        if above and above != cols["code"]:
            cols["parent_code"] = above
    for lvl in LEVELS:
        cols.pop(f"{lvl}_code", None)
    log.info("columns: %s", cols)
    return _Columns(cols, code_level)


def _detect_crs(first: read.Batch) -> tuple[CRS, str]:
    """The CRS of a file without one, from its coordinates alone (boundaries carry no ward codes)."""
    geoms = first.geoms[~shapely.is_missing(first.geoms)][:2000]
    if len(geoms) == 0:
        raise DataError("the first records have no geometry to detect the CRS from; pass --crs")
    try:
        return crsmod.detect(shapely.get_coordinates(geoms)[::50], [], {})
    except crsmod.AmbiguousCRSError:
        raise DataError("the file has no CRS and its coordinates fit several CRSs used around Hanoi "
                        "(VN-2000 TM-3 105°00', TM-3 105°30', UTM 48N); pass --crs EPSG:<code>") from None


def _stage_rows(batch: read.Batch, columns: _Columns, decode: read.Decoder, transformer: Transformer | None,
                opts: AdminOptions, report: LoadReport) -> Iterator[tuple]:
    """Staging rows for one batch: values parsed, geometry in the city CRS, a problem or None."""
    moved = replace(batch, geoms=crsmod.transform(batch.geoms, transformer))
    problems = Problems(len(batch))
    geoms = check_geometries(moved, opts.repair, problems, report.repaired)
    hexes = shapely.to_wkb(shapely.set_srid(geoms, CITY_SRID), hex=True, include_srid=True)
    get = {f: batch.columns[c] for f, c in columns.cols.items()}
    for i, row_no in enumerate(batch.rows):
        values = {f: decode(v[i]) for f, v in get.items()}
        unit, problem = _unit(values, columns, opts)
        problem = problems.text[i] or problem
        yield (int(row_no), unit.get("code"), unit.get("name"), unit.get("level"), unit.get("kind"),
               unit.get("parent_code"), unit.get("valid_from"), unit.get("valid_to"), unit.get("predecessors"),
               None if problem else hexes[i], problem)


def _unit(values: dict, columns: _Columns, opts: AdminOptions) -> tuple[dict, str | None]:
    """The unit's fields from one record's values, and the first problem found (or None)."""
    name = _text(values.get("name"))
    raw_code = values.get("code")
    unit: dict = {"name": name}
    try:
        kind = _kind(values.get("kind")) if columns.has("kind") else kind_from_name(name)
        level = _level(values, columns, opts, kind, raw_code)
        unit.update(level=level, kind=kind)
        unit["code"] = _code(raw_code, level, "code")
        if not name:
            raise ValueError(f"unit {unit['code']} has no name")
        if len(name) > MAX_NAME_CHARS:
            raise ValueError(f"name {shown(name)} is longer than {MAX_NAME_CHARS} characters")
        if kind is None:
            raise ValueError(f"cannot tell the kind of {shown(name)} from its name: give a kind column "
                             "(phuong, xa, thi_tran, quan, huyen, thi_xa, ...) or names starting with Phường, Xã, ...")
        if level not in _KIND_LEVELS[kind]:
            raise ValueError(f"a {kind} is a {' or '.join(_KIND_LEVELS[kind])}, not a {level}")
        parent = values.get("parent_code")
        if parent not in (None, ""):
            unit["parent_code"] = _parent_code(parent, level)
        preds = values.get("predecessors")
        unit["predecessors"] = ",".join(_code(p, level, "predecessor code") for p in _split(preds)) or None
        unit["valid_from"] = opts.valid_from or _date(values.get("valid_from"), "valid_from") or DEFAULT_VALID_FROM
        unit["valid_to"] = opts.valid_to or _date(values.get("valid_to"), "valid_to")
        if unit["valid_to"] is not None and unit["valid_to"] <= unit["valid_from"]:
            raise ValueError(f"valid_to {unit['valid_to']} is not after valid_from {unit['valid_from']}")
    except ValueError as exc:
        return unit, str(exc)
    return unit, None


def _text(value: object) -> str | None:
    if value is None:
        return None
    s = re.sub(r"\s+", " ", unicodedata.normalize("NFC", str(value))).strip()
    return s or None


def kind_from_name(name: str | None) -> str | None:
    """The kind a Vietnamese unit name's prefix says: "Thị xã Sơn Tây" → "thi_xa"; None without one."""
    words = [read.norm_name(w) for w in (name or "").split()]
    for prefix, kind in _PREFIXES:
        if tuple(words[:len(prefix)]) == prefix and len(words) > len(prefix):
            return kind
    return None


def _kind(value: object) -> str | None:
    if value in (None, ""):
        return None
    word = read.norm_name(str(value))
    for prefix, kind in _PREFIXES:
        if word == "".join(prefix) or word == kind.replace("_", ""):
            return kind
    raise ValueError(f"unknown kind {shown(value)}: use one of {', '.join(_KIND_LEVELS)}")


def _level(values: dict, columns: _Columns, opts: AdminOptions, kind: str | None, code: object) -> str:
    if opts.level:
        return opts.level
    if columns.has("level") and values.get("level") not in (None, ""):
        level = _LEVEL_WORDS.get(read.norm_name(str(values["level"])))
        if level is None:
            raise ValueError(f"unknown level {shown(values['level'])}: use province, district or commune")
        return level
    if columns.code_level:
        return columns.code_level
    if kind is not None and len(_KIND_LEVELS[kind]) == 1:
        return _KIND_LEVELS[kind][0]
    digits = str(code or "").strip()
    by_width = {w: lvl for lvl, w in CODE_WIDTH.items()}
    if isinstance(code, str) and digits.isdigit() and len(digits) in by_width:
        return by_width[len(digits)]
    raise ValueError("cannot tell the unit's level: pass --level province|district|commune or give a level column")


def _code(value: object, level: str, what: str) -> str:
    """A GSO code as text; numbers (and short digit strings) get the level's leading zeros back."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    s = str(value).strip() if value is not None else ""
    if not s.isdigit() or not 2 <= len(s.zfill(CODE_WIDTH[level])) <= 5:
        raise ValueError(f"{what} {shown(value)} is not a GSO code (2 to 5 digits)")
    return s.zfill(CODE_WIDTH[level])


def _parent_code(value: object, level: str) -> str:
    """A parent's code as given; a number gets the leading zeros of the level above."""
    if isinstance(value, (int, float)):
        return _code(value, LEVELS[max(LEVELS.index(level) - 1, 0)], "parent code")
    s = str(value).strip()
    if not (s.isdigit() and 2 <= len(s) <= 5):
        raise ValueError(f"parent code {shown(value)} is not a GSO code (2 to 5 digits)")
    return s


def _split(value: object) -> list:
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [v for v in value if v not in (None, "")]
    return [p for p in re.split(r"[,;\s]+", str(value)) if p]


def _date(value: object, what: str) -> dt.date | None:
    """A date from a date value or text (2025-07-01, 01/07/2025); None when blank."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(s[:10], fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{what} {shown(value)} is not a date (write it as YYYY-MM-DD)")
