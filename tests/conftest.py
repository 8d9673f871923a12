"""Shared fixtures: a real PostGIS (the managed cluster, or LANDFLOOD_DATABASE_URL) and
throwaway databases migrated to head. Nothing here mocks the database."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, make_url, text

from landdb.database import ensure_database
from landdb.migrate import upgrade
from landflood.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session", autouse=True)
def _isolated_from_the_developers_settings() -> Iterator[None]:
    """The suite sees only the settings it makes: no LANDFLOOD_* variable of the developer's shell
    and no ``.env`` (which Settings reads from the working directory: the session runs in an empty
    one, so CLI subprocesses read none either). The managed cluster under the checkout's var/
    stays the default database."""
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("LANDFLOOD_")]:
            mp.delenv(name)
        # Open to every user: the cluster tests run the CLI as an unprivileged one in it.
        cwd = Path(tempfile.mkdtemp(prefix="landflood-tests-cwd-"))
        cwd.chmod(0o755)
        mp.chdir(cwd)
        yield
    shutil.rmtree(cwd, ignore_errors=True)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The project's settings, as the CLI would build them."""
    return Settings()


@pytest.fixture(scope="session")
def server_url(settings: Settings) -> str:
    """URL of the project's database; the managed cluster is started if it is the one in use."""
    return ensure_database(settings)


class Databases:
    """Creates throwaway databases (with PostGIS) next to the project's database."""

    def __init__(self, server_url: str) -> None:
        self._admin = create_engine(server_url, isolation_level="AUTOCOMMIT", pool_size=1)
        self._url = make_url(server_url)
        self.created: list[str] = []

    def create(self, prefix: str = "landflood_test", template: str | None = None) -> str:
        """A new database (a copy of ``template``, a URL from this object, when given)."""
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        copy = f' TEMPLATE "{make_url(template).database}"' if template else ""
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        self.created.append(name)
        url = self._url.set(database=name).render_as_string(hide_password=False)
        if template:
            return url
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist"))
        engine.dispose()
        return url

    def drop_all(self) -> None:
        with self._admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def databases(server_url: str) -> Iterator[Databases]:
    dbs = Databases(server_url)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def db_url(databases: Databases) -> str:
    """A database migrated to head, shared by the session's tests."""
    url = databases.create()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def migrated_template(databases: Databases) -> str:
    """A migrated database that is never connected to, to copy from (fast)."""
    url = databases.create("landflood_tmpl")
    upgrade(url)
    return url


@pytest.fixture
def fresh_db(databases: Databases, migrated_template: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new migrated database for one test; the CLI uses it (LANDFLOOD_DATABASE_URL)."""
    url = databases.create("landflood_fresh", template=migrated_template)
    monkeypatch.setenv("LANDFLOOD_DATABASE_URL", url)
    return url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The team's ../shared folder; tests that need it skip on a user's clone without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present (a user's clone has none)")
    return SHARED
