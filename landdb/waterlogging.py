"""Every query on waterlogging hotspots (``waterlogging_points``) and flood events (``flood_events``).

A hotspot is identified by its ``code``; it is not versioned: loading a hotspot whose name,
street, district, description or position changed updates its row. An event is identified by
its hotspot and the time it started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, text

from landdb import staging
from landdb.models import CITY_SRID

#: Columns of the staging table, in the order rows are copied.
STAGE_COLUMNS = (
    "row_no", "code", "name", "street", "district", "description", "geom",
    "started_at", "duration_min", "max_depth_m", "rain_mm", "has_point", "has_event", "problem",
)
#: Hotspot and event columns a file may leave out; those it leaves out are never overwritten.
POINT_COLUMNS = ("name", "street", "district", "description")
EVENT_COLUMNS = ("duration_min", "max_depth_m", "rain_mm")

_COMMUNE = ("(SELECT a.code FROM admin_units a WHERE a.level = 'commune' AND a.valid_to IS NULL "
            "AND ST_Intersects(a.geom, s.geom) LIMIT 1)")


def stage_create(conn: Connection) -> None:
    """A temporary staging table that lives as long as the load's transaction."""
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_waterlogging (
            row_no integer PRIMARY KEY, code text, name text, street text, district text, description text,
            geom geometry(Point, {CITY_SRID}), started_at timestamptz, duration_min integer,
            max_depth_m numeric(4, 2), rain_mm numeric(6, 1), has_point boolean NOT NULL,
            has_event boolean NOT NULL, problem text
        ) ON COMMIT DROP
    """))


def stage_copy(conn: Connection, rows: Iterable[tuple]) -> None:
    """COPY ``rows`` (tuples in STAGE_COLUMNS order; geometry as hex EWKB) into the stage."""
    staging.copy_rows(conn, "stage_waterlogging", STAGE_COLUMNS, rows)


def stage_flag(conn: Connection, with_events: bool) -> None:
    """Mark the staged rows that cannot be loaded.

    A hotspot code seen before is a duplicate, except in a file of events, where a row may repeat
    its hotspot as long as it describes it the same way. A (hotspot, start time) seen before is a
    duplicate event. An event whose hotspot is neither in the file nor in the database is rejected.
    """
    conn.execute(text("ANALYZE stage_waterlogging"))  # temporary tables are never analysed automatically
    conn.execute(text("""
        WITH firsts AS (
            SELECT DISTINCT ON (code) row_no, code, name, street, district, description, geom
            FROM stage_waterlogging WHERE has_point AND problem IS NULL ORDER BY code, row_no)
        UPDATE stage_waterlogging s SET problem = CASE
            WHEN :events THEN format('hotspot %s is described differently than at row %s', s.code, f.row_no)
            ELSE format('duplicate hotspot code %s (first at row %s)', s.code, f.row_no) END
        FROM firsts f
        WHERE s.code = f.code AND s.row_no <> f.row_no AND s.has_point AND s.problem IS NULL
          AND (NOT :events OR ROW(s.name, s.street, s.district, s.description, ST_AsEWKB(s.geom))
               IS DISTINCT FROM ROW(f.name, f.street, f.district, f.description, ST_AsEWKB(f.geom)))
    """), {"events": with_events})
    conn.execute(text(f"""
        UPDATE stage_waterlogging s
        SET problem = format('duplicate event at hotspot %s starting %s (first at row %s)',
                             s.code, {staging.LOCAL_TIME.format('s.started_at')}, d.first_row)
        FROM (SELECT row_no, min(row_no) OVER (PARTITION BY code, started_at) AS first_row
              FROM stage_waterlogging WHERE has_event AND problem IS NULL) d
        WHERE s.row_no = d.row_no AND d.row_no <> d.first_row;
        UPDATE stage_waterlogging s
        SET problem = format('unknown hotspot code %s: it is neither in this file nor in the database '
                             '(load the hotspots first)', s.code)
        WHERE has_event AND problem IS NULL
          AND NOT EXISTS (SELECT 1 FROM stage_waterlogging p
                          WHERE p.code = s.code AND p.has_point AND p.problem IS NULL)
          AND NOT EXISTS (SELECT 1 FROM waterlogging_points p WHERE p.code = s.code);
    """))


def stage_rejects(conn: Connection) -> list[tuple[int, str | None, str]]:
    """(row, key, reason) of every flagged row; the key is the hotspot code, with the start time for events."""
    return [tuple(r) for r in conn.execute(text(f"""
        SELECT row_no, CASE WHEN has_event AND started_at IS NOT NULL
                            THEN code || ' ' || {staging.LOCAL_TIME.format('started_at')} ELSE code END, problem
        FROM stage_waterlogging WHERE problem IS NOT NULL ORDER BY row_no
    """))]


def stage_loaded_rows(conn: Connection) -> int:
    """How many staged rows are loaded."""
    return int(conn.execute(text("SELECT count(*) FROM stage_waterlogging WHERE problem IS NULL")).scalar())


def stage_merge_points(conn: Connection, columns: Sequence[str]) -> dict[str, int]:
    """Upsert the good staged hotspots by code; returns counts of inserted, updated and unchanged.

    ``columns`` are the POINT_COLUMNS the file has: only those (and the position) are compared
    and updated; a changed position also updates the commune the hotspot lies in.
    """
    cols = [c for c in POINT_COLUMNS if c in columns]
    same = " AND ".join([f"p.{c} IS NOT DISTINCT FROM s.{c}" for c in cols] + ["ST_AsEWKB(p.geom) = ST_AsEWKB(s.geom)"])
    sets = ", ".join([f"{c} = s.{c}" for c in cols] + ["geom = s.geom", f"commune_code = {_COMMUNE}"])
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_waterlogging_points ON COMMIT DROP AS
        SELECT s.row_no, p.id,
               CASE WHEN p.id IS NULL THEN 'inserted' WHEN {same} THEN 'unchanged' ELSE 'updated' END AS action
        FROM (SELECT DISTINCT ON (code) * FROM stage_waterlogging
              WHERE has_point AND problem IS NULL ORDER BY code, row_no) s
        LEFT JOIN waterlogging_points p ON p.code = s.code
    """))
    conn.execute(text(f"""
        UPDATE waterlogging_points p SET {sets}
        FROM stage_waterlogging s JOIN stage_waterlogging_points d USING (row_no)
        WHERE d.action = 'updated' AND p.id = d.id
    """))
    conn.execute(text(f"""
        INSERT INTO waterlogging_points (code, name, street, district, description, commune_code, geom)
        SELECT s.code, s.name, s.street, s.district, s.description, {_COMMUNE}, s.geom
        FROM stage_waterlogging s JOIN stage_waterlogging_points d USING (row_no)
        WHERE d.action = 'inserted' ORDER BY s.row_no
    """))
    return staging.action_counts(conn, "stage_waterlogging_points")


def stage_merge_events(conn: Connection, columns: Sequence[str]) -> dict[str, int]:
    """Upsert the good staged events by (hotspot, start time); run after ``stage_merge_points``.

    ``columns`` are the EVENT_COLUMNS the file has: only those are compared and updated. Returns
    counts of inserted, updated and unchanged events.
    """
    cols = [c for c in EVENT_COLUMNS if c in columns]
    same = " AND ".join([f"e.{c} IS NOT DISTINCT FROM s.{c}" for c in cols] or ["true"])
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_flood_events ON COMMIT DROP AS
        SELECT s.row_no, p.id AS point_id, e.id,
               CASE WHEN e.id IS NULL THEN 'inserted' WHEN {same} THEN 'unchanged' ELSE 'updated' END AS action
        FROM stage_waterlogging s JOIN waterlogging_points p ON p.code = s.code
        LEFT JOIN flood_events e ON e.point_id = p.id AND e.started_at = s.started_at
        WHERE s.has_event AND s.problem IS NULL
    """))
    if cols:
        conn.execute(text(f"""
            UPDATE flood_events e SET {', '.join(f'{c} = s.{c}' for c in cols)}
            FROM stage_waterlogging s JOIN stage_flood_events d USING (row_no)
            WHERE d.action = 'updated' AND e.id = d.id
        """))
    conn.execute(text("""
        INSERT INTO flood_events (point_id, started_at, duration_min, max_depth_m, rain_mm, source)
        SELECT d.point_id, s.started_at, s.duration_min, s.max_depth_m, s.rain_mm,
               current_setting('landflood.actor', true)
        FROM stage_waterlogging s JOIN stage_flood_events d USING (row_no)
        WHERE d.action = 'inserted' ORDER BY s.row_no
    """))
    return staging.action_counts(conn, "stage_flood_events")
