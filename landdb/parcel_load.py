"""Bulk loading of parcels through a staging table (used by ``etl.parcels``).

Batches of rows are COPYed (CSV) into a temporary table as the file is read; set-based SQL then
finds duplicate keys and merges the good rows by natural key, keeping history, in one statement
per step for the whole file (measured faster than merging batch by batch). The staging table is
written once and never updated: every later step reads it, joining on the packed parcel key
(``landdb.models.PARCEL_KEY_SQL``) that the loader computes for each row.
"""

from __future__ import annotations

import datetime as dt
import io
import logging

import pyarrow as pa
import pyarrow.csv as pacsv
from shapely import wkb
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from landdb import staging
from landdb.models import CITY_SRID

log = logging.getLogger(__name__)

#: Columns of the staging table, in the order rows are copied.
STAGE_COLUMNS = (
    "row_no", "pkey", "ward_code", "map_sheet", "parcel_no", "land_use_raw", "land_use_code", "area_legal",
    "address", "owner_name", "owner_id", "id_type", "birth_year", "commune_code", "geom", "problem",
)

#: Good staged rows: no problem found while reading, and not a later copy of a key.
GOOD = "s.problem IS NULL AND NOT EXISTS (SELECT 1 FROM stage_dups d WHERE d.row_no = s.row_no)"

#: The cadastral register's tables (see ``bulk_start``). land_use_types is not among them: other
#: readers use it, and its foreign key costs little next to the others.
REGISTER_TABLES = ("map_sheets", "parcels", "parcel_versions", "parties", "rights")
#: Kept during a first load: the lifespan-overlap triggers (migration 0006) look rows up by key.
KEY_INDEXES = ("ix_parcel_versions_parcel_key", "ix_rights_parcel")

_CSV = pacsv.WriteOptions(include_header=False, quoting_style="needed")


def tune(conn: Connection) -> None:
    """Settings for this load's transaction: memory for sorts and hashes, no wait on commit
    (a crash may lose the load's commit, never the database's consistency)."""
    conn.execute(text("SET LOCAL synchronous_commit = off; SET LOCAL work_mem = '128MB'; "
                      "SET LOCAL maintenance_work_mem = '256MB'"))
    try:  # possible only before the session's first temporary table
        with conn.begin_nested():
            conn.execute(text("SET LOCAL temp_buffers = '512MB'"))
    except DBAPIError:
        log.debug("temp_buffers left as they are: this session used temporary tables before")


def land_use_codes(conn: Connection) -> dict[str, str]:
    """Every code a file may use, current (Circular 08/2024) or legacy (27/2018) -> current code."""
    rows = conn.execute(text("SELECT legacy_code, code FROM land_use_legacy_codes")).all()
    return {**dict(rows), **{c: c for c in conn.execute(text("SELECT code FROM land_use_types")).scalars()}}


def admin_geometries(conn: Connection) -> tuple[list, list, list[str]] | None:
    """(every unit's geometry, the current communes' geometries, their codes); None if none are loaded."""
    rows = conn.execute(text(
        "SELECT ST_AsBinary(geom), level = 'commune' AND valid_to IS NULL, code FROM admin_units ORDER BY code, id"
    )).all()
    if not rows:
        return None
    geoms = [wkb.loads(bytes(g)) for g, _, _ in rows]
    communes = [(g, r[2]) for g, r in zip(geoms, rows, strict=True) if r[1]]
    return geoms, [g for g, _ in communes], [c for _, c in communes]


def stage_create(conn: Connection) -> None:
    """A temporary staging table that lives as long as the load's transaction."""
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_parcels (
            row_no integer, pkey bigint, ward_code text, map_sheet integer, parcel_no integer,
            land_use_raw text, land_use_code text, area_legal numeric(14, 2), address text,
            owner_name text, owner_id text, id_type text, birth_year smallint, commune_code text,
            geom geometry(MultiPolygon, {CITY_SRID}), problem text
        ) ON COMMIT DROP
    """))


def stage_copy(conn: Connection, table: pa.Table) -> None:
    """COPY a table of STAGE_COLUMNS (geometry as hex EWKB) into the stage."""
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, _CSV)
    raw = staging.driver_connection(conn)
    sql = f"COPY stage_parcels ({', '.join(STAGE_COLUMNS)}) FROM STDIN (FORMAT csv)"
    with raw.cursor() as cur, cur.copy(sql) as copy:
        copy.write(buf.getbuffer())


def stage_duplicates(conn: Connection) -> None:
    """Mark later rows with a key seen before (the first row of a key is the one loaded)."""
    conn.execute(text("""
        ANALYZE stage_parcels;
        CREATE TEMP TABLE stage_dups ON COMMIT DROP AS
            SELECT s.row_no, f.first_row
            FROM stage_parcels s
            JOIN (SELECT pkey, min(row_no) AS first_row FROM stage_parcels WHERE pkey IS NOT NULL
                  GROUP BY pkey HAVING count(*) > 1) f ON f.pkey = s.pkey
            WHERE s.row_no <> f.first_row;
        CREATE INDEX ON stage_dups (row_no);
        ANALYZE stage_dups;
    """))


def stage_rejects(conn: Connection) -> list[tuple[int, str | None, str]]:
    """(row, parcel_id or None, reason) of every rejected row."""
    return [tuple(r) for r in conn.execute(text("""
        SELECT row_no, parcel_id,
               CASE WHEN first_row IS NULL THEN problem
                    ELSE format('duplicate key %s (first at row %s)', parcel_id, first_row) END
        FROM (SELECT s.row_no, s.problem, d.first_row,
                     s.ward_code || '-' || s.map_sheet || '-' || s.parcel_no AS parcel_id
              FROM stage_parcels s LEFT JOIN stage_dups d ON d.row_no = s.row_no
              WHERE s.problem IS NOT NULL OR d.row_no IS NOT NULL) r
        ORDER BY row_no
    """))]


def bulk_start(conn: Connection) -> list[str]:
    """On a first load (no parcels yet), drop the foreign keys of REGISTER_TABLES (to each
    other and to the land-use code list) and their non-unique indexes, as pg_restore would,
    and return the DDL that re-creates them.

    Checking foreign keys row by row (each check locks the referenced row) and maintaining the
    indexes row by row took about a third of a first load; ``bulk_finish`` re-creates them
    from the catalog's own definitions, validating every row at once, in the same transaction,
    so what commits is checked as before. Primary keys, unique constraints, checks, triggers
    (history, audit, lifespan overlaps) and the key indexes those triggers use stay in force
    throughout. The price is an ACCESS EXCLUSIVE
    lock on these tables until the load commits, which only readers of an empty register feel.
    Returns no DDL (and changes nothing) when the register has parcels.
    """
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM parcels)")).scalar():
        return []
    rows = conn.execute(text("""
        SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),
               format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
        FROM pg_constraint
        WHERE contype = 'f' AND conrelid = ANY(CAST(:tables AS regclass[]))
        UNION ALL
        SELECT format('DROP INDEX %s', indexrelid::regclass), pg_get_indexdef(indexrelid)
        FROM pg_index i
        WHERE indrelid = ANY(CAST(:tables AS regclass[])) AND NOT indisunique
          AND indexrelid::regclass::text <> ALL(CAST(:kept AS text[]))
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    """), {"tables": list(REGISTER_TABLES), "kept": list(KEY_INDEXES)}).all()
    for drop, _ in rows:
        conn.execute(text(drop))
    log.info("first load: %d foreign keys and indexes are re-created after the insert", len(rows))
    return [create for _, create in rows]


def bulk_finish(conn: Connection, ddl: list[str]) -> None:
    """Re-create (and so validate) what ``bulk_start`` dropped."""
    for statement in ddl:
        conn.execute(text(statement))


def stage_merge(conn: Connection, at: dt.datetime | None = None) -> dict[str, int]:
    """Upsert the good staged rows by natural key, keeping history.

    New parcels are inserted; a parcel whose content differs from its current version gets that
    version closed and a new one opened at ``at`` (default: the transaction's time); identical
    ones are left alone. Returns counts of inserted, updated and unchanged parcels.
    """
    p = {"at": at}
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_diff ON COMMIT DROP AS
            SELECT s.row_no, s.pkey, v.id AS current_id,
                   CASE WHEN v.id IS NULL THEN 'inserted'
                        WHEN v.land_use_code = s.land_use_code
                             AND v.area_legal_m2 IS NOT DISTINCT FROM s.area_legal
                             AND v.address IS NOT DISTINCT FROM s.address
                             AND ST_AsEWKB(v.geom) = ST_AsEWKB(s.geom) THEN 'unchanged'
                        ELSE 'updated' END AS action
            FROM stage_parcels s
            LEFT JOIN parcel_versions v ON v.parcel_key = s.pkey AND v.valid_to IS NULL
            WHERE {GOOD};
        ANALYZE stage_diff;
        INSERT INTO map_sheets (ward_code, sheet_no)
            SELECT DISTINCT s.ward_code, s.map_sheet FROM stage_parcels s JOIN stage_diff d USING (row_no)
            WHERE d.action = 'inserted' AND NOT EXISTS (
                SELECT 1 FROM map_sheets m WHERE m.ward_code = s.ward_code AND m.sheet_no = s.map_sheet)
            ON CONFLICT DO NOTHING;
        INSERT INTO parcels (ward_code, map_sheet, parcel_no)
            SELECT s.ward_code, s.map_sheet, s.parcel_no FROM stage_parcels s JOIN stage_diff d USING (row_no)
            WHERE d.action = 'inserted' ORDER BY s.pkey
            ON CONFLICT DO NOTHING;
    """))
    conn.execute(text("""
        UPDATE parcel_versions SET valid_to = coalesce(CAST(:at AS timestamptz), now())
        WHERE id IN (SELECT current_id FROM stage_diff WHERE action = 'updated')
    """), p)
    conn.execute(text("""
        INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, area_legal_m2, address,
                                     commune_code, source, valid_from, geom)
        SELECT s.ward_code, s.map_sheet, s.parcel_no, s.land_use_code, s.area_legal, s.address, s.commune_code,
               current_setting('landflood.actor', true), coalesce(CAST(:at AS timestamptz), now()), s.geom
        FROM stage_parcels s JOIN stage_diff d USING (row_no)
        WHERE d.action <> 'unchanged'
        ORDER BY s.pkey
    """), p)
    return staging.action_counts(conn, "stage_diff")
