"""The pool's checkout check: no round trip for a connection just returned, a ping for an idle
one, and a connection the server has closed is found without sending anything."""

from __future__ import annotations

import time

import psycopg
import pytest

from landdb.database import libpq_url
from ogc_api import db


@pytest.fixture
def conn(api_db):
    with psycopg.connect(libpq_url(api_db), autocommit=True) as c:
        yield c


def _messages_sent(conn: psycopg.Connection, tmp_path, fn) -> str:
    """What libpq sent and received while ``fn`` ran (its protocol trace)."""
    path = tmp_path / f"trace-{time.monotonic_ns()}"
    with path.open("w") as f:
        conn.pgconn.trace(f.fileno())
        try:
            fn()
        finally:
            conn.pgconn.untrace()
    return path.read_text()


def test_a_connection_just_returned_is_not_pinged(conn, tmp_path) -> None:
    setattr(conn, db._RETURNED_AT, time.monotonic())
    assert _messages_sent(conn, tmp_path, lambda: db.check(conn)) == ""


def test_an_idle_connection_is_pinged(conn, tmp_path) -> None:
    setattr(conn, db._RETURNED_AT, time.monotonic() - db.IDLE_PING_SECONDS - 1)
    assert "Query" in _messages_sent(conn, tmp_path, lambda: db.check(conn))


def test_a_terminated_backend_is_found_without_a_round_trip(conn, api_db) -> None:
    with psycopg.connect(libpq_url(api_db), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    time.sleep(0.2)  # the backend's goodbye reaches the socket
    setattr(conn, db._RETURNED_AT, time.monotonic())
    assert db._has_input(conn)
    with pytest.raises(psycopg.OperationalError):
        db.check(conn)


def test_the_app_replaces_a_terminated_connection_by_itself(client, api_db) -> None:
    assert client.get("/collections/parcels/items/00070-1-1").status_code == 200
    with psycopg.connect(libpq_url(api_db), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND application_name LIKE 'landflood-api-%' "
                      "AND pid <> pg_backend_pid()")
    time.sleep(0.2)
    assert [client.get("/collections/parcels/items/00070-1-1").status_code for _ in range(3)] == [200] * 3
