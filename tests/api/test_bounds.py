"""Every request's database work is bounded (issue 17, items 3 and 4): a statement that runs too
long is stopped and answered 504 in our words (not a 503 outage), and the statement of a client
that has gone away is cancelled instead of running on."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from tests.api.conftest import make_settings


@contextmanager
def parcels_locked(url: str) -> Iterator[None]:
    """Hold an exclusive lock on the parcel versions: every statement reading them waits."""
    eng = create_engine(url)
    with eng.connect() as conn:
        trans = conn.begin()
        conn.execute(text("LOCK TABLE parcel_versions IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            trans.rollback()
    eng.dispose()


def _api_statements(url: str) -> list[tuple[str, str]]:
    """(application, wait event type) of the API's statements running now."""
    eng = create_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(text(
            "SELECT application_name, coalesce(wait_event_type, '') FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE 'landflood-api%' "
            "AND state = 'active'")).all()
    eng.dispose()
    return [(r[0], r[1]) for r in rows]


@pytest.fixture(scope="module")
def impatient_app(api_db):
    """The app with a one-second bound on statements."""
    from landflood.app import create_app
    app = create_app(make_settings(api_db).model_copy(update={"api_timeout_s": 1.0}))
    yield app
    app.extensions["landflood"].pools.close()


@pytest.mark.parametrize("url", [
    "/collections/parcels/items?limit=5",
    "/collections/parcels/items/00070-1-1",
    "/collections/parcels/tiles/WebMercatorQuad/18/115403/208152",
])
def test_a_statement_over_the_bound_is_a_504_in_our_words(impatient_app, api_db, url) -> None:
    with parcels_locked(api_db):
        resp = impatient_app.test_client().get(url)
    assert resp.status_code == 504, resp.get_data(as_text=True)
    doc = resp.get_json()
    assert "longer than 1 s" in doc["description"] and "narrow it" in doc["description"]
    assert "cancel" not in doc["description"].lower() and "not reachable" not in doc["description"]
    assert impatient_app.test_client().get(url).status_code == 200  # and the service goes on


def test_a_write_over_the_bound_is_a_504_too(impatient_app, api_db, officer) -> None:
    client = impatient_app.test_client()
    etag = client.get("/collections/parcels/items/00070-1-4").headers["ETag"]
    with parcels_locked(api_db):
        resp = client.patch("/collections/parcels/items/00070-1-4", json={"properties": {"address": "x"}},
                            headers={**officer, "If-Match": etag})
    assert resp.status_code == 504 and "longer than 1 s" in resp.get_json()["description"]
    assert client.get("/collections/parcels/items/00070-1-4").headers["ETag"] == etag


def test_the_statement_of_a_client_that_left_is_cancelled(api_db) -> None:
    from landflood.app import create_app
    app = create_app(make_settings(api_db).model_copy(update={"api_timeout_s": 60.0}))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with parcels_locked(api_db):
            sock = socket.create_connection(("127.0.0.1", server.server_port))
            sock.sendall(b"GET /collections/parcels/items?limit=5 HTTP/1.1\r\nHost: x\r\n\r\n")
            deadline = time.monotonic() + 10
            while not any(w == "Lock" for _, w in _api_statements(api_db)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert any(w == "Lock" for _, w in _api_statements(api_db)), "the request's statement never started"
            sock.close()  # the client gives up
            deadline = time.monotonic() + 5
            while _api_statements(api_db) and time.monotonic() < deadline:
                time.sleep(0.05)
            # Cancelled while the lock is still held: without the watch it would wait for 60 s.
            assert _api_statements(api_db) == []
    finally:
        server.shutdown()
        app.extensions["landflood"].pools.close()
