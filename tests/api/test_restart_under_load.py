"""PostgreSQL restarted while 8 clients keep asking (issue 13, item 4): while it is down every
request fails fast as a 503 with Retry-After (none hangs, none is a 500), and once it is back every
request succeeds again within seconds, with no worker stuck. `make soak` runs it for 60 s."""

from __future__ import annotations

import os
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from werkzeug.serving import make_server

from landdb.cluster import ManagedCluster
from landdb.migrate import upgrade
from landflood.settings import Settings
from tests.api.conftest import load_city
from tests.helpers import CLUSTERS, free_port

CLIENTS = 8
SECONDS = float(os.environ.get("LANDFLOOD_SOAK_SECONDS", "12"))
URLS = ("/collections/parcels/items?limit=20", "/collections/parcels/items/00070-1-1",
        "/collections/parcels/tiles/WebMercatorQuad/18/115403/208152", "/collections/rainfall/locations")


@dataclass
class Outcome:
    at: float
    status: int
    seconds: float
    retry_after: str | None = None


@dataclass
class Load:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


@pytest.fixture
def own_cluster() -> Iterator[tuple[ManagedCluster, str]]:
    var_dir = CLUSTERS / f"soak-{uuid.uuid4().hex[:8]}"
    cluster = ManagedCluster(Settings(var_dir=var_dir, pg_port=free_port(), database_url=None))
    try:
        cluster.start()
        url = cluster.create_database("landflood")
        upgrade(url)
        load_city(url)
        yield cluster, url
    finally:
        cluster.destroy()
        shutil.rmtree(var_dir, ignore_errors=True)


def _client(base: str, load: Load, stop: threading.Event, index: int) -> None:
    n = index
    while not stop.is_set():
        url = base + URLS[n % len(URLS)]
        n += 1
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                resp.read()
                load.add(Outcome(started, resp.status, time.monotonic() - started))
        except urllib.error.HTTPError as exc:
            exc.read()
            load.add(Outcome(started, exc.code, time.monotonic() - started, exc.headers.get("Retry-After")))
        except OSError:
            load.add(Outcome(started, 0, time.monotonic() - started))  # the app itself did not answer


@pytest.mark.cluster
def test_a_restart_under_load_is_503s_then_recovery(own_cluster) -> None:
    from landflood.app import create_app

    cluster, url = own_cluster
    app = create_app(Settings(database_url=url))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    load, stop = Load(), threading.Event()
    clients = [threading.Thread(target=_client, args=(base, load, stop, i), daemon=True) for i in range(CLIENTS)]
    try:
        for c in clients:
            c.start()
        time.sleep(SECONDS / 4)
        down_at = time.monotonic()
        cluster.stop()
        time.sleep(SECONDS / 4)
        cluster.start()
        up_at = time.monotonic()
        time.sleep(SECONDS / 2)
    finally:
        stop.set()
        for c in clients:
            c.join(timeout=60)
        server.shutdown()
        app.extensions["landflood"].pools.close()
    assert not any(c.is_alive() for c in clients), "a client hung"
    statuses = Counter(o.status for o in load.outcomes)
    assert set(statuses) <= {200, 503}, statuses  # never a 500, never a dropped connection
    failed = [o for o in load.outcomes if o.status == 503]
    assert failed and all(o.retry_after for o in failed)
    assert all(o.seconds < 10 for o in failed), "a request waited instead of failing fast"
    assert all(down_at - 1 <= o.at <= up_at + 5 for o in failed), "503s long after the database was back"
    last_failure = max(o.at + o.seconds for o in failed)
    late = [o for o in load.outcomes if o.at > last_failure]
    assert late and all(o.status == 200 for o in late)
    print(f"\n{len(load.outcomes)} requests: {dict(statuses)}; database down {up_at - down_at:.1f} s; "
          f"last 503 {last_failure - up_at:+.2f} s after it was back")
