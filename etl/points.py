"""What the point loaders (waterlogging hotspots and events, rain gauges) share: tables whose rows
may have no position, times with a timezone, and point positions in the city CRS.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from pyproj import CRS, Transformer
from sqlalchemy import Connection

from etl import crs as crsmod
from etl import loading, read
from etl.report import LoadReport, shown
from landdb.models import CITY_EXTENT, CITY_SRID
from landflood.errors import DataError

#: Times written without a timezone are Hanoi's local time (UTC+07:00, no daylight saving).
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

#: Longest hotspot code or station id: an identifier, not a text (and quoted whole in messages).
MAX_CODE_CHARS = 100

# A time of day: 14:30, 14h30, 14h, 14 giờ 30, 14g30, 14
_CLOCK = re.compile(r"^(\d{1,2})\s*(?:[:hHgG]|giờ)?\s*(\d{2})?\s*(?:phút|p|')?$")

_TO_LONLAT = Transformer.from_crs(crsmod.CITY_CRS, crsmod.WGS84, always_xy=True)
# Day first, as Vietnamese tables write dates: 20/07/2024, 20-07-2024 14:30, 20.07.2024 14:30:05
_DAY_FIRST = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T,]+(\d{1,2})[:hH](\d{2})(?::(\d{2}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def has_geometry(batch: read.Batch) -> bool:
    """Whether any record of ``batch`` has a geometry."""
    return bool(len(batch)) and not bool(np.all(shapely.is_missing(batch.geoms)))


def choose_crs(src: read.Source, first: read.Batch, option: str | None, report: LoadReport) -> Transformer | None:
    """A transformer from the file's coordinates to the city CRS; the choice is noted in ``report``.

    Without --crs and without a CRS in the file, coordinates that are mostly degrees are WGS 84
    (single rows with wrong numbers are then rejected as outside Hanoi); otherwise the CRS is
    detected like a Shapefile's without .prj, which asks for --crs when several CRSs fit.
    """
    def detect() -> tuple[CRS, str]:
        geoms = first.geoms[~shapely.is_missing(first.geoms)]
        xy = shapely.get_coordinates(geoms[shapely.get_type_id(geoms) == 0])
        if len(xy) == 0:
            raise DataError("the first rows have no coordinates to tell their CRS from; pass --crs")
        degrees = (np.abs(xy[:, 0]) <= 180) & (np.abs(xy[:, 1]) <= 90)
        if degrees.mean() >= 0.5:
            return crsmod.WGS84, "coordinates are degrees (taken as WGS 84)"
        return crsmod.detect(xy[~degrees], [None] * int((~degrees).sum()), {})

    return loading.choose_crs(src, option, report, detect)


def city_points(batch: read.Batch, transformer: Transformer | None) -> tuple[list[str | None], list[str | None]]:
    """(hex EWKB point in the city CRS, problem) per record; a missing geometry is neither, unless
    its coordinates were there but unreadable.

    Positions are rounded to the millimetre, so the same coordinates always store the same bytes.
    A point must lie within Hanoi's extent (``landdb.models.CITY_EXTENT``).
    """
    geoms = batch.geoms.copy()
    problems: list[str | None] = [batch.problem(i) for i in range(len(geoms))]
    kinds = shapely.get_type_id(geoms)
    for i in np.flatnonzero(kinds == 4):  # a MultiPoint of one point is that point
        parts = shapely.get_parts(geoms[i])
        geoms[i] = parts[0] if len(parts) == 1 else geoms[i]
    kinds = shapely.get_type_id(geoms)
    empty = (kinds == 0) & shapely.is_empty(geoms)
    for i in np.flatnonzero(((kinds != 0) & (kinds != -1)) | empty):
        problems[i] = "empty geometry" if empty[i] else f"geometry is a {geoms[i].geom_type}, not a point"
    ok = (kinds == 0) & ~empty
    city = np.full(len(geoms), None, dtype=object)
    city[ok] = shapely.set_precision(crsmod.transform(geoms[ok], transformer), 0.001)
    xy = shapely.get_coordinates(city[ok]) if ok.any() else np.empty((0, 2))
    lon, lat = _TO_LONLAT.transform(xy[:, 0], xy[:, 1]) if len(xy) else (xy[:, 0], xy[:, 1])
    x0, y0, x1, y1 = CITY_EXTENT
    inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    idx = np.flatnonzero(ok)
    for j in np.flatnonzero(~inside):
        i = idx[j]
        problems[i] = f"outside Hanoi (lon {lon[j]:.5f}, lat {lat[j]:.5f}); wrong coordinates or --crs?"
        city[i] = None
    hexes = shapely.to_wkb(shapely.set_srid(city, CITY_SRID), hex=True, include_srid=True)
    return [h if p is None and h is not None else None for h, p in zip(hexes, problems, strict=True)], problems


def parse_time(value: object) -> tuple[dt.datetime, bool]:
    """(timezone-aware time, whether Hanoi's timezone was assumed) from a cell.

    Accepts ISO 8601 (``2024-07-20T14:30+07:00``, ``2024-07-20 14:30:00Z``, ``2024-07-20``), the
    day-first dates of Vietnamese tables (``20/07/2024 14:30``) and date/datetime values the
    reader already parsed. Raises ValueError when the cell is not a time.
    """
    if isinstance(value, dt.datetime):
        t = value
    elif isinstance(value, dt.date):
        t = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and value.strip():
        t = _parse_text(value.strip())
    else:
        raise ValueError("no time")
    if t.tzinfo is None or t.utcoffset() is None:
        return t.replace(tzinfo=LOCAL_TZ), True
    return t, False


def parse_day_time(day: object, clock: object) -> tuple[dt.datetime, bool]:
    """``parse_time`` for a table that splits the date ("Ngày": 20/07/2024) from the time of day
    ("Thời gian", "Giờ": 14:30, 14h30, 14 giờ, 14; 24 is the day's end). Either cell may be blank, and
    the time cell may hold a whole date and time. Raises ValueError when the cells are not a time."""
    if text_value(day) is None:
        return parse_time(clock)
    start, assumed = parse_time(day)
    if isinstance(clock, dt.time):
        hour, minute = clock.hour, clock.minute
    elif text_value(clock) is None:
        return start, assumed
    elif m := _CLOCK.match(str(clock).strip()):
        hour, minute = int(m[1]), int(m[2] or 0)
    else:
        return parse_time(clock)
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise ValueError(f"{clock!r} is not a time of day")
    return start.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(hours=hour, minutes=minute), assumed


def _parse_text(s: str) -> dt.datetime:
    m = _DAY_FIRST.match(s)
    if m is None:
        if re.match(r"^\d{4}/\d", s):  # 2024/07/20 14:30
            s = s.replace("/", "-", 2)
        return dt.datetime.fromisoformat(s)
    day, month, year, hour, minute, second, tz = m.groups()
    t = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    if tz:
        t = t.replace(tzinfo=dt.datetime.fromisoformat("2000-01-01T00:00" + tz.replace("Z", "+00:00")).tzinfo)
    return t


def stage_batches(conn: Connection, batches: Iterable[read.Batch], copy: Callable[[Connection, Iterator[tuple]], None],
                  to_rows: Callable[[read.Batch, list[int]], Iterator[tuple]], report: LoadReport,
                  progress: loading.Progress, total: int | None) -> None:
    """Copy every batch into the load's staging table (``copy(conn, to_rows(batch, assumed))``);
    warn once about times that came without a time zone (``to_rows`` counts them in ``assumed[0]``)."""
    assumed = [0]
    for batch in batches:
        copy(conn, to_rows(batch, assumed))
        report.read += len(batch)
        progress(len(batch), total)
    if assumed[0]:
        report.warnings.append(assumed_tz_warning(assumed[0]))


def assumed_tz_warning(count: int) -> str:
    """The report's note about times read without a timezone."""
    return (f"{count:,} time(s) carry no timezone and were taken as Hanoi local time "
            "(Asia/Ho_Chi_Minh, +07:00); write them as 2024-07-20T14:30+07:00 to say so")


def code_value(value: object, what: str) -> tuple[str | None, str | None]:
    """(the cell as a code, None), or (None, why it is not one: missing, or too long for an identifier)."""
    code = text_value(value)
    if code is None:
        return None, f"missing {what}"
    if len(code) > MAX_CODE_CHARS:
        return None, f"{what} {shown(code)} is longer than {MAX_CODE_CHARS} characters: not an identifier"
    return code, None


def text_value(value: object) -> str | None:
    """A cell as trimmed text (whole numbers without ``.0``); None when blank."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    s = str(value).strip()
    return s or None
