"""Reading rain gauges (``rain_gauges``) and their observations (``rain_observations``) for the
EDR API (``ogc_api.edr``). Loading them is :mod:`landdb.rainfall_load`.

These run on the API's pooled psycopg connections (``%(name)s`` parameters). A query geometry
arrives as WKT with its SRID, and ``flip`` when its axes are latitude, longitude (EPSG:4326);
distances are measured in the cadastral projection (within 0.02 % of true distance in Hanoi).
"""

from __future__ import annotations

import datetime as _dt

from psycopg import Connection as PgConnection

from landdb.models import CITY_SRID

#: A bound of a time window: None is open.
When = _dt.datetime | None

_ISO_UTC = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"


def _query_geom(flip: bool) -> str:
    geom = "ST_GeomFromText(%(wkt)s, %(srid)s)"
    return f"ST_Transform({'ST_FlipCoordinates(' + geom + ')' if flip else geom}, {CITY_SRID})"


def _time_where(column: str) -> str:
    """Between %(start)s and %(end)s (datetimes, or None for an open end), inclusive."""
    return (f"(CAST(%(start)s AS timestamptz) IS NULL OR {column} >= %(start)s) "
            f"AND (CAST(%(end)s AS timestamptz) IS NULL OR {column} <= %(end)s)")


def gauge_locations(conn: PgConnection, out_srid: int, flip: bool, start: When = None,
                    end: When = None) -> list[tuple]:
    """Every gauge (with an observation between ``start`` and ``end`` when given): code, name,
    elevation_m, operator, first and last observation (ISO text), GeoJSON geometry (dict)."""
    geom = "g.geom" if out_srid == CITY_SRID else f"ST_Transform(g.geom, {int(out_srid)})"
    if flip:
        geom = f"ST_FlipCoordinates({geom})"
    digits = 9 if out_srid == 4326 else 4
    windowed = start is not None or end is not None
    return conn.execute(f"""
        SELECT g.code, g.name, g.elevation_m, g.operator, {_ISO_UTC.format('s.t0')}, {_ISO_UTC.format('s.t1')},
               ST_AsGeoJSON({geom}, {digits})::json
        FROM rain_gauges g
        LEFT JOIN LATERAL (SELECT min(o.observed_at) AS t0, max(o.observed_at) AS t1
                           FROM rain_observations o WHERE o.gauge_id = g.id) s ON true
        WHERE NOT %(windowed)s OR EXISTS (SELECT 1 FROM rain_observations o
                                          WHERE o.gauge_id = g.id AND {_time_where('o.observed_at')})
        ORDER BY g.code""", {"windowed": windowed, "start": start, "end": end}).fetchall()


def gauge_id(conn: PgConnection, code: str) -> int | None:
    """The id of the gauge with this station code, None when there is none."""
    row = conn.execute("SELECT id FROM rain_gauges WHERE code = %(code)s", {"code": code}).fetchone()
    return row[0] if row else None


def nearest_gauge(conn: PgConnection, wkt: str, srid: int, flip: bool) -> tuple[int, str, float] | None:
    """(id, code, distance in metres) of the gauge nearest to a geometry; None without gauges."""
    return conn.execute(f"""
        WITH q AS (SELECT {_query_geom(flip)} AS geom)
        SELECT g.id, g.code, ST_Distance(g.geom, q.geom) FROM rain_gauges g, q
        ORDER BY g.geom <-> q.geom, g.code LIMIT 1""", {"wkt": wkt, "srid": srid}).fetchone()


def gauges_within(conn: PgConnection, wkt: str, srid: int, flip: bool, distance_m: float) -> list[int]:
    """Ids of the gauges within ``distance_m`` of a geometry (0: inside or on it), nearest first."""
    rows = conn.execute(f"""
        WITH q AS (SELECT {_query_geom(flip)} AS geom)
        SELECT g.id FROM rain_gauges g, q WHERE ST_DWithin(g.geom, q.geom, %(d)s)
        ORDER BY ST_Distance(g.geom, q.geom), g.code""", {"wkt": wkt, "srid": srid, "d": distance_m})
    return [r[0] for r in rows]


#: Where a query area is cut before it is projected (Vietnam and around, lon/lat): far outside
#: it the cadastral projection is meaningless (a whole-world polygon would come out garbled).
_AREA_CLIP = "ST_MakeEnvelope(100, 5, 112, 26, 4326)"


def gauges_in_area(conn: PgConnection, wkt: str, srid: int, flip: bool) -> list[int]:
    """Ids of the gauges inside or on a (multi)polygon, by code."""
    geom = "ST_GeomFromText(%(wkt)s, %(srid)s)"
    geom = f"ST_FlipCoordinates({geom})" if flip else geom
    clip = _AREA_CLIP if srid == 4326 else f"ST_Transform({_AREA_CLIP}, {int(srid)})"
    rows = conn.execute(f"""
        WITH q AS (SELECT ST_Transform(ST_Intersection({geom}, {clip}), {CITY_SRID}) AS geom)
        SELECT g.id FROM rain_gauges g, q WHERE ST_Intersects(g.geom, q.geom) ORDER BY g.code""",
        {"wkt": wkt, "srid": srid})
    return [r[0] for r in rows]


def observation_span(conn: PgConnection, gauge_ids: list[int]) -> tuple[str, str] | None:
    """First and last observation time (ISO text) of some gauges; None when they have none."""
    row = conn.execute(f"""
        SELECT {_ISO_UTC.format('min(observed_at)')}, {_ISO_UTC.format('max(observed_at)')}
        FROM rain_observations WHERE gauge_id = ANY(%(ids)s::integer[])""", {"ids": gauge_ids}).fetchone()
    return (row[0], row[1]) if row and row[0] else None


_SERIES_CTE = """
    WITH obs AS (
        SELECT gauge_id, observed_at, interval_min, rain_mm FROM rain_observations
        WHERE gauge_id = ANY(%(ids)s::integer[]) AND {window}),
    span AS (
        SELECT gauge_id, min(observed_at) AS w0, count(*) AS n,
               mode() WITHIN GROUP (ORDER BY interval_min) * interval '1 minute' AS step
        FROM obs GROUP BY gauge_id),
    grid AS (  -- the window's steps on the grid of its first observation, within the gauge's lifetime
        SELECT s.gauge_id, s.n, s.step,
               s.w0 - floor(extract(epoch FROM s.w0 - greatest(CAST(%(start)s AS timestamptz), life.t0))
                            / extract(epoch FROM s.step)) * s.step AS g0,
               least(CAST(%(end)s AS timestamptz), life.t1) AS g1
        FROM span s CROSS JOIN LATERAL (SELECT min(observed_at) AS t0, max(observed_at) AS t1
                                        FROM rain_observations r WHERE r.gauge_id = s.gauge_id) life)"""


def series_size(conn: PgConnection, gauge_ids: list[int], start: When, end: When) -> int:
    """How many time steps :func:`rain_series` would return (observations and gaps), at most."""
    sql = _SERIES_CTE.format(window=_time_where("observed_at")) + """
        SELECT coalesce(sum(n + floor(extract(epoch FROM g1 - g0) / extract(epoch FROM step)) + 1), 0)::bigint
        FROM grid"""
    row = conn.execute(sql, {"ids": gauge_ids, "start": start, "end": end}).fetchone()
    assert row is not None  # an aggregate without GROUP BY returns one row
    return row[0]


def rain_series(conn: PgConnection, gauge_ids: list[int], start: When, end: When,
                out_srid: int) -> list[tuple]:
    """The time series of some gauges between ``start`` and ``end`` (inclusive; None is open).

    One row per gauge that has observations then, in the order of ``gauge_ids``: code, name, x,
    y (in ``out_srid``, easting or longitude first), times (ISO text) and values. The times are
    the steps of the gauge's usual interval across the window (cut to the gauge's first and last
    observation ever), plus any observation off that grid; a step without an observation has
    the value None.
    """
    point = "g.geom" if out_srid == CITY_SRID else f"ST_Transform(g.geom, {int(out_srid)})"
    sql = _SERIES_CTE.format(window=_time_where("observed_at")) + f""",
    axis AS (
        SELECT gauge_id, t FROM grid, generate_series(g0, g1, step) t
        UNION SELECT gauge_id, observed_at FROM obs)
    SELECT g.code, g.name, ST_X({point}), ST_Y({point}),
           array_agg({_ISO_UTC.format('a.t')} ORDER BY a.t), array_agg(o.rain_mm ORDER BY a.t)
    FROM axis a JOIN rain_gauges g ON g.id = a.gauge_id
    LEFT JOIN obs o ON o.gauge_id = a.gauge_id AND o.observed_at = a.t
    GROUP BY g.id ORDER BY array_position(%(ids)s::integer[], g.id)"""
    return conn.execute(sql, {"ids": gauge_ids, "start": start, "end": end}).fetchall()


def rain_observations_of(conn: PgConnection, gauge_ids: list[int], start: When, end: When,
                         out_srid: int, flip: bool, limit: int) -> list[tuple]:
    """The observations themselves (no gaps) for GeoJSON: code, name, observed_at (ISO text),
    interval_min, rain_mm and the gauge's GeoJSON geometry, by gauge (in the given order), then time."""
    geom = "g.geom" if out_srid == CITY_SRID else f"ST_Transform(g.geom, {int(out_srid)})"
    if flip:
        geom = f"ST_FlipCoordinates({geom})"
    digits = 9 if out_srid == 4326 else 4
    return conn.execute(f"""
        SELECT g.code, g.name, {_ISO_UTC.format('o.observed_at')}, o.interval_min, o.rain_mm,
               ST_AsGeoJSON({geom}, {digits})::json
        FROM rain_observations o JOIN rain_gauges g ON g.id = o.gauge_id
        WHERE o.gauge_id = ANY(%(ids)s::integer[]) AND {_time_where('o.observed_at')}
        ORDER BY array_position(%(ids)s::integer[], g.id), o.observed_at LIMIT %(limit)s""",
        {"ids": gauge_ids, "start": start, "end": end, "limit": limit}).fetchall()


def gauge_codes(conn: PgConnection, gauge_ids: list[int]) -> list[str]:
    """The station codes of some gauges, sorted."""
    rows = conn.execute("SELECT code FROM rain_gauges WHERE id = ANY(%(ids)s::integer[]) ORDER BY code",
                        {"ids": gauge_ids})
    return [r[0] for r in rows]
