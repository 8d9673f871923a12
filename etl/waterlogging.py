"""Load waterlogging hotspots (điểm úng ngập) and flood events from CSV, GeoJSON or GeoPackage.

A file holds hotspots (code, name, street, district and a position, and what a published list
gives of each: the deepest flooding and the rain that floods it), flood events (the hotspot,
when the flooding started, how long it lasted, how deep it got, how much rain caused it), or
both: a hotspot file whose rows also carry event columns. Which one is decided from the columns
found, and the report's ``kind`` says it. Depth and rain describe the events in a file of events,
the hotspots otherwise.

A hotspot is identified by its code. Lists of the drainage company and the press have none (their
STT only numbers the rows of one edition): a row without a code is identified by its name and
district, as the database's ``landflood_name_key`` folds them (``hoan-kiem:pho-hue-hang-bai``),
and a new hotspot gets that key as code. A later file with real codes takes such a hotspot over
by the same key. Rows are staged with COPY and checked and merged set-based in one transaction,
like parcels (see ``etl.parcels``): hotspots are upserted by code, events by (hotspot, start
time), so loading the same file twice, or re-ordered, changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pyproj import Transformer
from sqlalchemy import Engine

from etl import fields, loading, points, read
from etl.loading import LoadOptions, Progress
from etl.report import LoadReport, clip, shown, shown_names
from landdb import waterlogging as wdb
from landflood.errors import DataError

#: Field -> accepted column names (after read.norm_name, without a unit: see UNITS), Vietnamese and English.
WATERLOGGING_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("madiem", "code", "pointcode", "madiemngap", "madiemung", "pointid", "hotspot", "ma"),
    "name": ("tendiem", "name", "ten", "tendiemngap", "diemngap", "vitringap", "diemungngap", "tenvitri",
             "vitri", "diadiem", "pointname"),
    "street": ("duong", "pho", "street", "tenduong", "duongpho", "tuyenduong", "tuyenpho", "road"),
    "district": ("quan", "district", "quanhuyen", "huyen", "tenquan", "diaban"),
    "description": ("mota", "ghichu", "description", "note", "notes"),
    "date": ("ngay", "date", "ngayngap", "ngayxayra"),
    "started_at": ("thoigianbatdau", "startedat", "batdau", "start", "starttime", "thoigian", "time", "datetime",
                   "giobatdau", "gio", "thoidiem"),
    "duration": ("thoigianngap", "duration", "thoigianrutnuoc", "thoigianrut", "thoigiantieuthoat",
                 "thoigianungngap", "sophutngap", "sogiongap"),
    "max_depth": ("dosau", "dosaulonnhat", "dosaungap", "dosaungaplonnhat", "saungap", "dosaumax", "maxdepth",
                  "depth"),
    "rain_mm": ("luongmua", "luongmuagayngap", "luongmuagayungngap", "muagayngap", "nguongmua", "mua", "rain",
                "triggerrain"),
}
#: Units a header may name ("Độ sâu (cm)", "do_sau_cm", "Thời gian rút nước (giờ)"), or a value may
#: carry ("40 cm", "2 giờ"), and the factor to the stored unit (m, minutes, mm).
DEPTH_UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
DURATION_UNITS = {"phut": 1.0, "min": 1.0, "minutes": 1.0, "gio": 60.0, "h": 60.0, "hours": 60.0, "tieng": 60.0}
RAIN_UNITS = {"mm": 1.0}
UNITS = {"max_depth": DEPTH_UNITS, "duration": DURATION_UNITS, "rain_mm": RAIN_UNITS}
EVENT_FIELDS = ("started_at", "duration", "max_depth", "rain_mm")

#: Bounds of an event's values; beyond them a row is rejected. The depth bound is the database's.
MAX_DEPTH_M = 5.0
MAX_DURATION_MIN = 30 * 24 * 60
MAX_EVENT_RAIN_MM = 1000.0

# A value with its own unit ("40 cm", "0,5m", "90 phút", "30'"), and a duration as hours and minutes.
_WITH_UNIT = re.compile(r"^([-+]?\d[\d.,\s]*?)\s*([^\W\d_]+|')$")
_HOURS_MINUTES = re.compile(r"^(\d{1,3})\s*(?:h|g|giờ|:)\s*(\d{1,2})\s*(?:phút|p|')?$", re.IGNORECASE)


@dataclass
class WaterloggingOptions(LoadOptions):
    """Options of ``landflood etl waterlogging`` (see its --help)."""


@dataclass
class WaterloggingReport(LoadReport):
    """A LoadReport whose counts are split by table; ``loaded`` counts rows."""

    points: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)


@dataclass
class _Layout:
    """What the file holds, and how its columns are read."""

    cols: dict[str, str]
    has_points: bool
    has_events: bool  # depth and rain then describe the events, else the hotspots
    depth_scale: float = 1.0  # to metres
    depth_unit_named: bool = False  # by the header
    duration_scale: float = 1.0  # to minutes

    @property
    def kind(self) -> str:
        return {(True, False): "hotspots", (False, True): "flood events"}.get(
            (self.has_points, self.has_events), "hotspots and flood events")

    def point_columns(self) -> list[str]:
        """The columns of waterlogging_points the file gives (wdb.POINT_COLUMNS)."""
        given = {"name": "name", "street": "street", "district": "district", "description": "description"}
        if not self.has_events:
            given.update(max_depth="max_depth_m", rain_mm="trigger_rain_mm")
        return [column for f, column in given.items() if f in self.cols]

    def event_columns(self) -> list[str]:
        """The columns of flood_events the file gives (wdb.EVENT_COLUMNS)."""
        given = {"duration": "duration_min", "max_depth": "max_depth_m", "rain_mm": "rain_mm"}
        return [column for f, column in given.items() if f in self.cols]


def load_waterlogging(engine: Engine, path: Path, opts: WaterloggingOptions,
                      progress: Progress | None = None) -> WaterloggingReport:
    """Load the hotspots and/or flood events in ``path``; the report says what happened to every row."""
    report = WaterloggingReport(source=str(path), kind="waterlogging", dry_run=opts.dry_run)
    return loading.timed(report, lambda: _load(engine, path, opts, report, progress or loading.no_progress))


def _load(engine: Engine, path: Path, opts: WaterloggingOptions, report: WaterloggingReport,
          progress: Progress) -> None:
    src = read.open_source(path, opts.layer, geometry_required=False)
    report.layer = src.layer
    first, batches = loading.first_batch(src, opts.batch_size, "rows")
    layout = _layout(src.fields, points.has_geometry(first), opts.mapping)
    report.kind = layout.kind
    decode = read.text_decoder(src, loading.choose_encoding(src, first, opts.encoding, report))
    transformer = points.choose_crs(src, first, opts.crs, report) if layout.has_points else None
    with loading.transaction(engine, opts.actor, report) as conn:
        wdb.stage_create(conn)
        points.stage_batches(conn, batches, wdb.stage_copy,
                             lambda batch, assumed: _stage_rows(batch, layout, decode, transformer, assumed),
                             report, progress, src.count)
        wdb.stage_identify(conn)
        wdb.stage_flag(conn, layout.has_events)
        for row, key, reason in wdb.stage_rejects(conn):
            report.reject(row, key, reason)
        loading.refuse_if_strict(opts.strict, report)
        report.loaded = wdb.stage_loaded_rows(conn)
        if layout.has_points:
            report.points = wdb.stage_merge_points(conn, layout.point_columns())
            report.warnings += _code_notes(*wdb.stage_code_notes(conn))
        if layout.has_events:
            report.events = wdb.stage_merge_events(conn, layout.event_columns())
        for action in ("inserted", "updated", "unchanged"):
            setattr(report, action, report.points.get(action, 0) + report.events.get(action, 0))


def _code_notes(derived: int, example: str | None, taken_over: int) -> list[str]:
    """The report's notes on hotspots known by name and district rather than by a code."""
    notes = []
    if derived:
        notes.append(f"{derived:,} hotspot(s) have no code in the file: each is matched by its name and district"
                     + (f", which is also the code of those never given one (such as {example})" if example else ""))
    if taken_over:
        notes.append(f"{taken_over:,} hotspot(s) known until now by name and district got their code from this file")
    return notes


def _layout(columns: list[str], has_geometry: bool, mapping: dict[str, str]) -> _Layout:
    """Decide from the columns whether the file holds hotspots, events or both, and in which units."""
    cols = fields.resolve(columns, WATERLOGGING_FIELDS, mapping, (), UNITS)
    has_points = has_geometry and "name" in cols
    has_events = ("started_at" in cols or "date" in cols) and ("code" in cols or "name" in cols)
    if not (has_points or has_events):
        position = "a position" if has_geometry else "no position"
        raise DataError(
            "found neither hotspots nor flood events: hotspots need a name (ten_diem, name) and a position "
            "(kinh_do/vi_do, lon/lat or WKT); events need a start time (thoi_gian_bat_dau, started_at, or ngay "
            f"and thoi_gian) and the hotspot's code (ma_diem, code) or name. The file has {position} and "
            f"the columns {shown_names(columns)}: {fields.found_text(cols)}. Name the others in a mapping "
            'file: --mapping FILE with lines like name = "COLUMN"'
        )
    depth_unit, duration_unit = _unit(cols, "max_depth"), _unit(cols, "duration")
    return _Layout(cols=cols, has_points=has_points, has_events=has_events,
                   depth_scale=DEPTH_UNITS[depth_unit or "m"], depth_unit_named=depth_unit is not None,
                   duration_scale=DURATION_UNITS[duration_unit or "phut"])


def _unit(cols: dict[str, str], field_name: str) -> str | None:
    """The unit the header of a field's column names, if any."""
    if field_name not in cols:
        return None
    if read.norm_name(cols[field_name]) == "sogiongap":  # "số giờ ngập": hours
        return "gio"
    return fields.column_unit(cols[field_name], WATERLOGGING_FIELDS[field_name], UNITS[field_name])


def _stage_rows(batch: read.Batch, layout: _Layout, decode: read.Decoder, transformer: Transformer | None,
                assumed: list[int]) -> Iterator[tuple]:
    """Staging tuples (wdb.STAGE_COLUMNS) for a batch; ``assumed`` counts times without a timezone."""
    geoms: list[str | None] = [None] * len(batch)
    geom_problems: list[str | None] = [None] * len(batch)
    if layout.has_points:
        geoms, geom_problems = points.city_points(batch, transformer)
    get = {f: batch.columns[c] for f, c in layout.cols.items()}
    for i, row_no in enumerate(batch.rows):
        values = {f: decode(v[i]) for f, v in get.items()}
        texts = tuple(points.text_value(values.get(f)) for f in ("name", "street", "district", "description"))
        if points.text_value(values.get("code")) is None:  # known by its name and district instead
            derived, code, problem = True, None, (None if texts[0] else "no hotspot code nor name")
        else:
            derived, (code, problem) = False, points.code_value(values["code"], "hotspot code")
        # In a file of hotspots with events, a row without name and position is just an event.
        has_point = layout.has_points and not (layout.has_events and texts == (None,) * 4
                                               and geoms[i] is None and geom_problems[i] is None)
        if has_point and texts[0] is None:
            problem = problem or "missing hotspot name"
        elif has_point and geoms[i] is None:
            problem = problem or geom_problems[i] or "no position (lon/lat or WKT)"
        has_event, event, event_problem = _event(values, layout, assumed)
        spot, spot_problem = ((None, None), None) if layout.has_events else _measures(values, layout)
        problem = problem or event_problem or spot_problem
        if not (has_point or has_event):
            problem = problem or "neither a hotspot (name and position) nor an event (start time)"
        yield (int(row_no), code, derived, *texts, *spot, None if problem else geoms[i], *event, has_point,
               has_event, problem)


def _event(values: dict, layout: _Layout, assumed: list[int]) -> tuple[bool, tuple, str | None]:
    """(whether the row carries an event, (started_at, duration_min, max_depth_m, rain_mm), problem)."""
    if not layout.has_events:
        return False, (None,) * 4, None
    given = {f for f in ("date", *EVENT_FIELDS) if points.text_value(values.get(f)) is not None}
    if not given & {"date", "started_at"}:
        if layout.has_points and not given:
            return False, (None,) * 4, None  # a hotspot row without an event
        return True, (None,) * 4, "missing start time"
    try:
        started, was_assumed = points.parse_day_time(values.get("date"), values.get("started_at"))
    except ValueError:
        cells = " ".join(str(values[f]) for f in ("date", "started_at") if f in given)
        return True, (None,) * 4, (f"start time {shown(cells)} is not a date and time "
                                   "(write 2024-07-20T14:30+07:00 or 20/07/2024 14:30)")
    assumed[0] += was_assumed
    if started > dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
        return True, (started, None, None, None), f"start time {started.isoformat()} is in the future"
    (depth, rain), problem = _measures(values, layout)
    try:
        duration = _number(values.get("duration"), "duration", layout.duration_scale, 0, MAX_DURATION_MIN,
                           open_low=True)
    except ValueError as exc:
        problem = problem or str(exc)
    if problem:
        return True, (started, None, None, None), problem
    return True, (started, None if duration is None else round(duration), depth, rain), None


def _measures(values: dict, layout: _Layout) -> tuple[tuple[float | None, float | None], str | None]:
    """((depth in m, rain in mm), None) of a row, or ((None, None), why they cannot be read)."""
    try:
        depth = _number(values.get("max_depth"), "depth", layout.depth_scale, 0, MAX_DEPTH_M,
                        hint="" if layout.depth_unit_named else _CENTIMETRES)
        rain = _number(values.get("rain_mm"), "rain", 1.0, 0, MAX_EVENT_RAIN_MM)
    except ValueError as exc:
        return (None, None), str(exc)
    return (None if depth is None else round(depth, 2), None if rain is None else round(rain, 1)), None


_WHAT = {"depth": ("max_depth", "m"), "duration": ("duration", "min"), "rain": ("rain_mm", "mm")}
_CENTIMETRES = " (a depth in centimetres needs the unit in the header: Độ sâu (cm))"


def _number(value: object, what: str, scale: float, low: float, high: float, open_low: bool = False,
            hint: str = "") -> float | None:
    """A number in [low, high] ((low, high] with ``open_low``) in the stored unit, scaled by the header's
    unit or by the value's own ("40 cm", "2 giờ", "1h30"); ValueError says why not (out of range: with
    ``hint`` unless the value named its unit)."""
    cell = points.text_value(value)
    if cell is None:
        return None
    field_name, unit = _WHAT[what]
    units = UNITS[field_name]
    hours_minutes = _HOURS_MINUTES.match(cell) if field_name == "duration" else None
    own = None if hours_minutes else _WITH_UNIT.match(cell)
    try:
        if hours_minutes:
            number, factor = float(int(hours_minutes[1]) * 60 + int(hours_minutes[2])), 1.0
        elif own:
            written = "phut" if own[2] == "'" else read.norm_name(own[2])
            if written not in units:
                raise ValueError(f"{what} {shown(cell)} is not in {', '.join(units)}")
            number, factor = read.parse_number(own[1]) or 0.0, units[written]
        else:
            number, factor = read.parse_number(cell) or 0.0, scale
    except DataError:
        raise ValueError(f"{what} {shown(cell)} is not a number") from None
    scaled = number * factor
    converted = factor != 1 or hours_minutes or own
    as_read = f"{scaled:g} {unit}" + (f" ({clip(cell)} in the file)" if converted else "")
    if open_low and scaled <= low:
        raise ValueError(f"{what} {as_read} is not positive")
    if not low <= scaled <= high:
        raise ValueError(f"{what} {as_read} is outside {low:g}-{high:g} {unit}{'' if own else hint}")
    return scaled
