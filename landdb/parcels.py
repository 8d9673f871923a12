"""Every query on parcels, their versions and map sheets.

A parcel is identified by its natural key: the (pre-2025) commune of its cadastral map, the
map sheet number and the parcel number, shown as ``parcel_id`` ``"{ward_code}-{map_sheet}-{parcel_no}"``.
Its content is versioned: saving a changed parcel closes the current version and opens a new
one at the same instant; saving an unchanged parcel does nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from landdb.models import CITY_SRID
from landflood.errors import DataError, NotFoundError

_PARCEL_ID = re.compile(r"^(\d{5})-(\d+)-(\d+)$")

SaveResult = Literal["inserted", "updated", "unchanged"]


@dataclass(frozen=True, order=True)
class ParcelKey:
    """The natural key of a parcel."""

    ward_code: str
    map_sheet: int
    parcel_no: int

    @property
    def parcel_id(self) -> str:
        return f"{self.ward_code}-{self.map_sheet}-{self.parcel_no}"

    @classmethod
    def parse(cls, parcel_id: str) -> ParcelKey:
        """Parse ``"{ward_code}-{map_sheet}-{parcel_no}"``, e.g. ``"00001-12-345"``."""
        m = _PARCEL_ID.match(parcel_id.strip())
        if not m:
            raise DataError(
                f"{parcel_id!r} is not a parcel id: expected '<5-digit ward code>-<map sheet>-<parcel no>', "
                "for example '00001-12-345'"
            )
        return cls(m.group(1), int(m.group(2)), int(m.group(3)))

    def params(self) -> dict:
        return {"ward_code": self.ward_code, "map_sheet": self.map_sheet, "parcel_no": self.parcel_no}


@dataclass(frozen=True)
class ParcelData:
    """The content of one parcel version. ``geom`` is in the city CRS (EPSG:5897)."""

    key: ParcelKey
    land_use_code: str
    geom: BaseGeometry
    area_legal_m2: Decimal | None = None
    address: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class ParcelVersion:
    """A stored parcel version, as read back."""

    key: ParcelKey
    land_use_code: str
    area_legal_m2: Decimal | None
    area_m2: float
    address: str | None
    commune_code: str | None
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    geom: BaseGeometry


_KEY_WHERE = "ward_code = :ward_code AND map_sheet = :map_sheet AND parcel_no = :parcel_no"
_SELECT = (
    "SELECT ward_code, map_sheet, parcel_no, land_use_code, area_legal_m2, area_m2, address, "
    "commune_code, valid_from, valid_to, ST_AsBinary(geom) AS wkb FROM parcel_versions"
)


def _row_to_version(row) -> ParcelVersion:
    return ParcelVersion(
        key=ParcelKey(row.ward_code, row.map_sheet, row.parcel_no),
        land_use_code=row.land_use_code,
        area_legal_m2=row.area_legal_m2,
        area_m2=row.area_m2,
        address=row.address,
        commune_code=row.commune_code,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        geom=wkb.loads(bytes(row.wkb)),
    )


def ensure_map_sheet(conn: Connection, ward_code: str, sheet_no: int, scale: int | None = None) -> None:
    """Create the map sheet if it is not there yet."""
    conn.execute(
        text(
            "INSERT INTO map_sheets (ward_code, sheet_no, scale) VALUES (:w, :s, :scale) "
            "ON CONFLICT (ward_code, sheet_no) DO NOTHING"
        ),
        {"w": ward_code, "s": sheet_no, "scale": scale},
    )


def save(conn: Connection, data: ParcelData, at: dt.datetime | None = None) -> SaveResult:
    """Store ``data`` as the current version of its parcel.

    A new parcel is inserted; a parcel whose land use, legal area, address or geometry differ
    from its current version gets that version closed at ``at`` (default: the transaction's
    time) and a new one opened; an identical one is left alone.
    """
    params = {
        **data.key.params(),
        "land_use_code": data.land_use_code,
        "area_legal_m2": data.area_legal_m2,
        "address": data.address,
        "source": data.source,
        "wkb": data.geom.wkb,
        "srid": CITY_SRID,
        "at": at,
    }
    ensure_map_sheet(conn, data.key.ward_code, data.key.map_sheet)
    conn.execute(
        text(
            "INSERT INTO parcels (ward_code, map_sheet, parcel_no) VALUES (:ward_code, :map_sheet, :parcel_no) "
            "ON CONFLICT DO NOTHING"
        ),
        params,
    )
    current = conn.execute(
        text(
            "SELECT id, land_use_code IS NOT DISTINCT FROM :land_use_code "
            "AND area_legal_m2 IS NOT DISTINCT FROM CAST(:area_legal_m2 AS numeric) "
            "AND address IS NOT DISTINCT FROM :address "
            "AND ST_AsEWKB(geom) = ST_AsEWKB(ST_Multi(ST_GeomFromWKB(:wkb, :srid))) AS same "
            f"FROM parcel_versions WHERE {_KEY_WHERE} AND valid_to IS NULL FOR UPDATE"
        ),
        params,
    ).first()
    if current is not None and current.same:
        return "unchanged"
    if current is not None:
        conn.execute(
            text("UPDATE parcel_versions SET valid_to = coalesce(:at, now()) WHERE id = :id"),
            {"at": at, "id": current.id},
        )
    conn.execute(
        text(
            "INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, area_legal_m2, "
            "address, source, valid_from, geom) VALUES (:ward_code, :map_sheet, :parcel_no, :land_use_code, "
            ":area_legal_m2, :address, :source, coalesce(:at, now()), ST_Multi(ST_GeomFromWKB(:wkb, :srid)))"
        ),
        params,
    )
    return "updated" if current is not None else "inserted"


def close(conn: Connection, key: ParcelKey, at: dt.datetime | None = None) -> None:
    """End the parcel's current version (the parcel was split, merged or retired)."""
    closed = conn.execute(
        text(f"UPDATE parcel_versions SET valid_to = coalesce(:at, now()) WHERE {_KEY_WHERE} AND valid_to IS NULL"),
        {**key.params(), "at": at},
    ).rowcount
    if not closed:
        raise NotFoundError(f"parcel {key.parcel_id} has no current version to close")


def get(conn: Connection, key: ParcelKey, at: dt.datetime | None = None) -> ParcelVersion:
    """The version valid at ``at`` (default: the current one)."""
    if at is None:
        where, params = "valid_to IS NULL", {}
    else:
        where, params = "valid_from <= :at AND (valid_to IS NULL OR valid_to > :at)", {"at": at}
    row = conn.execute(text(f"{_SELECT} WHERE {_KEY_WHERE} AND {where}"), {**key.params(), **params}).first()
    if row is None:
        when = "now" if at is None else f"at {at.isoformat()}"
        raise NotFoundError(f"parcel {key.parcel_id} has no version valid {when}")
    return _row_to_version(row)


def history(conn: Connection, key: ParcelKey) -> list[ParcelVersion]:
    """All versions of a parcel, oldest first."""
    rows = conn.execute(text(f"{_SELECT} WHERE {_KEY_WHERE} ORDER BY valid_from"), key.params())
    return [_row_to_version(r) for r in rows]


def assign_communes(conn: Connection) -> int:
    """Set each current parcel version's current commune from the admin boundaries.

    A parcel goes to the current commune that contains a point on its surface; returns the
    number of versions whose assignment changed.
    """
    return conn.execute(
        text(
            "UPDATE parcel_versions p SET commune_code = a.code FROM admin_units a "
            "WHERE p.valid_to IS NULL AND a.level = 'commune' AND a.valid_to IS NULL "
            "AND ST_Intersects(a.geom, ST_PointOnSurface(p.geom)) "
            "AND p.commune_code IS DISTINCT FROM a.code"
        )
    ).rowcount


# --- bulk loading through a staging table (used by etl.parcels) -------------------------------

#: Columns of the staging table, in the order rows are copied.
STAGE_COLUMNS = (
    "row_no", "ward_code", "map_sheet", "parcel_no", "land_use_raw", "area_legal", "address",
    "owner_name", "owner_id", "birth_year", "geom", "problem",
)


def stage_create(conn: Connection) -> None:
    """A temporary staging table that lives as long as the load's transaction."""
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_parcels (
            row_no integer PRIMARY KEY, ward_code text, map_sheet integer, parcel_no integer,
            land_use_raw text, land_use_code text, area_legal numeric(14, 2), address text,
            owner_name text, owner_id text, birth_year smallint,
            geom geometry(MultiPolygon, {CITY_SRID}), problem text
        ) ON COMMIT DROP
    """))


def stage_copy(conn: Connection, rows) -> None:
    """COPY ``rows`` (tuples in STAGE_COLUMNS order; geometry as hex EWKB) into the stage."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY stage_parcels ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def stage_flag(conn: Connection) -> list[str]:
    """Mark the staged rows that cannot be loaded; returns warnings about checks not made.

    Later rows with a key seen before are duplicates; codes resolve through the current and the
    legacy code lists; parcels must touch the city (the union of all loaded admin units).
    """
    conn.execute(text("""
        UPDATE stage_parcels s
        SET problem = format('duplicate key %s (first at row %s)', s.ward_code || '-' || s.map_sheet || '-' || s.parcel_no, d.first_row)
        FROM (SELECT row_no, min(row_no) OVER (PARTITION BY ward_code, map_sheet, parcel_no) AS first_row
              FROM stage_parcels WHERE parcel_no IS NOT NULL) d
        WHERE s.row_no = d.row_no AND d.row_no <> d.first_row
    """))
    conn.execute(text("""
        UPDATE stage_parcels s SET land_use_code = m.code
        FROM (SELECT code AS src, code FROM land_use_types
              UNION ALL SELECT legacy_code, code FROM land_use_legacy_codes) m
        WHERE upper(s.land_use_raw) = m.src;
        UPDATE stage_parcels SET problem = CASE WHEN land_use_raw IS NULL THEN 'missing land-use code'
            ELSE format('unknown land-use code %L (not in Circular 08/2024 nor 27/2018)', land_use_raw) END
        WHERE problem IS NULL AND land_use_code IS NULL;
    """))
    if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM admin_units)")).scalar():
        return ["no administrative boundaries are loaded, so parcels were not checked against the city "
                "boundary; load them first with `landflood etl admin`"]
    conn.execute(text("""
        CREATE TEMP TABLE stage_city ON COMMIT DROP AS
            SELECT ST_Subdivide(ST_Union(geom), 64) AS geom FROM admin_units;
        CREATE INDEX ON stage_city USING gist (geom);
        ANALYZE stage_city;
        UPDATE stage_parcels s SET problem = 'outside the city (touches no administrative unit)'
        WHERE problem IS NULL AND NOT EXISTS (SELECT 1 FROM stage_city c WHERE ST_Intersects(c.geom, s.geom));
    """))
    return []


def stage_rejects(conn: Connection) -> list[tuple[int, str | None, str]]:
    """(row, parcel_id or None, reason) of every flagged row."""
    return [tuple(r) for r in conn.execute(text(
        "SELECT row_no, CASE WHEN parcel_no IS NULL THEN NULL ELSE ward_code || '-' || map_sheet || '-' || parcel_no END, "
        "problem FROM stage_parcels WHERE problem IS NOT NULL ORDER BY row_no"
    ))]


def stage_merge(conn: Connection, at: dt.datetime | None = None) -> dict[str, int]:
    """Upsert the good staged rows by natural key, keeping history.

    New parcels are inserted; a parcel whose content differs from its current version gets that
    version closed and a new one opened at ``at`` (default: the transaction's time); identical
    ones are left alone. Returns counts of inserted, updated and unchanged parcels.
    """
    p = {"at": at}
    conn.execute(text("""
        INSERT INTO map_sheets (ward_code, sheet_no)
            SELECT DISTINCT ward_code, map_sheet FROM stage_parcels WHERE problem IS NULL
            ON CONFLICT DO NOTHING;
        INSERT INTO parcels (ward_code, map_sheet, parcel_no)
            SELECT ward_code, map_sheet, parcel_no FROM stage_parcels WHERE problem IS NULL
            ON CONFLICT DO NOTHING;
        CREATE TEMP TABLE stage_diff ON COMMIT DROP AS
            SELECT s.row_no, v.id AS current_id,
                   CASE WHEN v.id IS NULL THEN 'inserted'
                        WHEN v.land_use_code = s.land_use_code
                             AND v.area_legal_m2 IS NOT DISTINCT FROM s.area_legal
                             AND v.address IS NOT DISTINCT FROM s.address
                             AND ST_AsEWKB(v.geom) = ST_AsEWKB(s.geom) THEN 'unchanged'
                        ELSE 'updated' END AS action
            FROM stage_parcels s
            LEFT JOIN parcel_versions v ON v.ward_code = s.ward_code AND v.map_sheet = s.map_sheet
                 AND v.parcel_no = s.parcel_no AND v.valid_to IS NULL
            WHERE s.problem IS NULL;
    """))
    conn.execute(text("""
        UPDATE parcel_versions SET valid_to = coalesce(CAST(:at AS timestamptz), now())
        WHERE id IN (SELECT current_id FROM stage_diff WHERE action = 'updated')
    """), p)
    conn.execute(text("""
        INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, area_legal_m2, address,
                                     commune_code, source, valid_from, geom)
        SELECT s.ward_code, s.map_sheet, s.parcel_no, s.land_use_code, s.area_legal, s.address,
               (SELECT a.code FROM admin_units a WHERE a.level = 'commune' AND a.valid_to IS NULL
                  AND ST_Intersects(a.geom, ST_PointOnSurface(s.geom)) LIMIT 1),
               current_setting('landflood.actor', true), coalesce(CAST(:at AS timestamptz), now()), s.geom
        FROM stage_parcels s JOIN stage_diff d USING (row_no)
        WHERE d.action <> 'unchanged'
        ORDER BY s.ward_code, s.map_sheet, s.parcel_no
    """), p)
    counts = dict(conn.execute(text("SELECT action, count(*) FROM stage_diff GROUP BY action")).all())
    return {k: int(counts.get(k, 0)) for k in ("inserted", "updated", "unchanged")}
