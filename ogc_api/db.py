"""Pooled psycopg connections for the API: one pool for writes, one for reads (a replica if set).

A connection that broke (the server restarted) is found and replaced when it is taken from the
pool, so the service recovers by itself once the database is back. Checking costs a round trip
only when there is reason to doubt the connection (:func:`check`), not on every request.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout
from sqlalchemy import make_url

from landflood.errors import DatabaseError


def libpq_url(sqlalchemy_url: str) -> str:
    """A libpq URL for psycopg from a SQLAlchemy one."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached right now (a 503; retry later)."""


#: A connection idle for longer than this is pinged before use.
IDLE_PING_SECONDS = 5.0
_RETURNED_AT = "_landflood_returned_at"  # attribute set on a connection when it goes back to the pool


def check(conn: psycopg.Connection) -> None:
    """The pool's check on checkout: raise if ``conn`` is broken, so the pool replaces it.

    A round trip (``ConnectionPool.check_connection``) on every checkout costs as much as a
    feature-by-id query. When the server restarts or terminates a backend it sends an error
    and closes the socket, so an idle connection with something to read is suspect: that costs
    one system call. Connections idle for longer than ``IDLE_PING_SECONDS`` are pinged anyway
    (a peer that went away without a word is only found by sending).
    """
    idle = monotonic() - getattr(conn, _RETURNED_AT, 0.0)
    if idle > IDLE_PING_SECONDS or _has_input(conn):
        ConnectionPool.check_connection(conn)


def _has_input(conn: psycopg.Connection) -> bool:
    """Whether an idle connection's socket is readable (data, end of file or an error)."""
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, psycopg.Error):
        return True


def _pool(url: str, name: str) -> ConnectionPool:
    return ConnectionPool(
        libpq_url(url), name=name, min_size=1, max_size=16, open=False, timeout=5,
        kwargs={"autocommit": True, "options": "-c TimeZone=UTC -c statement_timeout=60000",
                "application_name": f"landflood-api-{name}"},
        check=check, reconnect_timeout=0,
    )


class Pools:
    """The API's connection pools."""

    def __init__(self, url: str, read_url: str | None = None) -> None:
        self.write_pool = _pool(url, "write")
        self.read_pool = _pool(read_url, "read") if read_url else self.write_pool
        self.write_pool.open(wait=False)
        if self.read_pool is not self.write_pool:
            self.read_pool.open(wait=False)

    @contextmanager
    def read(self) -> Iterator[psycopg.Connection]:
        with self._connection(self.read_pool) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[psycopg.Connection]:
        """A connection for a transaction: ``with conn.transaction(): ...``."""
        with self._connection(self.write_pool) as conn:
            yield conn

    @staticmethod
    @contextmanager
    def _connection(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
        try:
            with pool.connection() as conn:
                try:
                    yield conn
                finally:
                    setattr(conn, _RETURNED_AT, monotonic())
        except PoolTimeout as exc:
            raise DatabaseUnavailable("the database is not reachable; try again shortly") from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"the database is not reachable ({str(exc).strip().splitlines()[0]}); "
                                      "try again shortly") from exc

    def close(self) -> None:
        self.write_pool.close()
        if self.read_pool is not self.write_pool:
            self.read_pool.close()
