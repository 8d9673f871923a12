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
from sqlalchemy import Connection, Row, text

from landdb.models import CITY_SRID, MAX_MAP_SHEET, MAX_PARCEL_NO, WARD_CODE_PATTERN
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

    def problem(self) -> str | None:
        """Why this is not a valid key (None when it is): the one statement of the key's limits."""
        if not re.fullmatch(WARD_CODE_PATTERN, self.ward_code):
            return f"ward code {self.ward_code[:20]!r} is not a 5-digit commune code"
        if not 0 < self.map_sheet <= MAX_MAP_SHEET:
            return f"map sheet {self.map_sheet} is not a whole number from 1 to {MAX_MAP_SHEET}"
        if not 0 < self.parcel_no <= MAX_PARCEL_NO:
            return f"parcel number {self.parcel_no} is not a whole number from 1 to {MAX_PARCEL_NO:,}"
        return None

    @property
    def packed(self) -> int:
        """The key packed into one integer, as the ``parcel_key`` column holds it (PARCEL_KEY_SQL)."""
        return (self.map_sheet << 48) | (int(self.ward_code) << 31) | self.parcel_no

    def params(self) -> dict:
        return {"ward_code": self.ward_code, "map_sheet": self.map_sheet, "parcel_no": self.parcel_no,
                "parcel_key": self.packed}


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
    id: int = 0  # the version's row id


# parcel_key finds the rows through the indexes; the natural key makes the match exact.
_KEY_WHERE = ("parcel_key = :parcel_key AND ward_code = :ward_code AND map_sheet = :map_sheet "
              "AND parcel_no = :parcel_no")
_SELECT = (
    "SELECT id, ward_code, map_sheet, parcel_no, land_use_code, area_legal_m2, area_m2, address, "
    "commune_code, valid_from, valid_to, ST_AsBinary(geom) AS wkb FROM parcel_versions"
)


def _row_to_version(row: Row) -> ParcelVersion:
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
        id=row.id,
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


def lock(conn: Connection, key: ParcelKey, register: bool = False) -> bool:
    """Lock the parcel for the rest of the transaction; False when it was never registered.

    The lock is on the parcel's row in ``parcels``, which outlives its versions: a writer that
    waited for another one's lock and then reads (in a new statement) sees what the other
    committed, instead of the version row that was closed meanwhile. ``register`` first adds
    the parcel (and its map sheet) if it is new, so that two concurrent creations queue too.
    """
    if register:
        ensure_map_sheet(conn, key.ward_code, key.map_sheet)
        conn.execute(text("INSERT INTO parcels (ward_code, map_sheet, parcel_no) "
                          "VALUES (:ward_code, :map_sheet, :parcel_no) ON CONFLICT DO NOTHING"), key.params())
    return conn.execute(text("SELECT 1 FROM parcels WHERE ward_code = :ward_code AND map_sheet = :map_sheet "
                             "AND parcel_no = :parcel_no FOR UPDATE"), key.params()).first() is not None


#: A parcel version's entity tag (the API's ETag): it changes whenever anything in the row does.
ETAG_SQL = "md5(row(v.id, v.*)::text)"


def etag(conn: Connection, key: ParcelKey) -> str | None:
    """The ETag (quoted) of the parcel's current version, or None when it has none (retired)."""
    value = conn.execute(text(f"SELECT {ETAG_SQL} FROM parcel_versions v WHERE {_KEY_WHERE} AND valid_to IS NULL"),
                         key.params()).scalar()
    return f'"{value}"' if value else None


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


def last_change(conn: Connection) -> str | None:
    """When parcel versions last changed (from the audit log, by its index), or None."""
    return conn.execute(text("SELECT max(at)::text FROM audit_log WHERE table_name = 'parcel_versions'")).scalar()


# --- the registry's transactions ----------------------------------------------------------------

def versions(conn: Connection, ids: list[int]) -> list[ParcelVersion]:
    """These parcel versions, by id, in the order given."""
    rows = {r.id: _row_to_version(r) for r in conn.execute(text(f"{_SELECT} WHERE id = ANY(:ids)"), {"ids": ids})}
    return [rows[i] for i in ids if i in rows]


def open_version(conn: Connection, data: ParcelData, *, new_parcel: bool) -> int:
    """Open a version of ``data``'s parcel now; its id. ``new_parcel``: the key is new (a split's or a
    merge's result), so its ``parcels`` row is added and must not exist yet."""
    if new_parcel:
        ensure_map_sheet(conn, data.key.ward_code, data.key.map_sheet)
        conn.execute(text("INSERT INTO parcels (ward_code, map_sheet, parcel_no) "
                          "VALUES (:ward_code, :map_sheet, :parcel_no)"), data.key.params())
    return int(conn.execute(text(
        "INSERT INTO parcel_versions (ward_code, map_sheet, parcel_no, land_use_code, area_legal_m2, address, source, "
        "valid_from, geom) VALUES (:ward_code, :map_sheet, :parcel_no, :land_use_code, :area_legal_m2, :address, "
        ":source, now(), ST_Multi(ST_GeomFromWKB(:wkb, :srid))) RETURNING id"),
        {**data.key.params(), "land_use_code": data.land_use_code, "area_legal_m2": data.area_legal_m2,
         "address": data.address, "source": data.source, "wkb": data.geom.wkb, "srid": CITY_SRID}).scalar_one())


def close_version(conn: Connection, key: ParcelKey) -> int:
    """End the parcel's current version now; its id."""
    closed = conn.execute(text(f"UPDATE parcel_versions SET valid_to = now() WHERE {_KEY_WHERE} "
                               "AND valid_to IS NULL RETURNING id"), key.params()).scalar()
    if closed is None:
        raise NotFoundError(f"parcel {key.parcel_id} has no current version to close")
    return int(closed)


def taken_numbers(conn: Connection, keys: list[ParcelKey]) -> list[ParcelKey]:
    """Those of ``keys`` that some parcel has (or had: a number is never given twice)."""
    rows = conn.execute(text("SELECT ward_code, map_sheet, parcel_no FROM parcels WHERE "
                             "(ward_code, map_sheet, parcel_no) IN (SELECT * FROM unnest(CAST(:w AS text[]), "
                             "CAST(:s AS int[]), CAST(:n AS int[])))"),
                        {"w": [k.ward_code for k in keys], "s": [k.map_sheet for k in keys],
                         "n": [k.parcel_no for k in keys]})
    return [ParcelKey(r.ward_code, r.map_sheet, r.parcel_no) for r in rows]


def allocate_numbers(conn: Connection, ward_code: str, map_sheet: int, count: int) -> list[int]:
    """The next ``count`` parcel numbers of a map sheet (after the highest it ever had), with the
    sheet locked so that two registrations never take the same number."""
    ensure_map_sheet(conn, ward_code, map_sheet)
    conn.execute(text("SELECT 1 FROM map_sheets WHERE ward_code = :w AND sheet_no = :s FOR UPDATE"),
                 {"w": ward_code, "s": map_sheet})
    top = conn.execute(text("SELECT coalesce(max(parcel_no), 0) FROM parcels WHERE ward_code = :w "
                            "AND map_sheet = :s"), {"w": ward_code, "s": map_sheet}).scalar_one()
    if top + count > MAX_PARCEL_NO:
        raise DataError(f"map sheet {map_sheet} of {ward_code} has no free parcel numbers left; give the numbers")
    return list(range(top + 1, top + count + 1))


def current_near(conn: Connection, geom: BaseGeometry, distance_m: float,
                 besides: list[ParcelKey]) -> list[ParcelVersion]:
    """Current parcel versions within ``distance_m`` of ``geom`` (city CRS), other than ``besides``."""
    rows = conn.execute(text(
        f"{_SELECT} WHERE valid_to IS NULL AND ST_DWithin(geom, ST_GeomFromWKB(:wkb, :srid), :d) "
        "AND NOT parcel_key = ANY(:besides) ORDER BY map_sheet, parcel_no"),
        {"wkb": geom.wkb, "srid": CITY_SRID, "d": distance_m, "besides": [k.packed for k in besides]})
    return [_row_to_version(r) for r in rows]

