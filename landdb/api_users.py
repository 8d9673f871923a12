"""Every query on API users (``api_users``). Tokens are random; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, text

from landflood.errors import ConflictError, NotFoundError

ROLES = ("officer", "admin")


@dataclass(frozen=True)
class ApiUser:
    name: str
    role: str


def token_hash(token: str) -> str:
    # A 256-bit random token needs no slow hash: guessing it is hopeless either way.
    return hashlib.sha256(token.encode()).hexdigest()


def add(conn: Connection, name: str, role: str) -> str:
    """Create a user and return their new token (shown once; only its hash is kept)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if conn.execute(text("SELECT 1 FROM api_users WHERE name = :n"), {"n": name}).first():
        raise ConflictError(f"user {name!r} exists; pick another name or revoke it first "
                            "(landflood users revoke NAME)")
    token = "lf_" + secrets.token_urlsafe(32)
    conn.execute(text("INSERT INTO api_users (name, role, token_hash) VALUES (:n, :r, :h)"),
                 {"n": name, "r": role, "h": token_hash(token)})
    return token


def revoke(conn: Connection, name: str) -> None:
    """Revoke a user's token; the name becomes free again."""
    done = conn.execute(text("DELETE FROM api_users WHERE name = :n"), {"n": name}).rowcount
    if not done:
        raise NotFoundError(f"no user {name!r}; `landflood users list` shows them")


def list_users(conn: Connection) -> list[tuple[str, str, str]]:
    """(name, role, created) of every user."""
    rows = conn.execute(text("SELECT name, role, to_char(created_at, 'YYYY-MM-DD HH24:MI') FROM api_users ORDER BY name"))
    return [tuple(r) for r in rows]


LOOKUP_SQL = "SELECT name, role FROM api_users WHERE token_hash = %(h)s"
