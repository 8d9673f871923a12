"""Every query on parties (owners, with personal data) and their rights."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import Connection, Row, text

from landdb.parcel_load import GOOD
from landdb.parcels import ParcelKey

#: The kinds of right whose parties hold the parcel (its "holders"); the others (mortgage,
#: lease, restriction, easement) burden it.
HOLDING_KINDS = ("ownership", "use_right")

# Owners are matched by their ID number (12 digits: CCCD, 9: old CMND; the loader sets id_type);
# without one, by name and birth year, which can merge two namesakes: files without ID numbers
# cannot tell them apart.


def stage_merge_owners(conn: Connection) -> dict[str, int]:
    """Create the owners of the good staged parcels and give each parcel its current use right.

    A parcel whose holder changed gets the old right closed and a new one opened; an unchanged
    holder is left alone. Returns counts of parties and rights inserted and rights closed.
    """
    parties = _insert_parties(conn)
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_owner ON COMMIT DROP AS
        SELECT s.pkey, s.ward_code, s.map_sheet, s.parcel_no, p.id AS party_id
        FROM stage_parcels s JOIN parties p ON p.id_type = s.id_type AND p.id_number = s.owner_id
        WHERE {GOOD} AND s.owner_name IS NOT NULL AND s.owner_id IS NOT NULL
        UNION ALL
        SELECT s.pkey, s.ward_code, s.map_sheet, s.parcel_no, min(p.id)
        FROM stage_parcels s JOIN parties p ON p.id_number IS NULL AND p.full_name = s.owner_name
             AND p.birth_year IS NOT DISTINCT FROM s.birth_year
        WHERE {GOOD} AND s.owner_name IS NOT NULL AND s.owner_id IS NULL
        GROUP BY s.pkey, s.ward_code, s.map_sheet, s.parcel_no;
        ANALYZE stage_owner;
        CREATE TEMP TABLE stage_held ON COMMIT DROP AS
        SELECT r.id, r.parcel_key, r.party_id FROM rights r JOIN stage_owner o ON r.parcel_key = o.pkey
        WHERE r.kind = 'use_right' AND r.valid_to IS NULL;
        ANALYZE stage_held;
    """))
    closed = conn.execute(text("""
        UPDATE rights SET valid_to = now()
        WHERE id IN (SELECT h.id FROM stage_held h JOIN stage_owner o ON o.pkey = h.parcel_key
                     WHERE h.party_id <> o.party_id)
    """)).rowcount
    rights = conn.execute(text("""
        INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, share_numerator, share_denominator,
                            valid_from)
        SELECT o.ward_code, o.map_sheet, o.parcel_no, o.party_id, 'use_right', 1, 1, now() FROM stage_owner o
        WHERE NOT EXISTS (SELECT 1 FROM stage_held h WHERE h.parcel_key = o.pkey AND h.party_id = o.party_id)
        ORDER BY o.pkey
    """)).rowcount
    return {"parties_inserted": parties, "rights_inserted": rights, "rights_closed": closed}


def _insert_parties(conn: Connection) -> int:
    """Parties not known yet: by ID number (the first row of each wins), else by name and birth year."""
    inserted = conn.execute(text(f"""
        INSERT INTO parties (kind, full_name, id_type, id_number, birth_year)
        SELECT 'person', s.owner_name, s.id_type, s.owner_id, s.birth_year
        FROM stage_parcels s JOIN (
            SELECT min(s.row_no) AS row_no FROM stage_parcels s
            WHERE {GOOD} AND s.owner_name IS NOT NULL AND s.owner_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM parties p WHERE p.id_type = s.id_type AND p.id_number = s.owner_id)
            GROUP BY s.id_type, s.owner_id) f USING (row_no)
        ORDER BY s.id_type, s.owner_id
        ON CONFLICT (id_type, id_number) DO NOTHING
    """)).rowcount
    return inserted + conn.execute(text(f"""
        INSERT INTO parties (kind, full_name, birth_year)
        SELECT DISTINCT 'person', owner_name, birth_year FROM stage_parcels s
        WHERE {GOOD} AND owner_name IS NOT NULL AND owner_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM parties p WHERE p.id_number IS NULL AND p.full_name = s.owner_name
                          AND p.birth_year IS NOT DISTINCT FROM s.birth_year)
    """)).rowcount


# --- single parties and rights (the registry's transactions) ----------------------------------

@dataclass(frozen=True)
class PartyData:
    """Who a party is, as an application names them."""

    full_name: str
    kind: str = "person"
    id_type: str | None = None
    id_number: str | None = None
    birth_year: int | None = None
    address: str | None = None


@dataclass(frozen=True)
class RightRow:
    """A right as stored, with its party."""

    id: int
    key: ParcelKey
    party_id: int
    party_name: str
    party_kind: str
    id_type: str | None
    id_number: str | None
    kind: str
    share: Fraction | None
    rank: int | None
    certificate_no: str | None
    use_term_end: dt.date | None
    description: str | None
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    birth_year: int | None = None  # the party's
    party_address: str | None = None


@dataclass(frozen=True)
class NewRight:
    """A right to open on a parcel."""

    key: ParcelKey
    party_id: int
    kind: str
    share: Fraction | None = None
    rank: int | None = None
    certificate_no: str | None = None
    use_term_end: dt.date | None = None
    description: str | None = None


def find_party(conn: Connection, party: PartyData) -> int | None:
    """The stored party with this ID document (or, without one, this name and birth year)."""
    if party.id_number:
        return conn.execute(text("SELECT id FROM parties WHERE id_type = :t AND id_number = :n"),
                            {"t": party.id_type, "n": party.id_number}).scalar()
    return conn.execute(text("SELECT min(id) FROM parties WHERE id_number IS NULL AND full_name = :name "
                             "AND birth_year IS NOT DISTINCT FROM CAST(:year AS smallint) AND kind = :kind"),
                        {"name": party.full_name, "year": party.birth_year, "kind": party.kind}).scalar()


def find_or_add_party(conn: Connection, party: PartyData) -> int:
    """The party's id, adding it when it is not known yet (matched as :func:`find_party` does)."""
    found = find_party(conn, party)
    if found is not None:
        return int(found)
    return int(conn.execute(text(
        "INSERT INTO parties (kind, full_name, id_type, id_number, birth_year, address) "
        "VALUES (:kind, :name, :t, :n, :year, :address) RETURNING id"),
        {"kind": party.kind, "name": party.full_name, "t": party.id_type, "n": party.id_number,
         "year": party.birth_year, "address": party.address}).scalar_one())


def _right(row: Row) -> RightRow:
    share = Fraction(row.share_numerator, row.share_denominator) if row.share_numerator else None
    return RightRow(id=row.id, key=ParcelKey(row.ward_code, row.map_sheet, row.parcel_no), party_id=row.party_id,
                    party_name=row.full_name, party_kind=row.party_kind, id_type=row.id_type,
                    id_number=row.id_number, kind=row.kind, share=share, rank=row.rank,
                    certificate_no=row.certificate_no, use_term_end=row.use_term_end, description=row.description,
                    valid_from=row.valid_from, valid_to=row.valid_to, birth_year=row.birth_year,
                    party_address=row.party_address)


_RIGHTS = ("SELECT r.*, p.full_name, p.kind AS party_kind, p.id_type, p.id_number, p.birth_year, "
           "p.address AS party_address "
           "FROM rights r JOIN parties p ON p.id = r.party_id")


def current_rights(conn: Connection, keys: list[ParcelKey], *, lock: bool = False) -> list[RightRow]:
    """The current rights on these parcels (holders first, then by rank and name); ``lock`` locks
    them for the rest of the transaction."""
    rows = conn.execute(text(
        f"{_RIGHTS} WHERE r.parcel_key = ANY(:keys) AND r.valid_to IS NULL "
        "ORDER BY r.parcel_key, r.kind NOT IN ('ownership', 'use_right'), r.rank NULLS FIRST, p.full_name, r.id"
        + (" FOR UPDATE OF r" if lock else "")), {"keys": [k.packed for k in keys]})
    return [_right(r) for r in rows]


def rights_history(conn: Connection, key: ParcelKey) -> list[RightRow]:
    """Every right the parcel has had, oldest first."""
    rows = conn.execute(text(f"{_RIGHTS} WHERE r.parcel_key = :parcel_key AND r.ward_code = :ward_code "
                             "AND r.map_sheet = :map_sheet AND r.parcel_no = :parcel_no "
                             "ORDER BY r.valid_from, r.id"), key.params())
    return [_right(r) for r in rows]


def close_rights(conn: Connection, ids: list[int]) -> None:
    """End these rights now (the transaction's time)."""
    if ids:
        conn.execute(text("UPDATE rights SET valid_to = now() WHERE id = ANY(:ids) AND valid_to IS NULL"),
                     {"ids": ids})


def open_rights(conn: Connection, rights: list[NewRight]) -> list[int]:
    """Open these rights now; their ids, in order."""
    return [int(conn.execute(text(
        "INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, share_numerator, share_denominator, "
        "rank, certificate_no, use_term_end, description, valid_from) VALUES (:ward_code, :map_sheet, :parcel_no, "
        ":party, :kind, :num, :den, :rank, :cert, :term, :description, now()) RETURNING id"),
        {**r.key.params(), "party": r.party_id, "kind": r.kind,
         "num": r.share.numerator if r.share is not None else None,
         "den": r.share.denominator if r.share is not None else None, "rank": r.rank,
         "cert": r.certificate_no, "term": r.use_term_end, "description": r.description}).scalar_one())
        for r in rights]
