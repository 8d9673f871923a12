"""Every query on administrative units and their successions."""

from __future__ import annotations

from collections.abc import Iterable

from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from landdb import staging
from landdb.models import CITY_SRID


def boundaries(conn: Connection, codes: set[str]) -> dict[str, BaseGeometry]:
    """Code -> boundary (city CRS) of the communes with these codes; the older unit when a code was reused."""
    if not codes:
        return {}
    rows = conn.execute(text(
        "SELECT DISTINCT ON (code) code, ST_AsBinary(geom) FROM admin_units "
        "WHERE level = 'commune' AND code = ANY(:codes) ORDER BY code, valid_from"
    ), {"codes": sorted(codes)})
    return {code: wkb.loads(bytes(g)) for code, g in rows}


def touches_city(conn: Connection, geom: BaseGeometry) -> bool | None:
    """Whether ``geom`` (city CRS) touches any loaded administrative unit; None when none are loaded."""
    if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM admin_units)")).scalar():
        return None
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM admin_units WHERE ST_Intersects(geom, ST_GeomFromWKB(:g, :srid)))"
    ), {"g": geom.wkb, "srid": CITY_SRID}).scalar())


def commune_around(conn: Connection, geom: BaseGeometry) -> tuple[str, str, BaseGeometry] | None:
    """The current commune (code, name, boundary) that holds a point on ``geom``'s surface, if any."""
    row = conn.execute(text(
        "SELECT code, name, ST_AsBinary(geom) AS wkb FROM admin_units WHERE level = 'commune' AND valid_to IS NULL "
        "AND ST_Intersects(geom, ST_PointOnSurface(ST_GeomFromWKB(:wkb, :srid))) LIMIT 1"),
        {"wkb": geom.wkb, "srid": CITY_SRID}).first()
    return (row.code, row.name, wkb.loads(bytes(row.wkb))) if row else None


# --- bulk loading through a staging table (used by etl.admin) ---------------------------------

#: Columns of the staging table, in the order rows are copied.
STAGE_COLUMNS = ("row_no", "code", "name", "level", "kind", "parent_code", "valid_from", "valid_to",
                 "predecessors", "geom", "problem")

#: Levels from the top: a parent's level ranks lower than its child's.
_RANK = "array_position(ARRAY['province', 'district', 'commune'], {})"


def stage_create(conn: Connection) -> None:
    """A temporary staging table that lives as long as the load's transaction."""
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_admin (
            row_no integer PRIMARY KEY, code text, name text, level text, kind text, parent_code text,
            valid_from date, valid_to date, predecessors text, geom geometry(MultiPolygon, {CITY_SRID}),
            problem text, unit_id integer, action text, parent_id integer
        ) ON COMMIT DROP
    """))


def stage_copy(conn: Connection, rows: Iterable[tuple]) -> None:
    """COPY ``rows`` (tuples in STAGE_COLUMNS order; geometry as hex EWKB) into the stage."""
    staging.copy_rows(conn, "stage_admin", STAGE_COLUMNS, rows)


def stage_flag(conn: Connection) -> None:
    """Mark staged rows that cannot be loaded: a repeated (code, valid_from), or a validity that
    overlaps another unit with the same code, in the file or stored (as this load leaves it)."""
    conn.execute(text("""
        UPDATE stage_admin s SET problem = format('duplicate unit %s valid from %s (first at row %s)',
                                                  s.code, s.valid_from, d.first_row)
        FROM (SELECT row_no, min(row_no) OVER (PARTITION BY code, valid_from) AS first_row
              FROM stage_admin WHERE problem IS NULL) d
        WHERE s.row_no = d.row_no AND d.row_no <> d.first_row
    """))
    conn.execute(text("""
        UPDATE stage_admin s SET problem = format(
            'validity %s overlaps that of row %s (%s, valid %s) with the same code: a code names one unit '
            'at a time, so one of them needs other dates', daterange(s.valid_from, s.valid_to), o.row_no,
            o.name, daterange(o.valid_from, o.valid_to))
        FROM stage_admin o
        WHERE s.problem IS NULL AND o.problem IS NULL AND o.code = s.code AND o.row_no < s.row_no
          AND daterange(o.valid_from, o.valid_to) && daterange(s.valid_from, s.valid_to)
    """))
    conn.execute(text("""
        UPDATE stage_admin s SET problem = format(
            'validity %s overlaps that of the stored unit %s (%s, valid %s) with the same code: a code names '
            'one unit at a time; close the stored unit (load it with its valid_to) or correct the dates',
            daterange(s.valid_from, s.valid_to), e.code, e.name, daterange(e.valid_from, e.valid_to))
        FROM (SELECT a.code, a.name, a.valid_from,
                     CASE WHEN t.row_no IS NULL THEN a.valid_to ELSE t.valid_to END AS valid_to
              FROM admin_units a LEFT JOIN stage_admin t
                   ON t.code = a.code AND t.valid_from = a.valid_from AND t.problem IS NULL) e
        WHERE s.problem IS NULL AND e.code = s.code AND e.valid_from <> s.valid_from
          AND daterange(e.valid_from, e.valid_to) && daterange(s.valid_from, s.valid_to)
    """))


def stage_rejects(conn: Connection) -> list[tuple[int, str | None, str]]:
    """(row, code or None, reason) of every flagged row."""
    return [tuple(r) for r in conn.execute(text(
        "SELECT row_no, code, problem FROM stage_admin WHERE problem IS NOT NULL ORDER BY row_no"))]


def stage_merge(conn: Connection, parents: bool, successions: bool) -> tuple[dict[str, int], list[str]]:
    """Upsert the good staged rows by (code, valid_from), in place; returns counts and warnings.

    A stored unit whose name, level, kind, valid_to or geometry differ is updated in place; so is
    its parent (when ``parents``: the file has a parent column) and its predecessors (when
    ``successions``). Units changed in any of these ways count as updated.
    """
    conn.execute(text("""
        UPDATE stage_admin s SET unit_id = a.id, action = CASE
                WHEN a.name = s.name AND a.level = s.level AND a.kind = s.kind
                     AND a.valid_to IS NOT DISTINCT FROM s.valid_to AND ST_AsEWKB(a.geom) = ST_AsEWKB(s.geom)
                THEN 'unchanged' ELSE 'updated' END
        FROM admin_units a WHERE s.problem IS NULL AND a.code = s.code AND a.valid_from = s.valid_from;
        UPDATE stage_admin SET action = 'inserted' WHERE problem IS NULL AND action IS NULL;
        UPDATE admin_units a SET name = s.name, level = s.level, kind = s.kind, valid_to = s.valid_to, geom = s.geom
        FROM stage_admin s WHERE s.unit_id = a.id AND s.action = 'updated';
    """))
    conn.execute(text("""
        WITH ins AS (
            INSERT INTO admin_units (code, name, level, kind, valid_from, valid_to, geom)
            SELECT code, name, level, kind, valid_from, valid_to, geom FROM stage_admin
            WHERE action = 'inserted' ORDER BY row_no
            RETURNING id, code, valid_from)
        UPDATE stage_admin s SET unit_id = ins.id FROM ins
        WHERE s.action = 'inserted' AND s.code = ins.code AND s.valid_from = ins.valid_from
    """))
    warnings = _merge_parents(conn) if parents else []
    if successions:
        warnings += _merge_successions(conn)
    return staging.action_counts(conn, "stage_admin"), warnings


def _merge_parents(conn: Connection) -> list[str]:
    """Link each unit to the unit of a higher level with its parent code, valid at the same time."""
    conn.execute(text(f"""
        UPDATE stage_admin s SET parent_id = (
            SELECT p.id FROM admin_units p
            WHERE p.code = s.parent_code AND {_RANK.format('p.level')} < {_RANK.format('s.level')}
              AND daterange(p.valid_from, p.valid_to) && daterange(s.valid_from, s.valid_to)
            ORDER BY daterange(p.valid_from, p.valid_to) @> s.valid_from DESC, p.valid_from DESC LIMIT 1)
        WHERE s.unit_id IS NOT NULL AND s.parent_code IS NOT NULL;
        WITH changed AS (
            UPDATE admin_units a SET parent_id = s.parent_id FROM stage_admin s
            WHERE s.unit_id = a.id AND a.parent_id IS DISTINCT FROM s.parent_id RETURNING a.id)
        UPDATE stage_admin SET action = 'updated'
        WHERE action = 'unchanged' AND unit_id IN (SELECT id FROM changed);
    """))
    missing = conn.execute(text(
        "SELECT parent_code, count(*) FROM stage_admin WHERE unit_id IS NOT NULL AND parent_code IS NOT NULL "
        "AND parent_id IS NULL GROUP BY parent_code ORDER BY parent_code")).all()
    if not missing:
        return []
    listed = ", ".join(f"{code} ({n} unit{'s' if n > 1 else ''})" for code, n in missing[:10])
    return [f"parent code(s) not loaded: {listed}; those units have no parent. Load the parent units, "
            "then load this file again to link them"]


def _merge_successions(conn: Connection) -> list[str]:
    """Make each loaded unit's predecessors the ones its row lists (the latest earlier unit per code)."""
    conn.execute(text("""
        CREATE TEMP TABLE stage_succ ON COMMIT DROP AS
        SELECT s.unit_id AS successor_id, c.code, (
                SELECT p.id FROM admin_units p
                WHERE p.code = c.code AND p.valid_from < s.valid_from ORDER BY p.valid_from DESC LIMIT 1
            ) AS predecessor_id
        FROM stage_admin s CROSS JOIN LATERAL unnest(string_to_array(s.predecessors, ',')) AS c(code)
        WHERE s.unit_id IS NOT NULL;
        CREATE TEMP TABLE stage_succ_changed ON COMMIT DROP AS
        WITH gone AS (
            DELETE FROM admin_unit_successions u USING stage_admin s
            WHERE u.successor_id = s.unit_id AND NOT EXISTS (
                SELECT 1 FROM stage_succ n WHERE n.successor_id = u.successor_id
                AND n.predecessor_id = u.predecessor_id)
            RETURNING u.successor_id),
        added AS (
            INSERT INTO admin_unit_successions (predecessor_id, successor_id)
            SELECT DISTINCT predecessor_id, successor_id FROM stage_succ WHERE predecessor_id IS NOT NULL
            ON CONFLICT DO NOTHING RETURNING successor_id)
        SELECT successor_id FROM gone UNION SELECT successor_id FROM added;
        UPDATE stage_admin SET action = 'updated'
        WHERE action = 'unchanged' AND unit_id IN (SELECT successor_id FROM stage_succ_changed);
    """))
    missing = conn.execute(text(
        "SELECT DISTINCT code FROM stage_succ WHERE predecessor_id IS NULL ORDER BY code")).scalars().all()
    if not missing:
        return []
    return [f"predecessor code(s) not loaded: {', '.join(missing[:20])}{' …' if len(missing) > 20 else ''}; "
            "those successions are not recorded. Load the older units, then load this file again"]
