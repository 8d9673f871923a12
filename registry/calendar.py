"""Working days in Vietnam: the registry's deadlines count them (Monday to Friday, without the
public holidays and their make-up days, from the ``holidays`` package's Vietnamese calendar)."""

from __future__ import annotations

import datetime as dt
from functools import cache

import holidays

#: The registry works on Hanoi's clock (UTC+07:00, no daylight saving).
HANOI = dt.timezone(dt.timedelta(hours=7), "ICT")


@cache
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (the day of lodging itself does not count)."""
    day = start
    left = days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when ``end`` is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    return sum(is_working_day(start + dt.timedelta(days=i)) for i in range(1, (end - start).days + 1))


def today() -> dt.date:
    """Today in Hanoi."""
    return dt.datetime.now(HANOI).date()
