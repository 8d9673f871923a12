"""The audit log's actor: who the triggers of migration 0002 record for the changes of a transaction."""

from __future__ import annotations

from sqlalchemy import Connection, text


def set_actor(conn: Connection, actor: str) -> None:
    """Name ``actor`` (``etl:<file>``, ``api:<name>#<id>``, ...) for the rest of the current transaction."""
    conn.execute(text("SELECT set_config('landflood.actor', :a, true)"), {"a": actor})
