"""The managed PostGIS cluster and `landflood db start|stop|status|url`.

Every cluster here is a throwaway one in its own var dir and on its own port; the project's
cluster in var/pg, which the rest of the suite uses, is never touched.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from landdb.cluster import ManagedCluster
from landdb.database import database_url, ensure_database, make_engine
from landflood.cli import main
from landflood.errors import DatabaseError
from landflood.settings import Settings
from tests.helpers import CLUSTERS as TEST_ROOT
from tests.helpers import REPO, free_port, traversable_by

IS_ROOT = os.geteuid() == 0
TEST_USER = "landflood-test"

root_only = pytest.mark.skipif(not IS_ROOT, reason="only meaningful when the tests run as root")


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _proc_uid(pid: int) -> int:
    """Real uid of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid in /proc/{pid}/status")


@dataclass
class Throwaway:
    """A cluster of its own: var dir, port, and the CLI run against them."""

    var_dir: Path
    port: int

    @property
    def settings(self) -> Settings:
        return Settings(var_dir=self.var_dir, pg_port=self.port, database_url=None)

    @property
    def env(self) -> dict[str, str | None]:
        return {"LANDFLOOD_VAR_DIR": str(self.var_dir), "LANDFLOOD_PG_PORT": str(self.port),
                "LANDFLOOD_DATABASE_URL": None}

    @property
    def cluster(self) -> ManagedCluster:
        return ManagedCluster(self.settings)

    @property
    def state(self) -> dict:
        return json.loads((self.var_dir / "pg" / "cluster.json").read_text())

    def server_pid(self) -> int:
        """The pid PostgreSQL itself records in postmaster.pid."""
        return int((Path(self.state["data_dir"]) / "postmaster.pid").read_text().split()[0])

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["db", *args], env=self.env)


def _new(name: str, var_dir: Path | None = None, port: int | None = None) -> Throwaway:
    var_dir = var_dir or TEST_ROOT / f"{name}-{uuid.uuid4().hex[:8]}"
    assert var_dir.resolve() != (REPO / "var").resolve()  # never the project's own cluster
    return Throwaway(var_dir, port or free_port())


def _remove(made: Throwaway) -> None:
    made.cluster.destroy()
    shutil.rmtree(made.var_dir, ignore_errors=True)


@pytest.fixture
def new_cluster() -> Iterator[Callable[..., Throwaway]]:
    """Factory of throwaway clusters, stopped and deleted after the test."""
    made: list[Throwaway] = []

    def make(name: str, var_dir: Path | None = None, port: int | None = None) -> Throwaway:
        made.append(_new(name, var_dir, port))
        return made[-1]

    yield make
    for item in made:
        _remove(item)


@pytest.fixture(scope="module")
def running() -> Iterator[Throwaway]:
    """One started throwaway cluster shared by the module's read-only tests."""
    made = _new("shared")
    result = made.cli("start")
    assert result.exit_code == 0, result.output
    yield made
    _remove(made)


@pytest.mark.cluster
def test_start_stop_status_and_their_idempotency(new_cluster: Callable[..., Throwaway]) -> None:
    c = new_cluster("cycle")
    result = c.cli("status")
    assert result.exit_code == 0
    assert "not created yet" in result.output
    assert not c.var_dir.exists()  # status creates nothing

    result = c.cli("start")
    assert result.exit_code == 0, result.output
    assert f"started on 127.0.0.1:{c.port}" in result.output
    pid = c.server_pid()
    password = (c.var_dir / "pg" / "password").read_text().strip()
    assert (c.var_dir / "pg" / "password").stat().st_mode & 0o777 == 0o600

    url = c.cli("url").output.strip()
    assert url == f"postgresql+psycopg://landflood:{password}@127.0.0.1:{c.port}/landflood"
    with psycopg.connect(_libpq(url)) as conn:
        assert "POSTGIS=" in conn.execute("SELECT postgis_full_version()").fetchone()[0]
        conn.execute("CREATE TABLE kept (id int)")

    again = c.cli("start")
    assert again.exit_code == 0, again.output
    assert f"already running (pid {pid})" in again.output
    assert c.server_pid() == pid

    status = c.cli("status")
    assert f"running (pid {pid})" in status.output
    assert f"127.0.0.1:{c.port}" in status.output
    assert "landflood:***@" in status.output and password not in status.output

    stopped = c.cli("stop")
    assert stopped.exit_code == 0 and "stopped" in stopped.output
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_libpq(url), connect_timeout=3)
    again = c.cli("stop")
    assert again.exit_code == 0 and "already stopped" in again.output
    assert "stopped" in c.cli("status").output

    # Restarting keeps the data and the URL.
    assert c.cli("start").exit_code == 0
    assert c.cli("url").output.strip() == url
    with psycopg.connect(_libpq(url)) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)


@pytest.mark.cluster
@root_only
def test_server_does_not_run_as_root(running: Throwaway) -> None:
    service_user = running.state["service_user"]
    uid = _proc_uid(running.server_pid())
    assert uid != 0
    assert uid == pwd.getpwnam(service_user).pw_uid


@pytest.mark.cluster
def test_create_database_and_engine(running: Throwaway) -> None:
    cluster = running.cluster
    url = cluster.create_database("throwaway_one")
    engine = make_engine(url)
    try:
        password = (running.var_dir / "pg" / "password").read_text().strip()
        assert "***" in repr(engine.url) and password not in repr(engine.url)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT ST_AsText(ST_MakePoint(105.85, 21.03))")).scalar() == \
                "POINT(105.85 21.03)"
            conn.execute(text("CREATE TABLE gone (id int)"))
    finally:
        engine.dispose()
    cluster.create_database("throwaway_one", drop_existing=True)
    with psycopg.connect(_libpq(url)) as conn:
        assert conn.execute("SELECT to_regclass('gone')").fetchone() == (None,)
        names = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    assert {"postgis", "btree_gist"} <= names
    assert ensure_database(running.settings) == cluster.url()


@pytest.mark.cluster
def test_taken_port_at_init_picks_another_and_keeps_it(new_cluster: Callable[..., Throwaway]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        taken = other.getsockname()[1]
        c = new_cluster("collision", port=taken)
        result = c.cli("start")
        assert result.exit_code == 0, result.output
    port = c.state["port"]
    assert port != taken
    assert f"127.0.0.1:{port}" in result.output
    assert f"@127.0.0.1:{port}/" in c.cli("url").output
    assert c.cli("stop").exit_code == 0

    # Now the recorded port is taken while the cluster is stopped: a clear error.
    with socket.create_server(("127.0.0.1", port)):
        blocked = c.cli("start")
    assert blocked.exit_code == 1
    assert f"port {port}" in blocked.output and "cluster.json" in blocked.output
    assert "Traceback" not in blocked.output
    # Freed again, the cluster comes back on the port it recorded.
    result = c.cli("start")
    assert result.exit_code == 0 and f"127.0.0.1:{port}" in result.output


@pytest.mark.cluster
def test_failed_start_shows_the_server_log(new_cluster: Callable[..., Throwaway]) -> None:
    c = new_cluster("broken")
    assert c.cli("start").exit_code == 0
    assert c.cli("stop").exit_code == 0
    with (Path(c.state["data_dir"]) / "postgresql.conf").open("a") as conf:
        conf.write("shared_buffers = 'plenty'\n")
    result = c.cli("start")
    assert result.exit_code == 1
    assert "did not start" in result.output and "server.log" in result.output
    assert "shared_buffers" in result.output  # the server's own complaint, from the log


@root_only
def test_missing_service_user_is_a_clear_error(new_cluster: Callable[..., Throwaway]) -> None:
    c = new_cluster("nouser")
    result = CliRunner().invoke(main, ["db", "start"],
                                env={**c.env, "LANDFLOOD_PG_SERVICE_USER": "no-such-user-here"})
    assert result.exit_code == 1
    assert "LANDFLOOD_PG_SERVICE_USER=no-such-user-here" in result.output
    assert not (c.var_dir / "pg" / "cluster.json").exists()


@pytest.mark.cluster
def test_long_var_dir_gets_a_short_socket_dir(new_cluster: Callable[..., Throwaway]) -> None:
    c = new_cluster("long", var_dir=TEST_ROOT / ("long-" + "x" * 90 + uuid.uuid4().hex[:8]))
    assert c.cli("start").exit_code == 0
    socket_dir = Path(c.state["socket_dir"])
    assert not socket_dir.is_relative_to(c.var_dir)
    assert (socket_dir / f".s.PGSQL.{c.port}").is_socket()
    password = (c.var_dir / "pg" / "password").read_text().strip()
    with psycopg.connect(host=str(socket_dir), port=c.port, user="landflood", password=password,
                         dbname="landflood") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    c.cluster.destroy()
    assert not socket_dir.exists()


@pytest.mark.cluster
@root_only
def test_private_var_dir_is_relocated_for_the_service_user(
        new_cluster: Callable[..., Throwaway], tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    c = new_cluster("relocated", var_dir=private / "var")
    result = c.cli("start")
    assert result.exit_code == 0, result.output
    data_link = c.var_dir / "pg" / "data"
    real = Path(c.state["data_dir"])
    assert data_link.is_symlink() and data_link.resolve() == real
    assert real.is_relative_to("/var/lib/landflood/clusters")
    with psycopg.connect(_libpq(c.cli("url").output.strip())) as conn:
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")
    assert "stopped" in c.cli("stop").output
    c.cluster.destroy()
    assert not real.exists()


def _test_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not available to create an unprivileged test user")
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    TEST_USER], check=True)
    return pwd.getpwnam(TEST_USER)


def _cli_as(user: pwd.struct_passwd, env: dict[str, str | None], *args: str) -> tuple[int, str]:
    """Run `landflood db ARGS` in a forked child that has become ``user``.

    A fork rather than `runuser .venv/bin/landflood`: the venv's interpreter may live where
    the user cannot go (e.g. pyenv under /root), while the forked child has it loaded already.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        try:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            result = CliRunner().invoke(main, ["db", *args], env=env)
            payload = [result.exit_code, result.output]
        except BaseException:
            payload = [99, traceback.format_exc()]
        with os.fdopen(write_end, "w") as fh:
            json.dump(payload, fh)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as fh:
        code, output = json.load(fh)
    os.waitpid(pid, 0)
    return code, output


@pytest.mark.cluster
@root_only
def test_ordinary_user_runs_the_cluster_directly(new_cluster: Callable[..., Throwaway], tmp_path: Path) -> None:
    user = _test_user()
    if not traversable_by(user, REPO):
        pytest.skip(f"the checkout {REPO} is under a directory {user.pw_name} cannot enter, so a process "
                    "of theirs cannot load landflood's code")
    # The cluster lives where the user can reach it, whatever the checkout's own parents are.
    home = Path(tempfile.mkdtemp(prefix="landflood-as-user-", dir="/tmp"))
    os.chown(home, user.pw_uid, user.pw_gid)
    c = new_cluster("as-user", var_dir=home / "var")

    code, output = _cli_as(user, c.env, "start")
    assert code == 0, output
    assert f"started on 127.0.0.1:{c.port}" in output
    assert c.state["service_user"] == TEST_USER
    assert _proc_uid(c.server_pid()) == user.pw_uid
    assert (c.var_dir / "pg" / "password").stat().st_uid == user.pw_uid

    code, output = _cli_as(user, c.env, "status")
    assert code == 0 and f"running (pid {c.server_pid()})" in output
    code, output = _cli_as(user, c.env, "stop")
    assert code == 0 and "stopped" in output
    code, output = _cli_as(user, c.env, "stop")
    assert code == 0 and "already stopped" in output
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.cluster
@root_only
def test_a_var_dir_the_user_cannot_reach_is_a_clear_error(tmp_path: Path) -> None:
    user = _test_user()
    private = tmp_path / "private"  # pytest's tmp_path is 0700, root's
    (private / "var").mkdir(parents=True)
    env = {"LANDFLOOD_VAR_DIR": str(private / "var"), "LANDFLOOD_PG_PORT": str(free_port()),
           "LANDFLOOD_DATABASE_URL": None}
    code, output = _cli_as(user, env, "start")
    assert code == 1
    assert f"user {user.pw_name} may not enter" in output and "LANDFLOOD_VAR_DIR" in output


def test_external_url_overrides_the_managed_cluster(tmp_path: Path) -> None:
    var_dir = tmp_path / "untouched"
    port = free_port()  # nothing listens there
    env = {"LANDFLOOD_VAR_DIR": str(var_dir),
           "LANDFLOOD_DATABASE_URL": f"postgresql://someone:s3cret@127.0.0.1:{port}/elsewhere"}
    expected = f"postgresql+psycopg://someone:s3cret@127.0.0.1:{port}/elsewhere"

    def cli(*args: str) -> Result:
        return CliRunner().invoke(main, ["db", *args], env=env)

    assert cli("url").output.strip() == expected
    for command in ("start", "stop"):
        result = cli(command)
        assert result.exit_code == 0
        assert "LANDFLOOD_DATABASE_URL is set" in result.output and "not touched" in result.output
    status = cli("status")
    assert status.exit_code == 0
    assert "external database" in status.output and "not usable" in status.output
    assert "s3cret" not in status.output
    assert not var_dir.exists()

    settings = Settings(var_dir=var_dir, database_url=expected)
    assert database_url(settings) == expected
    with pytest.raises(DatabaseError, match=f"cannot connect to .*:{port}/elsewhere") as err:
        ensure_database(settings)
    assert "s3cret" not in str(err.value)
    assert not var_dir.exists()


@pytest.mark.cluster
def test_external_url_pointing_at_a_postgis(running: Throwaway, tmp_path: Path) -> None:
    var_dir = tmp_path / "untouched"
    env = {"LANDFLOOD_VAR_DIR": str(var_dir), "LANDFLOOD_DATABASE_URL": running.cluster.url()}
    status = CliRunner().invoke(main, ["db", "status"], env=env)
    assert status.exit_code == 0
    assert "reachable, PostGIS 3." in status.output
    assert ensure_database(Settings(var_dir=var_dir, database_url=running.cluster.url())) == \
        running.cluster.url()
    assert not var_dir.exists()


def test_without_a_cluster_url_says_to_start_it(tmp_path: Path) -> None:
    c = Throwaway(tmp_path / "fresh", free_port())
    result = c.cli("url")
    assert result.exit_code == 1
    assert "landflood db start" in result.output and "Traceback" not in result.output
    with pytest.raises(DatabaseError, match="landflood db start"):
        database_url(c.settings)
    assert "nothing to stop" in c.cli("stop").output
