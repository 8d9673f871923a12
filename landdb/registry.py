"""Every query on the registry's workflow tables (migration 0009): applications, the parcels and
sources they concern, transactions with the versions and rights they closed and opened, and
parcel lineage.

Applications only move forward (a trigger refuses anything else); the other tables only grow.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Row, text

from landdb.parcels import ParcelKey
from landflood.errors import NotFoundError

CLOSING_STATES = ("rejected", "cancelled", "withdrawn")
OPEN_STATES = ("lodged", "approved")


@dataclass(frozen=True)
class Application:
    """An application as stored."""

    id: int
    number: str
    idempotency_key: str | None
    service: str
    applicant_id: int
    applicant_name: str
    request: dict[str, Any]
    state: str
    lodged_at: dt.datetime
    lodged_by: str
    due_on: dt.date
    approved_at: dt.datetime | None
    approved_by: str | None
    registered_at: dt.datetime | None
    registered_by: str | None
    closed_at: dt.datetime | None
    closed_by: str | None
    close_reason: str | None
    check_report: dict[str, Any] | None
    parcel_ids: tuple[str, ...]


@dataclass(frozen=True)
class Source:
    """A source document as stored."""

    id: int
    kind: str
    number: str | None
    issued_on: dt.date | None
    issued_by: str | None
    description: str | None
    file_sha256: str | None
    file_name: str | None
    media_type: str | None
    file_bytes: int | None
    created_at: dt.datetime
    created_by: str


_APPLICATION = """
SELECT a.*, p.full_name AS applicant_name,
       coalesce((SELECT array_agg(ap.ward_code || '-' || ap.map_sheet || '-' || ap.parcel_no
                                  ORDER BY ap.ward_code, ap.map_sheet, ap.parcel_no)
                 FROM application_parcels ap WHERE ap.application_id = a.id), '{}') AS parcel_ids
FROM applications a JOIN parties p ON p.id = a.applicant_id
"""


def _application(row: Row) -> Application:
    m = row._mapping
    return Application(**{f: m[f] for f in Application.__dataclass_fields__ if f != "parcel_ids"},
                       parcel_ids=tuple(m["parcel_ids"]))


def next_number(conn: Connection, year: int) -> str:
    """A new application number (số hồ sơ), as ``HS-2026-000123``."""
    n = conn.execute(text("SELECT nextval('application_number_seq')")).scalar_one()
    return f"HS-{year}-{n:06d}"


def insert(conn: Connection, *, number: str, idempotency_key: str | None, service: str, applicant_id: int,
           request: dict[str, Any], lodged_by: str, due_on: dt.date) -> int:
    """Store a lodged application; its id."""
    return int(conn.execute(text(
        "INSERT INTO applications (number, idempotency_key, service, applicant_id, request, lodged_by, due_on) "
        "VALUES (:number, :key, :service, :applicant, CAST(:request AS jsonb), :by, :due) RETURNING id"),
        {"number": number, "key": idempotency_key, "service": service, "applicant": applicant_id,
         "request": json.dumps(request, ensure_ascii=False), "by": lodged_by, "due": due_on}).scalar_one())


def get(conn: Connection, number: str, *, lock: bool = False) -> Application:
    """The application with this number (locked for the rest of the transaction with ``lock``)."""
    if lock:
        # Lock the row alone (the aggregate query below cannot be FOR UPDATE), then read it.
        found = conn.execute(text("SELECT id FROM applications WHERE number = :n FOR UPDATE"), {"n": number}).first()
        if found is None:
            raise NotFoundError(f"there is no application {number!r}; list them with GET /registry/applications")
    row = conn.execute(text(f"{_APPLICATION} WHERE a.number = :n"), {"n": number}).first()
    if row is None:
        raise NotFoundError(f"there is no application {number!r}; list them with GET /registry/applications")
    return _application(row)


def by_idempotency_key(conn: Connection, key: str) -> Application | None:
    row = conn.execute(text(f"{_APPLICATION} WHERE a.idempotency_key = :k"), {"k": key}).first()
    return _application(row) if row else None


def add_parcels(conn: Connection, application_id: int, parcels: list[tuple[ParcelKey, int]]) -> None:
    """Name the parcels (and the version of each it was lodged against) an application concerns."""
    conn.execute(text(
        "INSERT INTO application_parcels (application_id, ward_code, map_sheet, parcel_no, version_id) "
        "VALUES (:a, :ward_code, :map_sheet, :parcel_no, :version)"),
        [{"a": application_id, **key.params(), "version": version} for key, version in parcels])


def lodged_versions(conn: Connection, application_id: int) -> dict[ParcelKey, int]:
    """The parcel versions an application was lodged against."""
    rows = conn.execute(text("SELECT ward_code, map_sheet, parcel_no, version_id FROM application_parcels "
                             "WHERE application_id = :a"), {"a": application_id})
    return {ParcelKey(r.ward_code, r.map_sheet, r.parcel_no): r.version_id for r in rows}


def open_on(conn: Connection, keys: list[ParcelKey], *, besides: int | None = None) -> list[tuple[str, str, str]]:
    """Open (lodged or approved) applications on any of these parcels, other than ``besides``:
    (number, state, parcel_id) each."""
    rows = conn.execute(text(
        "SELECT a.number, a.state, ap.ward_code || '-' || ap.map_sheet || '-' || ap.parcel_no AS parcel_id "
        "FROM application_parcels ap JOIN applications a ON a.id = ap.application_id "
        "WHERE ap.parcel_key = ANY(:keys) AND a.state IN ('lodged', 'approved') "
        "AND a.id IS DISTINCT FROM :besides ORDER BY a.number"),
        {"keys": [k.packed for k in keys], "besides": besides})
    return [(r.number, r.state, r.parcel_id) for r in rows]


Step = Literal["approved", "registered", "rejected", "cancelled", "withdrawn"]


def move(conn: Connection, application_id: int, state: Step, actor: str, reason: str | None = None) -> None:
    """Move an application to ``state``, recording who and when (the guard trigger checks the move)."""
    if state == "approved":
        sets = "approved_at = now(), approved_by = :actor"
    elif state == "registered":
        sets = "registered_at = now(), registered_by = :actor"
    else:
        sets = "closed_at = now(), closed_by = :actor, close_reason = :reason"
    conn.execute(text(f"UPDATE applications SET state = :state, {sets} WHERE id = :id"),
                 {"state": state, "actor": actor, "reason": reason, "id": application_id})


def save_report(conn: Connection, application_id: int, report: dict[str, Any]) -> None:
    """Keep the last rule check's report with the application."""
    conn.execute(text("UPDATE applications SET check_report = CAST(:r AS jsonb) WHERE id = :id"),
                 {"r": json.dumps(report, ensure_ascii=False), "id": application_id})


def listing(conn: Connection, *, states: tuple[str, ...] | None = None, due_before: dt.date | None = None,
            parcel: ParcelKey | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Application], int]:
    """Applications, the soonest due first, and how many match in all."""
    where: list[str] = ["TRUE"]
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if states:
        where.append("a.state = ANY(:states)")
        params["states"] = list(states)
    if due_before is not None:
        where.append("a.due_on < :due_before")
        params["due_before"] = due_before
    if parcel is not None:
        where.append("EXISTS (SELECT 1 FROM application_parcels x WHERE x.application_id = a.id "
                     "AND x.parcel_key = :pkey)")
        params["pkey"] = parcel.packed
    cond = " AND ".join(where)
    total = conn.execute(text(f"SELECT count(*) FROM applications a WHERE {cond}"), params).scalar_one()
    rows = conn.execute(text(f"{_APPLICATION} WHERE {cond} ORDER BY a.due_on, a.number LIMIT :limit OFFSET :offset"),
                        params)
    return [_application(r) for r in rows], int(total)


# --- sources ------------------------------------------------------------------------------------

_SOURCE_COLUMNS = ", ".join(f for f in Source.__dataclass_fields__)


def add_source(conn: Connection, *, kind: str, number: str | None, issued_on: dt.date | None,
               issued_by: str | None, description: str | None, created_by: str,
               file: tuple[str, str, str, int] | None = None) -> int:
    """Store a source document (``file``: its sha256, name, media type and size, already stored); its id."""
    sha, name, media, size = file or (None, None, None, None)
    return int(conn.execute(text(
        "INSERT INTO sources (kind, number, issued_on, issued_by, description, file_sha256, file_name, media_type, "
        "file_bytes, created_by) VALUES (:kind, :number, :issued_on, :issued_by, :description, :sha, :name, "
        ":media, :size, :by) RETURNING id"),
        {"kind": kind, "number": number, "issued_on": issued_on, "issued_by": issued_by,
         "description": description, "sha": sha, "name": name, "media": media, "size": size,
         "by": created_by}).scalar_one())


def link_source(conn: Connection, application_id: int, source_id: int) -> None:
    conn.execute(text("INSERT INTO application_sources (application_id, source_id) VALUES (:a, :s) "
                      "ON CONFLICT DO NOTHING"), {"a": application_id, "s": source_id})


def sources_of(conn: Connection, application_id: int) -> list[Source]:
    rows = conn.execute(text(
        f"SELECT {_SOURCE_COLUMNS} FROM sources s JOIN application_sources x ON x.source_id = s.id "
        "WHERE x.application_id = :a ORDER BY s.id"), {"a": application_id})
    return [Source(**r._mapping) for r in rows]


def source(conn: Connection, source_id: int) -> Source:
    row = conn.execute(text(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE id = :id"), {"id": source_id}).first()
    if row is None:
        raise NotFoundError(f"there is no source document {source_id}")
    return Source(**row._mapping)


# --- transactions and lineage -------------------------------------------------------------------

def insert_transaction(conn: Connection, application_id: int, registered_by: str) -> int:
    return int(conn.execute(text("INSERT INTO transactions (application_id, registered_by) VALUES (:a, :by) "
                                 "RETURNING id"), {"a": application_id, "by": registered_by}).scalar_one())


def record_changes(conn: Connection, transaction_id: int, table: Literal["parcel_versions", "rights"],
                   change: Literal["closed", "opened"], row_ids: list[int]) -> None:
    if row_ids:
        conn.execute(text("INSERT INTO transaction_changes (transaction_id, table_name, row_id, change) "
                          "SELECT :t, :table, unnest(CAST(:ids AS bigint[])), :change"),
                     {"t": transaction_id, "table": table, "ids": row_ids, "change": change})


def add_lineage(conn: Connection, transaction_id: int, kind: str, pairs: list[tuple[int, int]]) -> None:
    """Record that each (child version, parent version) pair came about by ``kind``."""
    if pairs:
        conn.execute(text("INSERT INTO parcel_lineage (child_version_id, parent_version_id, transaction_id, kind) "
                          "VALUES (:c, :p, :t, :k)"),
                     [{"c": c, "p": p, "t": transaction_id, "k": kind} for c, p in pairs])


@dataclass(frozen=True)
class Link:
    """A parent or child of a parcel version, and the transaction that made the link."""

    version_id: int
    parcel_id: str
    kind: str
    application_number: str
    registered_at: dt.datetime


def lineage(conn: Connection, version_ids: list[int]) -> tuple[list[Link], list[Link]]:
    """The parents and the children of these parcel versions."""
    def links(mine: str, other: str) -> list[Link]:
        rows = conn.execute(text(
            f"SELECT l.{other}_version_id AS version_id, v.parcel_id, l.kind, a.number AS application_number, "
            f"t.registered_at FROM parcel_lineage l JOIN parcel_versions v ON v.id = l.{other}_version_id "
            "JOIN transactions t ON t.id = l.transaction_id JOIN applications a ON a.id = t.application_id "
            f"WHERE l.{mine}_version_id = ANY(:ids) ORDER BY t.registered_at, v.parcel_id"), {"ids": version_ids})
        return [Link(**r._mapping) for r in rows]

    return links("child", "parent"), links("parent", "child")


@dataclass(frozen=True)
class Change:
    """A parcel version or right that a registered application closed or opened."""

    table_name: str
    row_id: int
    change: str
    application_number: str
    service: str
    registered_at: dt.datetime
    registered_by: str


def changes_of(conn: Connection, table: str, row_ids: list[int]) -> list[Change]:
    """Which transactions closed or opened these rows."""
    rows = conn.execute(text(
        "SELECT c.table_name, c.row_id, c.change, a.number AS application_number, a.service, t.registered_at, "
        "t.registered_by FROM transaction_changes c JOIN transactions t ON t.id = c.transaction_id "
        "JOIN applications a ON a.id = t.application_id "
        "WHERE c.table_name = :table AND c.row_id = ANY(:ids) ORDER BY t.registered_at"),
        {"table": table, "ids": row_ids})
    return [Change(**r._mapping) for r in rows]


def transaction_of(conn: Connection, application_id: int) -> dict[str, Any] | None:
    """The transaction that registered an application, with the rows it closed and opened."""
    row = conn.execute(text("SELECT id, registered_at, registered_by FROM transactions WHERE application_id = :a"),
                       {"a": application_id}).first()
    if row is None:
        return None
    changes = conn.execute(text("SELECT table_name, change, array_agg(row_id ORDER BY row_id) AS ids "
                                "FROM transaction_changes WHERE transaction_id = :t GROUP BY 1, 2"), {"t": row.id})
    return {"id": row.id, "registered_at": row.registered_at, "registered_by": row.registered_by,
            "changes": {f"{c.table_name}.{c.change}": list(c.ids) for c in changes}}
