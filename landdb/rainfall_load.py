"""Loading rain gauges (``rain_gauges``) and their observations (``rain_observations``): the
staging table of ``etl.rainfall``, its checks and the set-based merge. Reading them for the API
is :mod:`landdb.rainfall`.

A gauge is identified by its station id (``code``) and created the first time a load sees it.
An observation is identified by its gauge and the time its interval ends (``observed_at``);
loading the same value again leaves it alone, a different value or interval updates it.

The bulk-load checks below work on a staging table; their thresholds are the caller's (see
``etl.rainfall``), passed as bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Row, text

from landdb import staging
from landdb.models import CITY_SRID

#: Columns of the staging table, in the order rows are copied.
STAGE_COLUMNS = ("row_no", "station", "name", "observed_at", "rain_mm", "geom", "problem")

_RATE = "(rain_mm * 60.0 / interval_min)"  # mm/h


def _day(at: str, interval: str) -> str:
    """The local calendar day an observation counts for: a daily value's own date, else the day
    its interval starts in (an hourly value at 00:00 is the last hour of the day before)."""
    return (f"(CASE WHEN {interval} >= 1440 THEN ({at} AT TIME ZONE 'Asia/Ho_Chi_Minh')::date "
            f"ELSE (({at} - {interval} * interval '1 minute') AT TIME ZONE 'Asia/Ho_Chi_Minh')::date END)")


@dataclass(frozen=True)
class Limits:
    """The thresholds of the value checks (documented in ``etl.rainfall``)."""

    max_mm_per_hour: float
    max_mm_per_day: float
    spike_min_mm_per_hour: float
    spike_neighbour_max_mm_per_hour: float
    spike_ratio_to_others: float
    spike_min_other_stations: int


def stage_create(conn: Connection) -> None:
    """A temporary staging table that lives as long as the load's transaction.

    JIT compilation is switched off for the transaction: the checks are big one-off queries
    whose compile time (about a second each) exceeds what it saves.
    """
    conn.execute(text("SET LOCAL jit = off"))
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_rain (
            row_no integer PRIMARY KEY, station text, name text, observed_at timestamptz,
            rain_mm double precision, geom geometry(Point, {CITY_SRID}), interval_min integer,
            dup boolean NOT NULL DEFAULT false, problem text
        ) ON COMMIT DROP
    """))


def stage_copy(conn: Connection, rows: Iterable[tuple]) -> None:
    """COPY ``rows`` (tuples in STAGE_COLUMNS order; geometry as hex EWKB) into the stage."""
    staging.copy_rows(conn, "stage_rain", STAGE_COLUMNS, rows)


def stage_flag_stations(conn: Connection, tolerance_m: float) -> None:
    """Flag duplicate (station, time) rows (the first is kept) and rows whose position disagrees.

    A station's position is that of its first row with one; a row more than ``tolerance_m`` from
    it, or from the position of the gauge already stored, is rejected, and so is every row of a
    new station that has no position at all. Builds ``stage_rain_stations``.
    """
    conn.execute(text("ANALYZE stage_rain"))  # temporary tables are never analysed automatically
    conn.execute(text(f"""
        UPDATE stage_rain s SET dup = true,
            problem = coalesce(s.problem, format('duplicate observation of station %s at %s (first at row %s)',
                                                 s.station, {staging.LOCAL_TIME.format('s.observed_at')}, d.first_row))
        FROM (SELECT row_no, min(row_no) OVER (PARTITION BY station, observed_at) AS first_row
              FROM stage_rain WHERE station IS NOT NULL AND observed_at IS NOT NULL) d
        WHERE s.row_no = d.row_no AND d.row_no <> d.first_row;
        CREATE TEMP TABLE stage_rain_stations ON COMMIT DROP AS
        SELECT k.station, n.name, p.geom, p.row_no AS geom_row, g.id AS gauge_id, g.geom AS stored_geom,
               NULL::integer AS interval_min
        FROM (SELECT DISTINCT station FROM stage_rain WHERE station IS NOT NULL) k
        LEFT JOIN (SELECT DISTINCT ON (station) station, name FROM stage_rain WHERE name IS NOT NULL
                   ORDER BY station, row_no) n USING (station)
        LEFT JOIN (SELECT DISTINCT ON (station) station, geom, row_no FROM stage_rain WHERE geom IS NOT NULL AND NOT dup
                   ORDER BY station, row_no) p USING (station)
        LEFT JOIN rain_gauges g ON g.code = k.station;
        ANALYZE stage_rain_stations;
    """))
    moved = ("format('station %s is %s m from {where}; a gauge keeps one position (give a moved gauge a new "
             "station id)', s.station, round(ST_Distance(s.geom, st.{geom})::numeric, 1){extra})")
    checks = (("geom", "its position at row %s", ", st.geom_row"), ("stored_geom", "its stored position", ""))
    for geom, where, extra in checks:
        conn.execute(text(f"""
            UPDATE stage_rain s SET problem = {moved.format(where=where, geom=geom, extra=extra)}
            FROM stage_rain_stations st
            WHERE s.station = st.station AND s.problem IS NULL AND s.geom IS NOT NULL
              AND ST_Distance(s.geom, st.{geom}) > :tol
        """), {"tol": tolerance_m})
    conn.execute(text("""
        UPDATE stage_rain s SET problem = format('new station %s has no position: give its lon/lat (or x/y with --crs)',
                                                 s.station)
        FROM stage_rain_stations st
        WHERE s.station = st.station AND s.problem IS NULL AND st.gauge_id IS NULL AND st.geom IS NULL
    """))


def stage_intervals(conn: Connection, interval_min: int | None, max_interval_min: int) -> dict[str, int]:
    """Set each station's interval (minutes) and return them.

    ``interval_min`` when given; else the most common spacing of the station's consecutive times
    in the file, else of its stored observations, else of all stations in the file. Rows of a
    station whose interval cannot be told or exceeds ``max_interval_min`` are rejected.
    """
    conn.execute(text("""
        WITH t AS (SELECT station, observed_at FROM stage_rain
                   WHERE station IS NOT NULL AND observed_at IS NOT NULL AND NOT dup),
        steps AS (SELECT station, round(extract(epoch FROM observed_at - lag(observed_at)
                         OVER (PARTITION BY station ORDER BY observed_at)) / 60)::integer AS step FROM t),
        own AS (SELECT DISTINCT ON (station) station, step FROM steps WHERE step > 0
                GROUP BY station, step ORDER BY station, count(*) DESC, step),
        stored AS (SELECT DISTINCT ON (st.station) st.station, o.interval_min AS step
                   FROM stage_rain_stations st JOIN rain_observations o ON o.gauge_id = st.gauge_id
                   GROUP BY st.station, o.interval_min ORDER BY st.station, count(*) DESC, o.interval_min),
        overall AS (SELECT step FROM steps WHERE step > 0 GROUP BY step ORDER BY count(*) DESC, step LIMIT 1)
        UPDATE stage_rain_stations st
        SET interval_min = coalesce(CAST(:given AS integer), own.step, stored.step, (SELECT step FROM overall))
        FROM stage_rain_stations k LEFT JOIN own USING (station) LEFT JOIN stored USING (station)
        WHERE st.station = k.station
    """), {"given": interval_min})
    conn.execute(text("""
        UPDATE stage_rain s SET interval_min = st.interval_min FROM stage_rain_stations st WHERE s.station = st.station
    """))
    conn.execute(text("""
        UPDATE stage_rain s SET problem = CASE WHEN s.interval_min IS NULL
                THEN format('cannot tell how often station %s measures from one observation; '
                            'pass --interval-min', s.station)
                ELSE format('observations of station %s are %s min apart; only intervals up to %s min are loaded '
                            '(pass --interval-min)', s.station, s.interval_min, CAST(:max AS integer)) END
        WHERE s.problem IS NULL AND s.station IS NOT NULL AND (s.interval_min IS NULL OR s.interval_min > :max)
    """), {"max": max_interval_min})
    rows = conn.execute(text("SELECT station, interval_min FROM stage_rain_stations WHERE interval_min IS NOT NULL"))
    return dict(sorted(rows.all()))


def stage_flag_values(conn: Connection, limits: Limits) -> list[str]:
    """Flag impossible readings, spikes and impossible daily totals, in that order.

    A reading is impossible above the hourly limit per hour it covers (at least one) or above the
    daily limit per day it covers (at least one).

    Each check sees only the rows no earlier check rejected. Returns warnings about values that
    look like spikes but were kept because too few other stations reported at that time.
    """
    p = vars(limits)
    _flag_readings(conn, p)
    kept = _flag_spikes(conn, p)
    _flag_days(conn, p)
    return [f"row {r} ({st} {at}): {rate} mm/h between dry observations was kept as a possible spike: only {n} "
            f"other station(s) reported then, fewer than {limits.spike_min_other_stations} to compare with"
            for r, st, at, rate, n in kept]


def _flag_readings(conn: Connection, p: dict) -> None:
    """Flag single readings above the hourly or the daily limit for the time they cover."""
    conn.execute(text("""
        UPDATE stage_rain SET problem = CASE
            WHEN rain_mm > :max_mm_per_hour * greatest(1.0, interval_min / 60.0)
            THEN format('impossible: %s mm in %s min (more than %s mm in an hour)',
                        rain_mm, interval_min, CAST(:max_mm_per_hour AS double precision))
            ELSE format('impossible: %s mm in %s min (more than %s mm in a day)',
                        rain_mm, interval_min, CAST(:max_mm_per_day AS double precision)) END
        WHERE problem IS NULL AND (rain_mm > :max_mm_per_hour * greatest(1.0, interval_min / 60.0)
                                   OR rain_mm > :max_mm_per_day * greatest(1.0, interval_min / 1440.0))
    """), p)


def _flag_spikes(conn: Connection, p: dict) -> Sequence[Row]:
    """Flag the spikes (see ``etl.rainfall``); returns the isolated values kept for want of other stations."""
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_rain_spikes ON COMMIT DROP AS
        WITH clean AS (
            SELECT row_no, station, observed_at, interval_min, {_RATE} AS rate,
                   CASE WHEN observed_at - lag(observed_at) OVER w = interval_min * interval '1 minute'
                        THEN lag({_RATE}) OVER w END AS before,
                   CASE WHEN lead(observed_at) OVER w - observed_at = interval_min * interval '1 minute'
                        THEN lead({_RATE}) OVER w END AS after
            FROM stage_rain WHERE problem IS NULL
            WINDOW w AS (PARTITION BY station ORDER BY observed_at)),
        candidates AS (
            SELECT * FROM clean
            WHERE rate > :spike_min_mm_per_hour AND (before IS NOT NULL OR after IS NOT NULL)
              AND coalesce(before, 0) < :spike_neighbour_max_mm_per_hour
              AND coalesce(after, 0) < :spike_neighbour_max_mm_per_hour)
        SELECT c.row_no, c.station, c.observed_at, c.rate, c.before, c.after, count(x.row_no) AS n,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY x.rate) AS median
        FROM candidates c LEFT JOIN clean x ON x.observed_at = c.observed_at AND x.station <> c.station
        GROUP BY c.row_no, c.station, c.observed_at, c.rate, c.before, c.after
    """), p)
    conn.execute(text("""
        UPDATE stage_rain s SET problem = format(
            'spike: %s mm/h while the observations around it had %s and %s mm/h, and the %s other stations '
            'a median of %s mm/h', round(k.rate::numeric, 1), coalesce(round(k.before::numeric, 1)::text, 'none'),
            coalesce(round(k.after::numeric, 1)::text, 'none'), k.n, round(k.median::numeric, 1))
        FROM stage_rain_spikes k
        WHERE s.row_no = k.row_no AND k.n >= :spike_min_other_stations
          AND k.rate > :spike_ratio_to_others * k.median
    """), p)
    return conn.execute(text(f"""
        SELECT row_no, station, {staging.LOCAL_TIME.format('observed_at')}, round(rate::numeric, 1), n
        FROM stage_rain_spikes
        WHERE n < :spike_min_other_stations ORDER BY row_no
    """), p).all()


def _flag_days(conn: Connection, p: dict) -> None:
    """Flag every reading of a station's local day whose total exceeds the daily limit."""
    conn.execute(text(f"""
        WITH days AS (
            SELECT station, {_day('observed_at', 'interval_min')} AS day,
                   sum(rain_mm) AS total
            FROM stage_rain WHERE problem IS NULL GROUP BY 1, 2 HAVING sum(rain_mm) > :max_mm_per_day)
        UPDATE stage_rain s SET problem = format('impossible: station %s has %s mm on %s (more than %s mm in a day)',
                                                 d.station, round(d.total::numeric, 1), d.day,
                                                 CAST(:max_mm_per_day AS double precision))
        FROM days d
        WHERE s.problem IS NULL AND s.station = d.station
          AND {_day('s.observed_at', 's.interval_min')} = d.day
    """), p)


def stage_gaps(conn: Connection) -> dict[str, tuple[int, int, int]]:
    """Station -> (missing observations, gaps, missing observations of the longest gap), for the
    stations whose series in the file has gaps between its first and last time."""
    rows = conn.execute(text("""
        SELECT station, sum(missing)::integer, (count(*) FILTER (WHERE missing > 0))::integer, max(missing)::integer
        FROM (SELECT station,
                     greatest(0, round(extract(epoch FROM observed_at - prev) / 60.0 / interval_min) - 1) AS missing
              FROM (SELECT station, observed_at, interval_min,
                           lag(observed_at) OVER (PARTITION BY station ORDER BY observed_at) AS prev
                    FROM stage_rain WHERE NOT dup AND station IS NOT NULL AND observed_at IS NOT NULL
                      AND interval_min IS NOT NULL) t) g
        GROUP BY station HAVING sum(missing) > 0
        ORDER BY station
    """))
    return {station: (missing, gaps, longest) for station, missing, gaps, longest in rows}


def stage_rejects(conn: Connection) -> list[tuple[int, str | None, str]]:
    """(row, "station time" or the station alone, reason) of every flagged row."""
    return [tuple(r) for r in conn.execute(text(f"""
        SELECT row_no,
               CASE WHEN observed_at IS NULL THEN station
                    ELSE station || ' ' || {staging.LOCAL_TIME.format('observed_at')} END,
               problem
        FROM stage_rain WHERE problem IS NOT NULL ORDER BY row_no
    """))]


def stage_merge(conn: Connection) -> tuple[int, dict[str, int]]:
    """Create the new gauges of the good rows and upsert the observations.

    Returns the number of gauges created and counts of observations inserted, updated and unchanged.
    """
    created = conn.execute(text("""
        INSERT INTO rain_gauges (code, name, geom)
        SELECT st.station, coalesce(st.name, st.station), st.geom FROM stage_rain_stations st
        WHERE st.gauge_id IS NULL AND st.geom IS NOT NULL
          AND st.station IN (SELECT DISTINCT station FROM stage_rain WHERE problem IS NULL)
        ORDER BY st.station
    """)).rowcount
    conn.execute(text("""
        CREATE TEMP TABLE stage_rain_diff ON COMMIT DROP AS
        SELECT s.row_no, g.id AS gauge_id,
               CASE WHEN o.gauge_id IS NULL THEN 'inserted'
                    WHEN o.rain_mm = s.rain_mm AND o.interval_min = s.interval_min THEN 'unchanged'
                    ELSE 'updated' END AS action
        FROM stage_rain s JOIN rain_gauges g ON g.code = s.station
        LEFT JOIN rain_observations o ON o.gauge_id = g.id AND o.observed_at = s.observed_at
        WHERE s.problem IS NULL;
        ANALYZE stage_rain_diff;
        UPDATE rain_observations o SET rain_mm = s.rain_mm, interval_min = s.interval_min
        FROM stage_rain s JOIN stage_rain_diff d USING (row_no)
        WHERE d.action = 'updated' AND o.gauge_id = d.gauge_id AND o.observed_at = s.observed_at;
        INSERT INTO rain_observations (gauge_id, observed_at, interval_min, rain_mm)
        SELECT d.gauge_id, s.observed_at, s.interval_min, s.rain_mm
        FROM stage_rain s JOIN stage_rain_diff d USING (row_no)
        WHERE d.action = 'inserted' ORDER BY d.gauge_id, s.observed_at;
    """))
    return created, staging.action_counts(conn, "stage_rain_diff")
