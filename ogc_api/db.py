"""Pooled psycopg connections for the API: one pool for writes, one for reads (a replica if set).

A connection that broke (the server restarted) is checked and replaced when it is taken from
the pool, so the service recovers by itself once the database is back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout
from sqlalchemy import make_url

from landflood.errors import DatabaseError


def libpq_url(sqlalchemy_url: str) -> str:
    """A libpq URL for psycopg from a SQLAlchemy one."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached right now (a 503; retry later)."""


def _pool(url: str, name: str) -> ConnectionPool:
    return ConnectionPool(
        libpq_url(url), name=name, min_size=1, max_size=16, open=False, timeout=5,
        kwargs={"autocommit": True, "options": "-c TimeZone=UTC -c statement_timeout=60000",
                "application_name": f"landflood-api-{name}"},
        check=ConnectionPool.check_connection, reconnect_timeout=0,
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
                yield conn
        except PoolTimeout as exc:
            raise DatabaseUnavailable("the database is not reachable; try again shortly") from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"the database is not reachable ({str(exc).strip().splitlines()[0]}); "
                                      "try again shortly") from exc

    def close(self) -> None:
        self.write_pool.close()
        if self.read_pool is not self.write_pool:
            self.read_pool.close()
