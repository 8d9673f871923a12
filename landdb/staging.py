"""What the bulk loads' staging tables share (temporary tables dropped when the load commits)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from sqlalchemy import Connection, text

#: A timestamptz SQL expression as Hanoi local time, as rejects and reports show it.
LOCAL_TIME = "to_char({} AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI')"


def driver_connection(conn: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under ``conn``, for COPY (SQLAlchemy has no COPY of its own)."""
    raw = conn.connection.driver_connection
    # SQLAlchemy types it Any | None: None only once the connection is closed or invalidated.
    if not isinstance(raw, psycopg.Connection):
        raise TypeError(f"COPY needs an open psycopg connection, not {raw!r}")
    return raw


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """COPY ``rows`` (tuples in ``columns`` order; geometries as hex EWKB) into ``table``."""
    raw = driver_connection(conn)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def action_counts(conn: Connection, table: str) -> dict[str, int]:
    """How many rows of ``table`` a merge inserted, updated and left unchanged (its ``action`` column)."""
    counts: dict[str, int] = dict(conn.execute(text(f"SELECT action, count(*) FROM {table} GROUP BY action")).all())
    return {k: int(counts.get(k, 0)) for k in ("inserted", "updated", "unchanged")}
