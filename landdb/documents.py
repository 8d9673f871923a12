"""Every query on the documents the registry issued (``issued_documents``, migration 0009) and
their numbers (``document_number_seq``).

A number is taken before the document is drawn (it is printed on it, and in its QR code); the
row is written once the PDF exists, with the PDF's SHA-256, in the same transaction. The table
only grows: a trigger refuses any change or deletion.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, text

from landdb.codes import DOCUMENT_KINDS

#: The prefix of each kind's numbers: TL = trích lục (map extract), DL = dữ liệu (the
#: certificate's data sheet: not a certificate itself), NN = nguy cơ ngập (flood statement).
PREFIXES = {"certificate_data": "DL", "map_extract": "TL", "flood_statement": "NN"}
assert set(PREFIXES) == set(DOCUMENT_KINDS)


@dataclass(frozen=True)
class IssuedDocument:
    """An issued document as stored, with the parcel version it shows."""

    number: str
    kind: str
    audience: str
    version_id: int
    parcel_id: str
    version_valid_from: dt.datetime
    version_valid_to: dt.datetime | None
    scenario: str | None
    issued_at: dt.datetime
    issued_by: str
    content_sha256: str


def next_number(conn: Connection, kind: str, year: int) -> str:
    """A new number for a document of ``kind``, as ``TL-2026-000045`` (one sequence for every kind)."""
    n = conn.execute(text("SELECT nextval('document_number_seq')")).scalar_one()
    return f"{PREFIXES[kind]}-{year}-{n:06d}"


def now(conn: Connection) -> dt.datetime:
    """The transaction's time (what ``issued_at`` will hold)."""
    return conn.execute(text("SELECT now()")).scalar_one()


def record(conn: Connection, *, number: str, kind: str, audience: str, version_id: int, scenario: str | None,
           issued_by: str, content_sha256: str) -> None:
    """Store that the document ``number`` was issued now."""
    conn.execute(text(
        "INSERT INTO issued_documents (number, kind, audience, version_id, scenario, issued_by, content_sha256) "
        "VALUES (:number, :kind, :audience, :version_id, :scenario, :issued_by, :sha)"),
        {"number": number, "kind": kind, "audience": audience, "version_id": version_id, "scenario": scenario,
         "issued_by": issued_by, "sha": content_sha256})


def get(conn: Connection, number: str) -> IssuedDocument | None:
    """The document with this number, or None."""
    row = conn.execute(text(
        "SELECT d.number, d.kind, d.audience, d.version_id, v.parcel_id, v.valid_from AS version_valid_from, "
        "v.valid_to AS version_valid_to, d.scenario, d.issued_at, d.issued_by, d.content_sha256 "
        "FROM issued_documents d JOIN parcel_versions v ON v.id = d.version_id WHERE d.number = :n"),
        {"n": number}).first()
    return IssuedDocument(**row._mapping) if row else None
