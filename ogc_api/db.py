"""Pooled psycopg connections for the API: one pool for writes, one for reads (a replica if set).

A connection that broke (the server restarted) is found and replaced when it is taken from the
pool, so the service recovers by itself once the database is back. Checking costs a round trip
only when there is reason to doubt the connection (:func:`check`), not on every request.

Every statement is bounded: the server cancels one that runs longer than the settings'
``api_timeout_s`` (``statement_timeout``), and :class:`ClientWatch` cancels the statement of a
request whose client has gone away, so that abandoned work does not go on. What the database
says then is translated once, here: a timeout is a 504 in our words, not an outage (503).
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from time import monotonic, sleep

import psycopg
from flask import has_request_context, request
from psycopg import errors as pgerrors
from psycopg_pool import ConnectionPool, PoolTimeout

from landdb.database import libpq_url
from landflood.errors import DatabaseError, QueryError, QueryTimeoutError

log = logging.getLogger(__name__)


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


def _pool(url: str, name: str, timeout_s: float) -> ConnectionPool:
    return ConnectionPool(
        libpq_url(url), name=name, min_size=1, max_size=16, open=False, timeout=5,
        kwargs={"autocommit": True,
                "options": f"-c TimeZone=UTC -c statement_timeout={int(timeout_s * 1000)}",
                "application_name": f"landflood-api-{name}"},
        check=check, reconnect_timeout=0,
    )


class ClientGone(DatabaseError):
    """The client closed its connection while its statement ran; the statement was cancelled."""


@dataclass(eq=False)
class _Watched:
    sock: socket.socket
    conn: psycopg.Connection
    since: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    cancelled: bool = False


class ClientWatch:
    """Cancels the statement of a request whose client has disconnected.

    One thread for the process looks, every ``interval`` seconds, at the sockets of the requests
    whose statement has been running for longer than that, and cancels the statement of any
    whose peer has closed. A cancel happens only while the connection is registered (each entry
    has a lock), so it can never hit the next request that uses the connection.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self._active: set[_Watched] = set()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, conn: psycopg.Connection) -> Iterator[_Watched | None]:
        sock = _client_socket()
        if sock is None:
            yield None
            return
        entry = _Watched(sock, conn, monotonic())
        with self._guard:
            self._active.add(entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="landflood-client-watch", daemon=True)
                self._thread.start()
        try:
            yield entry
        finally:
            with entry.lock, self._guard:
                self._active.discard(entry)

    def _run(self) -> None:
        while True:
            sleep(self.interval)
            with self._guard:
                due = [e for e in self._active if monotonic() - e.since > self.interval]
            for entry in due:
                with entry.lock:
                    if entry in self._active and not entry.cancelled and _closed(entry.sock):
                        entry.cancelled = True
                        log.info("client went away: cancelling its statement")
                        entry.conn.cancel_safe()


def _client_socket() -> socket.socket | None:
    """The socket of the current request's client (Werkzeug's and gunicorn's servers name it)."""
    if not has_request_context():
        return None
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    return sock if isinstance(sock, socket.socket) else None


def _closed(sock: socket.socket) -> bool:
    """Whether the peer has closed: readable, and a peek reads nothing (a pipelined request
    would be data, not an end of file)."""
    try:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN | getattr(select, "POLLRDHUP", 0))
        if not poller.poll(0):
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):
        return True


class Pools:
    """The API's connection pools."""

    def __init__(self, url: str, read_url: str | None = None, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s
        self.watch = ClientWatch()
        self.write_pool = _pool(url, "write", timeout_s)
        self.read_pool = _pool(read_url, "read", timeout_s) if read_url else self.write_pool
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

    @contextmanager
    def _connection(self, pool: ConnectionPool) -> Iterator[psycopg.Connection]:
        try:
            with pool.connection() as conn:
                try:
                    with self.watch.watching(conn) as watched:
                        try:
                            yield conn
                        except pgerrors.QueryCanceled as exc:
                            if watched is not None and watched.cancelled:
                                raise ClientGone("the client went away; its statement was cancelled") from exc
                            raise
                finally:
                    setattr(conn, _RETURNED_AT, monotonic())
        except PoolTimeout as exc:
            raise DatabaseUnavailable("the database is not reachable; try again shortly") from exc
        except psycopg.Error as exc:
            ours = translate(exc, self.timeout_s)
            if ours is exc:
                raise
            raise ours from exc

    def close(self) -> None:
        self.write_pool.close()
        if self.read_pool is not self.write_pool:
            self.read_pool.close()


#: PostGIS reports geometry and coordinate-transformation failures as internal errors (XX000).
_GEOMETRY_FAILURES = ("transform", "geos", "lwgeom", "geometry", "coordinate")


def translate(exc: psycopg.Error, timeout_s: float) -> Exception:
    """Our error for what the database said (the driver's text without SQL, never as an outage
    unless the database really is unreachable)."""
    if isinstance(exc, pgerrors.QueryCanceled):
        return QueryTimeoutError(f"the query took longer than {timeout_s:g} s and was stopped; narrow it "
                                 "(a smaller bbox or limit, a simpler filter) and try again")
    reason = _first_line(exc)
    if isinstance(exc, (psycopg.DataError, pgerrors.UndefinedFunction)) or (
            isinstance(exc, psycopg.InternalError) and any(w in reason.lower() for w in _GEOMETRY_FAILURES)):
        # A value the request gave that the database cannot use. The checks before the query
        # should have caught it; this is the backstop.
        return QueryError(f"the request's values cannot be used: {reason}")
    if isinstance(exc, psycopg.OperationalError):
        return DatabaseUnavailable(f"the database is not reachable ({reason}); try again shortly")
    return exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
