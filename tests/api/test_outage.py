"""A database restart while the service runs: 503 with Retry-After, then recovery by itself."""

from __future__ import annotations

import shutil
import uuid

import pytest

from landdb import api_users
from landdb.cluster import ManagedCluster
from landdb.database import make_engine
from landdb.migrate import upgrade
from landflood.settings import Settings
from tests.helpers import CLUSTERS as TEST_ROOT
from tests.helpers import free_port


@pytest.mark.cluster
def test_a_database_restart_is_a_503_and_the_service_recovers() -> None:
    from landflood.app import create_app

    var_dir = TEST_ROOT / f"outage-{uuid.uuid4().hex[:8]}"
    cluster = ManagedCluster(Settings(var_dir=var_dir, pg_port=free_port(), database_url=None))
    try:
        cluster.start()
        url = cluster.create_database("landflood")
        upgrade(url)
        with make_engine(url).begin() as conn:
            token = api_users.add(conn, "officer", "officer")
        app = create_app(Settings(database_url=url))
        client = app.test_client()
        assert client.get("/collections/parcels/items").status_code == 200

        cluster.stop()
        signed_in = client.get("/collections/parcels/items", headers={"Authorization": f"Bearer {token}"})
        assert signed_in.status_code == 503  # the token cannot be checked either
        down = client.get("/collections/parcels/items")
        assert down.status_code == 503
        assert down.headers["Retry-After"] and "try again" in down.get_json()["description"]
        assert "Traceback" not in down.get_data(as_text=True)

        cluster.start()
        statuses = [client.get("/collections/parcels/items").status_code for _ in range(3)]
        assert statuses[-1] == 200
        assert client.get("/collections/parcels/items", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert client.get("/collections/parcels/items/1-1-1").status_code == 404

        # A restart between two requests costs no 503: the server closed the pooled connections,
        # which the pool's check sees before use (without a round trip) and replaces them.
        cluster.stop()
        cluster.start()
        assert client.get("/collections/parcels/items").status_code == 200
        assert client.get("/collections/parcels/items", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        app.extensions["landflood"].pools.close()
    finally:
        cluster.destroy()
        shutil.rmtree(var_dir, ignore_errors=True)
