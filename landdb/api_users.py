"""Every query on API users (``api_users``) and their sign-in sessions (``api_sessions``).

Tokens and session secrets are random; only their SHA-256 is stored. A revoked user keeps its
row and id, so the audit log's actor (``api:<name>#<id>``) names one user forever, even when
the name is given to someone new later.

The CLI manages users through SQLAlchemy connections; the API looks them up and keeps
sessions on its own psycopg connections (the ``%(name)s`` statements below).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import psycopg
from sqlalchemy import Connection, text

from landdb.codes import ROLES
from landflood.errors import ConflictError, NotFoundError


@dataclass(frozen=True)
class ApiUser:
    id: int
    name: str
    role: str

    @property
    def actor(self) -> str:
        """How the audit log names this user: the id makes a reused name unambiguous."""
        return f"api:{self.name}#{self.id}"


def secret_hash(secret: str) -> str:
    # A 256-bit random secret needs no slow hash: guessing it is hopeless either way.
    return hashlib.sha256(secret.encode()).hexdigest()


def add(conn: Connection, name: str, role: str) -> str:
    """Create a user and return their new token (shown once; only its hash is kept)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if conn.execute(text("SELECT 1 FROM api_users WHERE name = :n AND revoked_at IS NULL"), {"n": name}).first():
        raise ConflictError(f"user {name!r} exists; pick another name or revoke it first "
                            "(landflood users revoke NAME)")
    token = "lf_" + secrets.token_urlsafe(32)
    conn.execute(text("INSERT INTO api_users (name, role, token_hash) VALUES (:n, :r, :h)"),
                 {"n": name, "r": role, "h": secret_hash(token)})
    return token


def revoke(conn: Connection, name: str) -> None:
    """Revoke a user's token and end their sessions; the name becomes free for a new user."""
    uid = conn.execute(text("UPDATE api_users SET revoked_at = now() WHERE name = :n AND revoked_at IS NULL "
                            "RETURNING id"), {"n": name}).scalar()
    if uid is None:
        raise NotFoundError(f"no user {name!r}; `landflood users list` shows them")
    conn.execute(text("DELETE FROM api_sessions WHERE user_id = :u"), {"u": uid})


def list_users(conn: Connection, revoked: bool = False) -> list[tuple[str, str, str, str]]:
    """(name, role, created, revoked or '') of every active user, and of revoked ones if asked."""
    rows = conn.execute(text(
        "SELECT name, role, to_char(created_at, 'YYYY-MM-DD HH24:MI'), "
        "coalesce(to_char(revoked_at, 'YYYY-MM-DD HH24:MI'), '') FROM api_users "
        "WHERE revoked_at IS NULL OR :revoked ORDER BY name, id"), {"revoked": revoked})
    return [(r[0], r[1], r[2], r[3]) for r in rows]


# --- the API's lookups and sessions (psycopg connections) -------------------------------------

def user_for_token(conn: psycopg.Connection, token: str) -> ApiUser | None:
    """The active user a bearer token belongs to, or None."""
    row = conn.execute("SELECT id, name, role FROM api_users WHERE token_hash = %(h)s AND revoked_at IS NULL",
                       {"h": secret_hash(token)}).fetchone()
    return ApiUser(*row) if row else None


def open_session(conn: psycopg.Connection, user: ApiUser, hours: float) -> str:
    """A new session for ``user`` lasting ``hours``; returns the secret the cookie carries."""
    secret = secrets.token_urlsafe(32)
    with conn.transaction():
        conn.execute("DELETE FROM api_sessions WHERE expires_at <= now()")  # housekeeping, indexed by key
        conn.execute("INSERT INTO api_sessions (secret_hash, user_id, expires_at) "
                     "VALUES (%(h)s, %(u)s, now() + make_interval(secs => %(s)s))",
                     {"h": secret_hash(secret), "u": user.id, "s": hours * 3600})
    return secret


def session_user(conn: psycopg.Connection, secret: str) -> ApiUser | None:
    """The active user of an unexpired session, or None."""
    row = conn.execute(
        "SELECT u.id, u.name, u.role FROM api_sessions s JOIN api_users u ON u.id = s.user_id "
        "WHERE s.secret_hash = %(h)s AND s.expires_at > now() AND u.revoked_at IS NULL",
        {"h": secret_hash(secret)}).fetchone()
    return ApiUser(*row) if row else None


def close_session(conn: psycopg.Connection, secret: str) -> None:
    """End a session (signing out); an unknown secret is nothing to do."""
    conn.execute("DELETE FROM api_sessions WHERE secret_hash = %(h)s", {"h": secret_hash(secret)})
