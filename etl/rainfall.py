"""Load rain-gauge time series (station id, name, position, time, mm) from CSV, GeoJSON or GeoPackage.

Real gauge tables hold missing-value codes, negative numbers, repeated rows and impossible
values (thousands of mm in a day) next to genuine typhoon peaks (about 300 mm/day, 80-100 mm/h
for a few hours over several stations). Every row is checked, and one that fails a check is
rejected with its row number, "station time" key and reason; the checks run in this order and
each sees only the rows the earlier ones kept:

1. per row: a station id, a time (ISO 8601 with an offset; without one Hanoi time, +07:00, is
   assumed and the report says so), a number that is not a missing-value code (``SENTINELS``,
   or text such as NA) and not negative, and a position inside Hanoi when one is given;
2. duplicates: a later row for the same (station, time) is rejected, the first kept;
3. position: a station keeps one position; rows more than ``POSITION_TOLERANCE_M`` from its
   first position in the file, or from the gauge's stored position, are rejected, and so are
   the rows of a new station that has no position at all;
4. interval: ``--interval-min``, else the most common spacing of the station's consecutive
   times in the file (else of its stored observations, else of the whole file), at most
   ``MAX_INTERVAL_MIN``;
5. impossible reading: more than ``MAX_MM_PER_HOUR`` per hour the reading covers (at least
   one), or more than ``MAX_MM_PER_DAY`` per day it covers (at least one): 250 mm in an hour,
   or 2,870 mm in a daily reading;
6. spike: with rates in mm/h (value x 60 / interval), a value is a spike when it is above
   ``SPIKE_MIN_MM_PER_HOUR``, its adjacent observations of the same station (exactly one
   interval before and after; at least one of them present) are all below
   ``SPIKE_NEIGHBOUR_MAX_MM_PER_HOUR``, at least ``SPIKE_MIN_OTHER_STATIONS`` other stations
   reported at the same time and the value is more than ``SPIKE_RATIO_TO_OTHERS`` times their
   median. An isolated value without enough other stations to compare with is kept, with a warning;
7. impossible day: when a station's total for one local calendar day (the day a reading's
   interval starts in; a daily value's own date) exceeds ``MAX_MM_PER_DAY``, every reading of
   that station and day is rejected.

Gaps (missing observations between a station's first and last time) are not errors: the report
warns with their count per station. Gauges are created the first time a station is seen;
observations are upserted by (gauge, time), so loading the same file twice changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pyproj import Transformer
from sqlalchemy import Connection, Engine

from etl import fields, loading, points, read
from etl.loading import LoadOptions, Progress
from etl.report import LoadReport, clip, shown
from landdb import rainfall_load as rdb
from landflood.errors import DataError

#: Numbers gauge tables use for "no reading".
SENTINELS = frozenset({-99.0, -99.9, -999.0, -999.9, -9999.0, -9999.9, 999.0, 999.9, 9999.0, 9999.9, 99999.0})
#: Text meaning "no reading" (after read.norm_name).
MISSING_TEXT = frozenset({"na", "nan", "null", "none", "nodata", "missing", "kxd", "khongxacdinh", "x"})
MAX_MM_PER_HOUR = 200.0
MAX_MM_PER_DAY = 500.0
SPIKE_MIN_MM_PER_HOUR = 100.0
SPIKE_NEIGHBOUR_MAX_MM_PER_HOUR = 5.0
SPIKE_RATIO_TO_OTHERS = 10.0
SPIKE_MIN_OTHER_STATIONS = 2
POSITION_TOLERANCE_M = 10.0
MAX_INTERVAL_MIN = 1440

LIMITS = rdb.Limits(
    max_mm_per_hour=MAX_MM_PER_HOUR, max_mm_per_day=MAX_MM_PER_DAY, spike_min_mm_per_hour=SPIKE_MIN_MM_PER_HOUR,
    spike_neighbour_max_mm_per_hour=SPIKE_NEIGHBOUR_MAX_MM_PER_HOUR, spike_ratio_to_others=SPIKE_RATIO_TO_OTHERS,
    spike_min_other_stations=SPIKE_MIN_OTHER_STATIONS,
)

#: Field -> accepted column names (after read.norm_name), Vietnamese and English.
RAINFALL_FIELDS: dict[str, tuple[str, ...]] = {
    "station_id": ("stationid", "matram", "code", "station", "stationcode", "matramdo", "sohieutram", "kyhieutram",
                   "tram", "tramdo", "id"),
    "station_name": ("stationname", "tentram", "name", "tentramdo", "ten"),
    "date": ("ngay", "date", "ngaydo", "ngayquantrac"),
    "time": ("time", "thoigian", "datetime", "observedat", "ngaygio", "timestamp", "thoidiem", "gio", "giodo",
             "hour"),
    "rain_mm": ("rain", "luongmua", "mua", "value", "tongluongmua", "precipitation"),
}
#: Rain is in mm: a header may say so ("Lượng mưa (mm)", "rain_mm"), but no other unit.
RAIN_UNITS = {"mm": 1.0}


@dataclass
class RainfallOptions(LoadOptions):
    """Options of ``landflood etl rainfall`` (see its --help)."""

    interval_min: int | None = None


@dataclass
class RainfallReport(LoadReport):
    """A LoadReport with the gauges created, each station's interval and its gaps."""

    stations_created: int = 0
    intervals: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, int] = field(default_factory=dict)


def load_rainfall(engine: Engine, path: Path, opts: RainfallOptions,
                  progress: Progress | None = None) -> RainfallReport:
    """Load the rain observations in ``path``; the report says what happened to every row."""
    report = RainfallReport(source=str(path), kind="rainfall", dry_run=opts.dry_run)
    return loading.timed(report, lambda: _load(engine, path, opts, report, progress or loading.no_progress))


def _load(engine: Engine, path: Path, opts: RainfallOptions, report: RainfallReport, progress: Progress) -> None:
    if opts.interval_min is not None and not 0 < opts.interval_min <= MAX_INTERVAL_MIN:
        raise DataError(f"--interval-min must be from 1 to {MAX_INTERVAL_MIN} minutes")
    src = read.open_source(path, opts.layer, geometry_required=False)
    report.layer = src.layer
    cols = fields.resolve(src.fields, RAINFALL_FIELDS, opts.mapping, ("station_id", ("time", "date"), "rain_mm"),
                          {"rain_mm": RAIN_UNITS})
    fields.column_unit(cols["rain_mm"], RAINFALL_FIELDS["rain_mm"], RAIN_UNITS)  # refuses "(inch)", "(mm/h)"
    first, batches = loading.first_batch(src, opts.batch_size, "rows")
    decode = read.text_decoder(src, loading.choose_encoding(src, first, opts.encoding, report))
    transformer = points.choose_crs(src, first, opts.crs, report) if points.has_geometry(first) else None
    with loading.transaction(engine, opts.actor, report) as conn:
        rdb.stage_create(conn)
        points.stage_batches(conn, batches, rdb.stage_copy,
                             lambda batch, assumed: _stage_rows(batch, cols, decode, transformer, assumed),
                             report, progress, src.count)
        _check(conn, opts, report)
        loading.refuse_if_strict(opts.strict, report)
        report.stations_created, counts = rdb.stage_merge(conn)
        loading.count_loaded(report, counts)


def _check(conn: Connection, opts: RainfallOptions, report: RainfallReport) -> None:
    """Run the set-based checks 2-7 and note rejects, intervals, gaps and warnings in ``report``."""
    rdb.stage_flag_stations(conn, POSITION_TOLERANCE_M)
    report.intervals = rdb.stage_intervals(conn, opts.interval_min, MAX_INTERVAL_MIN)
    report.warnings += rdb.stage_flag_values(conn, LIMITS)
    gaps = rdb.stage_gaps(conn)
    report.gaps = {station: missing for station, (missing, _, _) in gaps.items()}
    report.warnings += _gap_warnings(gaps, report.intervals)
    for row, key, reason in rdb.stage_rejects(conn):
        report.reject(row, key, reason)


def _gap_warnings(gaps: dict[str, tuple[int, int, int]], intervals: dict[str, int]) -> list[str]:
    """One warning per distinct (missing, gaps, longest, interval), naming its stations."""
    groups: dict[tuple[int, int, int, int], list[str]] = {}
    for station, stats in gaps.items():
        groups.setdefault((*stats, intervals[station]), []).append(station)
    warnings = []
    for (missing, count, longest, interval), stations in groups.items():
        who = (f"station {stations[0]}" if len(stations) == 1 else
               f"{len(stations)} stations ({', '.join(stations[:4])}{', …' if len(stations) > 4 else ''}) each")
        warnings.append(f"{who}: {missing:,} missing observation(s) in {count:,} gap(s), the longest "
                        f"{_duration(longest * interval)} (gaps are not errors)")
    return warnings


def _duration(minutes: int) -> str:
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "min")) if n) or "0 min"


def _stage_rows(batch: read.Batch, cols: dict[str, str], decode: read.Decoder, transformer: Transformer | None,
                assumed: list[int]) -> Iterator[tuple]:
    """Staging tuples (rdb.STAGE_COLUMNS) for a batch; ``assumed`` counts times without a timezone."""
    geoms, geom_problems = points.city_points(batch, transformer)
    get = {f: batch.columns[c] for f, c in cols.items()}
    for i, row_no in enumerate(batch.rows):
        values = {f: decode(v[i]) for f, v in get.items()}
        station, problem = points.code_value(values["station_id"], "station id")
        observed = None
        try:
            observed, was_assumed = points.parse_day_time(values.get("date"), values.get("time"))
            assumed[0] += was_assumed
        except ValueError:
            cells = " ".join(str(values[f]) for f in ("date", "time") if points.text_value(values.get(f)))
            problem = problem or (f"time {shown(cells)} is not a date and time "
                                  "(write 2024-07-20T14:00+07:00 or 20/07/2024 14:00)")
        rain, rain_problem = _rain(values["rain_mm"])
        problem = problem or rain_problem or geom_problems[i]
        yield (int(row_no), station, points.text_value(values.get("station_name")), observed, rain, geoms[i], problem)


def _rain(value: str | float | None) -> tuple[float | None, str | None]:
    """(mm, None) or (None, why the cell is not a measurement)."""
    cell = points.text_value(value)
    if cell is None:
        return None, "no rain value (a missing reading is not 0 mm)"
    try:
        number = read.parse_number(value)
    except DataError:
        if read.norm_name(cell) in MISSING_TEXT:
            return None, f"missing value {shown(cell)}"
        return None, f"rain {shown(cell)} is not a number"
    if number is None or math.isnan(number):
        return None, "no rain value (a missing reading is not 0 mm)"
    if number in SENTINELS:
        return None, f"{clip(cell)} is a missing-value code, not a measurement"
    if number < 0:
        return None, f"negative rain {clip(cell)} mm"
    return round(number, 3), None
