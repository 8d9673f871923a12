"""Load waterlogging hotspots (điểm úng ngập) and flood events from CSV, GeoJSON or GeoPackage.

A file holds hotspots (code, name, street, district and a position), flood events (the hotspot's
code, when the flooding started, how long it lasted, how deep it got, how much rain caused it),
or both: a hotspot file whose rows also carry event columns. Which one is decided from the
columns found, and the report's ``kind`` says it. Rows are staged with COPY and checked and
merged set-based in one transaction, like parcels (see ``etl.parcels``): hotspots are upserted
by code, events by (hotspot, start time), so loading the same file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from etl import fields, loading, points, read
from etl.loading import Progress
from etl.report import LoadReport, clip, shown, shown_names
from landdb import waterlogging as wdb
from landflood.errors import DataError

#: Field -> accepted column names (after read.norm_name), Vietnamese and English.
WATERLOGGING_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("madiem", "code", "pointcode", "madiemngap", "madiemung", "pointid", "hotspot", "ma"),
    "name": ("tendiem", "name", "ten", "tendiemngap", "diemngap", "vitringap", "pointname"),
    "street": ("duong", "pho", "street", "tenduong", "duongpho", "road"),
    "district": ("quan", "district", "quanhuyen", "huyen", "tenquan"),
    "description": ("mota", "ghichu", "description", "note", "notes"),
    "started_at": ("thoigianbatdau", "startedat", "batdau", "start", "starttime", "thoigian", "time", "datetime"),
    "duration": ("thoigianngapphut", "durationmin", "thoigianngap", "duration", "sophutngap",
                 "thoigianngapgio", "durationh", "durationhours", "sogiongap"),
    "max_depth": ("dosaum", "maxdepthm", "saungap", "dosau", "dosaungap", "maxdepth", "depth", "depthm",
                  "dosaucm", "saungapcm", "dosaungapcm", "maxdepthcm", "depthcm"),
    "rain_mm": ("luongmua", "rainmm", "muamm", "luongmuamm", "mua", "rain"),
}
EVENT_FIELDS = ("started_at", "duration", "max_depth", "rain_mm")

#: Bounds of an event's values; beyond them a row is rejected. The depth bound is the database's.
MAX_DEPTH_M = 5.0
MAX_DURATION_MIN = 30 * 24 * 60
MAX_EVENT_RAIN_MM = 1000.0


@dataclass
class WaterloggingOptions:
    """Options of ``landflood etl waterlogging`` (see its --help)."""

    layer: str | None = None
    crs: str | None = None
    encoding: str = "auto"
    strict: bool = False
    dry_run: bool = False
    batch_size: int = 50_000
    actor: str = "etl"


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
    has_events: bool
    depth_scale: float = 1.0  # to metres
    duration_scale: float = 1.0  # to minutes

    @property
    def kind(self) -> str:
        return {(True, False): "hotspots", (False, True): "flood events"}.get(
            (self.has_points, self.has_events), "hotspots and flood events")


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
    layout = _layout(src.fields, points.has_geometry(first))
    report.kind = layout.kind
    decode = read.text_decoder(src, loading.choose_encoding(src, first, opts.encoding, report))
    transformer = points.choose_crs(src, first, opts.crs, report) if layout.has_points else None
    with loading.transaction(engine, opts.actor, report) as conn:
        wdb.stage_create(conn)
        points.stage_batches(conn, batches, wdb.stage_copy,
                             lambda batch, assumed: _stage_rows(batch, layout, decode, transformer, assumed),
                             report, progress, src.count)
        wdb.stage_flag(conn, layout.has_events)
        for row, key, reason in wdb.stage_rejects(conn):
            report.reject(row, key, reason)
        loading.refuse_if_strict(opts.strict, report)
        report.loaded = wdb.stage_loaded_rows(conn)
        if layout.has_points:
            report.points = wdb.stage_merge_points(conn, [f for f in wdb.POINT_COLUMNS if f in layout.cols])
        if layout.has_events:
            present = {"duration": "duration_min", "max_depth": "max_depth_m", "rain_mm": "rain_mm"}
            report.events = wdb.stage_merge_events(conn, [c for f, c in present.items() if f in layout.cols])
        for action in ("inserted", "updated", "unchanged"):
            setattr(report, action, report.points.get(action, 0) + report.events.get(action, 0))


def _layout(columns: list[str], has_geometry: bool) -> _Layout:
    """Decide from the columns whether the file holds hotspots, events or both."""
    cols = fields.resolve(columns, WATERLOGGING_FIELDS, {}, ("code",))
    has_points = has_geometry and "name" in cols
    has_events = "started_at" in cols
    if not (has_points or has_events):
        missing = ("a name column (ten_diem, name)" if has_geometry
                   else "coordinates (lon/lat, kinh_do/vi_do or WKT)")
        raise DataError(
            f"found neither hotspots nor flood events: hotspots need a code, a name and a position, and this "
            f"file lacks {missing}; events need a code and a start time (thoi_gian_bat_dau, started_at). "
            f"The file has the columns {shown_names(columns)}"
        )
    depth_col = read.norm_name(cols.get("max_depth", ""))
    duration_col = read.norm_name(cols.get("duration", ""))
    return _Layout(
        cols=cols, has_points=has_points, has_events=has_events,
        depth_scale=0.01 if "cm" in depth_col else 0.001 if "mm" in depth_col else 1.0,
        duration_scale=60.0 if "gio" in duration_col or "hour" in duration_col or duration_col.endswith("h") else 1.0,
    )


def _stage_rows(batch: read.Batch, layout: _Layout, decode, transformer, assumed: list[int]) -> Iterator[tuple]:
    """Staging tuples (wdb.STAGE_COLUMNS) for a batch; ``assumed`` counts times without a timezone."""
    geoms, geom_problems = ([None] * len(batch), None)
    if layout.has_points:
        geoms, geom_problems = points.city_points(batch, transformer)
    get = {f: batch.columns[c] for f, c in layout.cols.items()}
    for i, row_no in enumerate(batch.rows):
        values = {f: decode(v[i]) for f, v in get.items()}
        code, problem = points.code_value(values["code"], "hotspot code")
        point = tuple(points.text_value(values.get(f)) for f in wdb.POINT_COLUMNS) if layout.has_points else (None,) * 4
        # In a file of hotspots with events, a row without name and position is just an event.
        has_point = layout.has_points and not (layout.has_events and point == (None,) * 4
                                               and geoms[i] is None and geom_problems[i] is None)
        if has_point and point[0] is None:
            problem = problem or "missing hotspot name"
        elif has_point and geoms[i] is None:
            problem = problem or geom_problems[i] or "no position (lon/lat or WKT)"
        has_event, event, event_problem = _event(values, layout, assumed)
        problem = problem or event_problem
        if not (has_point or has_event):
            problem = problem or "neither a hotspot (name and position) nor an event (start time)"
        yield (int(row_no), code, *point, None if problem else geoms[i], *event, has_point, has_event, problem)


def _event(values: dict, layout: _Layout, assumed: list[int]) -> tuple[bool, tuple, str | None]:
    """(whether the row carries an event, (started_at, duration_min, max_depth_m, rain_mm), problem)."""
    if not layout.has_events:
        return False, (None,) * 4, None
    raw = {f: values.get(f) for f in EVENT_FIELDS}
    given = {f: v for f, v in raw.items() if points.text_value(v) is not None}
    if "started_at" not in given:
        if layout.has_points and not given:
            return False, (None,) * 4, None  # a hotspot row without an event
        return True, (None,) * 4, "missing start time"
    try:
        started, was_assumed = points.parse_time(raw["started_at"])
    except ValueError:
        return True, (None,) * 4, (f"start time {shown(raw['started_at'])} is not a date and time "
                                   "(write 2024-07-20T14:30+07:00 or 20/07/2024 14:30)")
    assumed[0] += was_assumed
    if started > dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
        return True, (started, None, None, None), f"start time {started.isoformat()} is in the future"
    try:
        duration = _number(raw["duration"], "duration", layout.duration_scale, 0, MAX_DURATION_MIN, open_low=True)
        depth = _number(raw["max_depth"], "depth", layout.depth_scale, 0, MAX_DEPTH_M)
        rain = _number(raw["rain_mm"], "rain", 1.0, 0, MAX_EVENT_RAIN_MM)
    except ValueError as exc:
        return True, (started, None, None, None), str(exc)
    return True, (started, None if duration is None else round(duration),
                  None if depth is None else round(depth, 2), None if rain is None else round(rain, 1)), None


def _number(value, what: str, scale: float, low: float, high: float, open_low: bool = False) -> float | None:
    """A number in [low, high] ((low, high] with ``open_low``) after scaling; ValueError says why not."""
    try:
        number = read.parse_number(value)
    except DataError:
        raise ValueError(f"{what} {shown(value)} is not a number") from None
    if number is None:
        return None
    scaled = number * scale
    unit = {"duration": "min", "depth": "m", "rain": "mm"}[what]
    as_read = f"{scaled:g} {unit}" + (f" ({clip(str(value))} in the file)" if scale != 1 else "")
    if open_low and scaled <= low:
        raise ValueError(f"{what} {as_read} is not positive")
    if not low <= scaled <= high:
        raise ValueError(f"{what} {as_read} is outside {low:g}-{high:g} {unit}")
    return scaled
