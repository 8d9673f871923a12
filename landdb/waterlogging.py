"""Every query on waterlogging hotspots (``waterlogging_points``) and flood events (``flood_events``).

A hotspot is identified by its ``code``; it is not versioned: loading a hotspot whose name,
street, district, description, recorded depth and rain or position changed updates its row. A
row without a code is identified by its name and district (``name_key``, computed by the
database's ``landflood_name_key``; migration 0007): it is the stored hotspot with that key, else
a new one with the key as code. A hotspot whose code is its key takes the first real code a file
gives a row with its key. An event is identified by its hotspot and the time it started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, text

from landdb import staging
from landdb.models import CITY_SRID

#: Columns of the staging table, in the order rows are copied. ``derived``: the file gave no code.
STAGE_COLUMNS = (
    "row_no", "code", "derived", "name", "street", "district", "description", "point_max_depth_m",
    "trigger_rain_mm", "geom", "started_at", "duration_min", "max_depth_m", "rain_mm", "has_point", "has_event",
    "problem",
)
#: Hotspot and event columns a file may leave out; those it leaves out are never overwritten.
POINT_COLUMNS = ("name", "street", "district", "description", "max_depth_m", "trigger_rain_mm")
EVENT_COLUMNS = ("duration_min", "max_depth_m", "rain_mm")
#: Staging columns of the hotspot columns whose names differ (the stage's max_depth_m is the event's).
_STAGED = {"max_depth_m": "point_max_depth_m"}

_COMMUNE = ("(SELECT a.code FROM admin_units a WHERE a.level = 'commune' AND a.valid_to IS NULL "
            "AND ST_Intersects(a.geom, s.geom) LIMIT 1)")


def stage_create(conn: Connection) -> None:
    """A temporary staging table that lives as long as the load's transaction."""
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_waterlogging (
            row_no integer PRIMARY KEY, code text, derived boolean NOT NULL, name text, street text,
            district text, description text, point_max_depth_m numeric(4, 2), trigger_rain_mm numeric(6, 1),
            geom geometry(Point, {CITY_SRID}), started_at timestamptz, duration_min integer,
            max_depth_m numeric(4, 2), rain_mm numeric(6, 1), has_point boolean NOT NULL,
            has_event boolean NOT NULL, problem text,
            name_key text GENERATED ALWAYS AS (landflood_name_key(name, district)) STORED
        ) ON COMMIT DROP
    """))


def stage_copy(conn: Connection, rows: Iterable[tuple]) -> None:
    """COPY ``rows`` (tuples in STAGE_COLUMNS order; geometry as hex EWKB) into the stage."""
    staging.copy_rows(conn, "stage_waterlogging", STAGE_COLUMNS, rows)


def stage_identify(conn: Connection) -> None:
    """Give every staged row without a code the code of the stored hotspot with its name and district,
    else its name key (a new hotspot, or one of this file). A name and district that several stored
    hotspots share does not tell which one: that row is rejected."""
    conn.execute(text("""
        UPDATE stage_waterlogging s
        SET code = CASE WHEN m.n = 1 THEN m.code END,
            problem = CASE WHEN m.n > 1 THEN format('the hotspots %s all have this name and district (%s): '
                                                    'give the row its code', m.codes, s.name_key) END
        FROM (SELECT name_key, min(code) AS code, count(*) AS n, string_agg(code, ', ' ORDER BY code) AS codes
              FROM waterlogging_points WHERE name_key IS NOT NULL GROUP BY name_key) m
        WHERE s.derived AND s.problem IS NULL AND m.name_key = s.name_key;
        UPDATE stage_waterlogging SET code = name_key, problem = CASE WHEN name_key IS NULL
            THEN 'the hotspot name has no letter or digit to know it by: give the row a code' END
        WHERE derived AND code IS NULL AND problem IS NULL;
        ANALYZE stage_waterlogging;  -- temporary tables are never analysed automatically
    """))


def stage_flag(conn: Connection, with_events: bool) -> None:
    """Mark the staged rows that cannot be loaded (after ``stage_identify``).

    A hotspot code seen before is a duplicate, except in a file of events, where a row may repeat
    its hotspot as long as it describes it the same way. A (hotspot, start time) seen before is a
    duplicate event. An event whose hotspot is neither in the file nor in the database is rejected.
    """
    conn.execute(text("""
        WITH firsts AS (
            SELECT DISTINCT ON (code) row_no, code, name, street, district, description, geom
            FROM stage_waterlogging WHERE has_point AND problem IS NULL ORDER BY code, row_no)
        UPDATE stage_waterlogging s SET problem = CASE
            WHEN :events THEN format('hotspot %s is described differently than at row %s', s.code, f.row_no)
            WHEN s.derived THEN format('the same hotspot as row %s: without a code, a hotspot is known by its '
                                       'name and district (%s)', f.row_no, s.code)
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
        SET problem = CASE WHEN s.derived
            THEN format('no hotspot with this name and district (%s) is in this file or the database '
                        '(load the hotspots first, or give the code)', s.code)
            ELSE format('unknown hotspot code %s: it is neither in this file nor in the database '
                        '(load the hotspots first)', s.code) END
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
    return int(conn.execute(text("SELECT count(*) FROM stage_waterlogging WHERE problem IS NULL")).scalar_one())


def stage_merge_points(conn: Connection, columns: Sequence[str]) -> dict[str, int]:
    """Upsert the good staged hotspots by code; returns counts of inserted, updated and unchanged.

    ``columns`` are the POINT_COLUMNS the file has: only those (and the position) are compared
    and updated; a changed position also updates the commune the hotspot lies in. A code new to
    the database takes over the hotspot known until now by the row's name and district (its code
    is its name key), unless another row of the file has that name and district too.
    """
    given = {c: f"s.{_STAGED.get(c, c)}" for c in POINT_COLUMNS if c in columns}
    same = " AND ".join(["p.code = s.code", *(f"p.{c} IS NOT DISTINCT FROM {v}" for c, v in given.items()),
                         "ST_AsEWKB(p.geom) = ST_AsEWKB(s.geom)"])
    sets = ", ".join(["code = s.code", *(f"{c} = {v}" for c, v in given.items()), "geom = s.geom",
                      f"commune_code = {_COMMUNE}"])
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_waterlogging_points ON COMMIT DROP AS
        SELECT s.row_no, p.id, p.code <> s.code AS taken_over,
               CASE WHEN p.id IS NULL THEN 'inserted' WHEN {same} THEN 'unchanged' ELSE 'updated' END AS action
        FROM (SELECT DISTINCT ON (code) * FROM stage_waterlogging
              WHERE has_point AND problem IS NULL ORDER BY code, row_no) s
        LEFT JOIN LATERAL (
            SELECT * FROM waterlogging_points p WHERE p.code = s.code
            UNION ALL
            SELECT * FROM waterlogging_points p
            WHERE NOT s.derived AND p.code = p.name_key AND p.name_key = s.name_key
              AND NOT EXISTS (SELECT 1 FROM waterlogging_points c WHERE c.code = s.code)
              AND NOT EXISTS (SELECT 1 FROM stage_waterlogging o WHERE o.has_point AND o.problem IS NULL
                              AND o.name_key = s.name_key AND o.code <> s.code)
        ) p ON true
    """))
    conn.execute(text(f"""
        UPDATE waterlogging_points p SET {sets}
        FROM stage_waterlogging s JOIN stage_waterlogging_points d USING (row_no)
        WHERE d.action = 'updated' AND p.id = d.id
    """))
    conn.execute(text(f"""
        INSERT INTO waterlogging_points (code, name, street, district, description, max_depth_m, trigger_rain_mm,
                                         commune_code, geom)
        SELECT s.code, s.name, s.street, s.district, s.description, s.point_max_depth_m, s.trigger_rain_mm,
               {_COMMUNE}, s.geom
        FROM stage_waterlogging s JOIN stage_waterlogging_points d USING (row_no)
        WHERE d.action = 'inserted' ORDER BY s.row_no
    """))
    return staging.action_counts(conn, "stage_waterlogging_points")


def stage_code_notes(conn: Connection) -> tuple[int, str | None, int]:
    """After ``stage_merge_points``: (hotspots the file gave no code, a code made of a name and district
    that one of them has, hotspots known until now by name and district that got their code from the file)."""
    derived, example, taken_over = conn.execute(text("""
        SELECT count(*) FILTER (WHERE s.derived), min(s.code) FILTER (WHERE s.derived AND s.code = s.name_key),
               count(*) FILTER (WHERE d.taken_over)
        FROM stage_waterlogging s JOIN stage_waterlogging_points d USING (row_no)
    """)).one()
    return int(derived), example, int(taken_over)


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
