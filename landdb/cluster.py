"""The managed PostGIS cluster: a project-local PostgreSQL server under ``var_dir/pg``.

Used whenever ``LANDFLOOD_DATABASE_URL`` is unset. The cluster listens on 127.0.0.1 and on
its own socket directory, on its own port, so it never collides with a PostgreSQL already
on the machine. Layout::

    var_dir/pg/data          PGDATA (a symlink when relocated, see below)
    var_dir/pg/run           unix socket directory
    var_dir/pg/password      password of the superuser ``landflood`` (mode 0600)
    var_dir/pg/cluster.json  port, PostgreSQL major version, service user, real paths
    var_dir/pg/server.log    server log

PostgreSQL refuses to run as root. When landflood runs as root, the server runs as a
non-root service user via ``runuser``; if that user cannot reach ``var_dir`` (a checkout
under a private directory such as /root), the data directory moves to
``/var/lib/landflood/clusters/<hash>`` and ``var_dir/pg/data`` links to it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from landflood.errors import ClusterError, ConfigError
from landflood.settings import Settings

logger = logging.getLogger(__name__)

SUPERUSER = "landflood"
EXTENSIONS = ("postgis", "btree_gist")
_HOST = "127.0.0.1"
_PG_ROOT = Path("/usr/lib/postgresql")
_RELOCATION_ROOT = Path("/var/lib/landflood/clusters")
_FALLBACK_SERVICE_USER = "landflood"
_MAX_SOCKET_PATH = 107  # bytes in sockaddr_un.sun_path, without the terminating NUL
_PORT_SCAN = 100
_TIMEOUT = 60  # seconds pg_ctl waits for start and stop
_SETUP_HINT = ("run `make setup` (installs postgresql and postgresql-postgis), or set "
               "LANDFLOOD_DATABASE_URL to an existing PostGIS database")


@dataclass(frozen=True)
class ClusterStatus:
    """What ``landflood db status`` reports about the managed cluster."""

    initialised: bool
    running: bool
    pid: int | None
    port: int | None
    data_dir: Path
    version: str | None
    url: str | None


@dataclass(frozen=True)
class _State:
    """Contents of cluster.json, written once at initialisation."""

    port: int
    pg_version: str
    service_user: str
    data_dir: str
    socket_dir: str

    @property
    def log_file(self) -> Path:
        return Path(self.data_dir).parent / "server.log"


class ManagedCluster:
    """The project-local PostgreSQL cluster of one ``var_dir``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.var_dir / "pg"
        self.data_link = self.home / "data"
        self.password_file = self.home / "password"
        self.state_file = self.home / "cluster.json"
        self.log_file = self.home / "server.log"

    @property
    def initialised(self) -> bool:
        return self.state_file.is_file()

    # -- public operations -------------------------------------------------------------

    def start(self) -> str:
        """Start the cluster (creating it on first use) and ensure the database exists.

        Idempotent; returns a one-line summary of what happened.
        """
        with self._lock():
            state = self._state() if self.initialised else self._init()
            pid = self._pid(state)
            if pid is None:
                self._start_server(state)
                message = f"started on 127.0.0.1:{state.port} (data in {state.data_dir})"
            else:
                message = f"already running (pid {pid}) on 127.0.0.1:{state.port}"
            self._ensure_database(state, self.settings.db_name)
        return message

    def stop(self) -> str:
        """Stop the cluster (fast shutdown). Idempotent; returns a one-line summary."""
        if not self.initialised:
            return f"no managed cluster in {self.home}; nothing to stop"
        with self._lock():
            state = self._state()
            if self._pid(state) is None:
                return f"already stopped (port {state.port})"
            proc = self._run(state.service_user, [self._bin(state, "pg_ctl"), "stop", "-D",
                                                  state.data_dir, "-m", "fast", "-w", "-t", str(_TIMEOUT)])
            if proc.returncode != 0:
                raise ClusterError(f"pg_ctl could not stop the managed cluster: {_output(proc)}. "
                                   f"See {state.log_file}.")
        return f"stopped (port {state.port})"

    def status(self) -> ClusterStatus:
        """Whether the cluster exists and runs, and where."""
        if not self.initialised:
            return ClusterStatus(False, False, None, None, self.data_link, None, None)
        state = self._state()
        pid = self._pid(state)
        return ClusterStatus(True, pid is not None, pid, state.port, Path(state.data_dir),
                             state.pg_version, self.url())

    def url(self, dbname: str | None = None) -> str:
        """SQLAlchemy URL of a database in the cluster (default: ``settings.db_name``)."""
        state = self._state()
        return (f"postgresql+psycopg://{SUPERUSER}:{quote(self._password(), safe='')}"
                f"@{_HOST}:{state.port}/{quote(dbname or self.settings.db_name, safe='')}")

    def create_database(self, name: str, drop_existing: bool = False) -> str:
        """Create database ``name`` with PostGIS and btree_gist in the running cluster; return its URL."""
        state = self._state()
        if self._pid(state) is None:
            raise ClusterError("the managed cluster is not running; run `landflood db start` first")
        self._ensure_database(state, name, drop_existing=drop_existing)
        return self.url(name)

    def destroy(self) -> None:
        """Stop the cluster and delete it with all its data, relocated parts included."""
        if self.initialised:
            state = self._state()
            try:
                self.stop()
            except ClusterError as exc:  # e.g. its data directory is already gone
                logger.warning("%s", exc)
            for path in (Path(state.data_dir).parent, Path(state.socket_dir)):
                if not path.is_relative_to(self.home):
                    shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)
        logger.info("removed the managed cluster in %s", self.home)

    # -- initialisation ----------------------------------------------------------------

    def _init(self) -> _State:
        bindir = _find_bindir(self.settings, None)
        major = _major_version(bindir)
        user = self._service_user()
        data_dir = self._choose_data_dir(user)
        self._remove_leftover(data_dir, bindir, user)
        port = _pick_port(self.settings.pg_port)
        socket_dir = self._choose_socket_dir(data_dir, port)

        if data_dir != self.data_link:
            _mkdir(data_dir.parent, user)
            self.data_link.symlink_to(data_dir)
            self.log_file.symlink_to(data_dir.parent / "server.log")
        _mkdir(data_dir, user)
        password = secrets.token_urlsafe(24)
        _write_private(self.password_file, password)
        self._initdb(bindir, data_dir, user, password)
        with (data_dir / "postgresql.conf").open("a") as conf:
            # Port and socket directory live in an include that start() rewrites from
            # cluster.json, so cluster.json stays the one place to change them.
            conf.write("\n# landflood: listen address, port, socket directory\ninclude = 'landflood.conf'\n")

        state = _State(port, major, user.pw_name, str(data_dir), str(socket_dir))
        self.state_file.write_text(json.dumps(dataclasses.asdict(state), indent=2) + "\n")
        logger.info("initialised a new cluster in %s (PostgreSQL %s, port %s, server runs as %s)",
                    data_dir, major, port, user.pw_name)
        return state

    def _service_user(self) -> pwd.struct_passwd:
        """The OS user the server runs as: ourselves, or a non-root user when we are root."""
        if os.geteuid() != 0:
            return pwd.getpwuid(os.geteuid())
        name = self.settings.pg_service_user
        with contextlib.suppress(KeyError):
            return _non_root(pwd.getpwnam(name))
        if name != "postgres":
            raise ConfigError(f"LANDFLOOD_PG_SERVICE_USER={name} is not a user on this machine; "
                              "create it, or unset the setting to use a system user `landflood`")
        with contextlib.suppress(KeyError):
            return _non_root(pwd.getpwnam(_FALLBACK_SERVICE_USER))
        shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
        proc = _exec(["useradd", "--system", "--no-create-home", "--shell", shell, _FALLBACK_SERVICE_USER])
        if proc.returncode != 0:
            raise ClusterError(f"cannot create the system user {_FALLBACK_SERVICE_USER} to run the "
                               f"server ({_output(proc)}); set LANDFLOOD_PG_SERVICE_USER to an existing "
                               "non-root user")
        logger.info("created system user %s to run the managed cluster (PostgreSQL refuses to run "
                    "as root)", _FALLBACK_SERVICE_USER)
        return pwd.getpwnam(_FALLBACK_SERVICE_USER)

    def _choose_data_dir(self, user: pwd.struct_passwd) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0 or self._run(user.pw_name, ["test", "-x", self.home]).returncode == 0:
            return self.data_link
        for shared in (_RELOCATION_ROOT.parent, _RELOCATION_ROOT):  # traversable by any service user
            shared.mkdir(mode=0o755, exist_ok=True)
            shared.chmod(0o755)
        relocated = _RELOCATION_ROOT / _digest(self.settings.var_dir) / "data"
        logger.info("user %s cannot reach %s (a parent directory is private), so the data "
                    "directory is %s, linked from %s", user.pw_name, self.home, relocated, self.data_link)
        return relocated

    def _remove_leftover(self, data_dir: Path, bindir: Path, user: pwd.struct_passwd) -> None:
        """Clear what an interrupted initialisation or a deleted var dir left behind.

        Without cluster.json and its password such a cluster is unusable anyway.
        """
        for link in (self.data_link, self.log_file):
            if link.is_symlink():
                link.unlink()
        if not data_dir.exists():
            return
        if (data_dir / "postmaster.pid").exists():
            self._run(user.pw_name, [bindir / "pg_ctl", "stop", "-D", data_dir, "-m", "fast", "-w"])
        shutil.rmtree(data_dir)
        logger.warning("removed %s, left over from an earlier cluster without %s", data_dir,
                       self.state_file.name)

    def _choose_socket_dir(self, data_dir: Path, port: int) -> Path:
        socket_dir = data_dir.parent / "run"
        if len(str(socket_dir / f".s.PGSQL.{port}").encode()) <= _MAX_SOCKET_PATH:
            return socket_dir
        short = Path(tempfile.gettempdir()) / f"landflood-{_digest(self.settings.var_dir)}"
        logger.info("socket path under %s would exceed %s bytes; using %s", socket_dir,
                    _MAX_SOCKET_PATH, short)
        return short

    def _initdb(self, bindir: Path, data_dir: Path, user: pwd.struct_passwd, password: str) -> None:
        # A copy the service user can read; the real password file stays ours.
        pwfile = data_dir.parent / ".initdb-password"
        _write_private(pwfile, password, user)
        locale = ["--locale=C.UTF-8"] if _has_c_utf8() else ["--no-locale"]
        try:
            proc = self._run(user.pw_name, [
                bindir / "initdb", "-D", data_dir, "-U", SUPERUSER, f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", *locale])
        finally:
            pwfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise ClusterError(f"initdb failed in {data_dir}: {_output(proc)}")

    # -- running -----------------------------------------------------------------------

    def _start_server(self, state: _State) -> None:
        if not _port_free(state.port):
            raise ClusterError(
                f"port {state.port} on 127.0.0.1 is in use by another program. Stop that program, "
                f'or change "port" in {self.state_file} to a free port and run `landflood db start` again')
        user = _user(state.service_user)
        _mkdir(Path(state.socket_dir), user)
        conf = Path(state.data_dir) / "landflood.conf"
        conf.write_text("# Written by landflood at each start from cluster.json; edit that instead.\n"
                        f"listen_addresses = '{_HOST}'\nport = {state.port}\n"
                        f"unix_socket_directories = '{_conf_quote(state.socket_dir)}'\n")
        _chown(conf, user)
        state.log_file.touch(mode=0o600)
        _chown(state.log_file, user)
        proc = self._run(state.service_user, [self._bin(state, "pg_ctl"), "start", "-D", state.data_dir,
                                              "-l", state.log_file, "-w", "-t", str(_TIMEOUT)])
        if proc.returncode != 0:
            raise ClusterError(f"the managed cluster did not start ({_output(proc)}). Last lines of "
                               f"{state.log_file}:\n{_tail(state.log_file)}")

    def _ensure_database(self, state: _State, name: str, drop_existing: bool = False) -> None:
        """Create database ``name`` if missing, with the extensions landflood needs."""
        connect = functools.partial(psycopg.connect, host=_HOST, port=state.port, user=SUPERUSER,
                                    password=self._password(), connect_timeout=10, autocommit=True)
        ident = sql.Identifier(name)
        try:
            with connect(dbname="postgres") as conn:
                if drop_existing:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
                    logger.info("created database %s", name)
            with connect(dbname=name) as conn:
                for ext in EXTENSIONS:
                    conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)))
        except psycopg.Error as exc:
            raise ClusterError(f"the managed cluster on port {state.port} runs, but database {name} "
                               f"could not be prepared: {exc}. See {state.log_file}") from exc

    def _pid(self, state: _State) -> int | None:
        """Pid of the running server, or None when it is stopped."""
        proc = self._run(state.service_user, [self._bin(state, "pg_ctl"), "status", "-D", state.data_dir])
        if proc.returncode == 3:
            return None
        match = re.search(r"PID: (\d+)", proc.stdout)
        if proc.returncode != 0 or match is None:
            raise ClusterError(
                f"cannot tell whether the managed cluster runs ({_output(proc)}). If its data "
                f"directory {state.data_dir} is gone, remove {self.home} and run `landflood db start`")
        return int(match.group(1))

    # -- helpers -----------------------------------------------------------------------

    def _state(self) -> _State:
        try:
            return _State(**json.loads(self.state_file.read_text()))
        except FileNotFoundError:
            raise ClusterError(f"there is no managed cluster in {self.home} yet; run "
                               "`landflood db start` to create it") from None
        except (ValueError, TypeError) as exc:
            raise ClusterError(f"{self.state_file} is damaged ({exc}); repair it, or remove {self.home} "
                               "(this deletes the database) and run `landflood db start`") from exc

    def _password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except OSError as exc:
            raise ClusterError(f"cannot read the cluster password in {self.password_file} ({exc}); "
                               "run landflood as the user who created the cluster") from exc

    def _bin(self, state: _State, program: str) -> Path:
        return _find_bindir(self.settings, state.pg_version) / program

    def _run(self, service_user: str, args: Sequence[str | Path]) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program as the service user (via runuser when we are root)."""
        cmd = [str(a) for a in args]
        if os.geteuid() == 0:
            return _exec(["runuser", "-u", service_user, "--", *cmd])
        me = pwd.getpwuid(os.geteuid()).pw_name
        if me != service_user:
            raise ClusterError(f"the managed cluster in {self.home} runs as user {service_user}; run "
                               f"landflood as {service_user} or as root (you are {me})")
        return _exec(cmd)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise start/stop between processes (e.g. parallel test workers)."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            lock = (self.home / ".lock").open("a")
        except PermissionError as exc:
            raise ClusterError(_unreachable(self.home, exc)) from exc
        with lock as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield


def _unreachable(path: Path, exc: OSError) -> str:
    """Why ``path`` cannot be used by this user, naming the directory that keeps them out."""
    me = pwd.getpwuid(os.geteuid()).pw_name
    blocker = next((p for p in reversed(path.parents) if p.exists() and not os.access(p, os.X_OK)), None)
    why = (f"user {me} may not enter {blocker}" if blocker else f"user {me} may not write there ({exc.strerror})")
    return (f"cannot use {path} for the managed cluster: {why}. Set LANDFLOOD_VAR_DIR to a directory "
            f"{me} can write (for example ~/.local/share/landflood), or open the path to {me}")


def _find_bindir(settings: Settings, major: str | None) -> Path:
    """initdb/pg_ctl directory: the setting, else the newest PostgreSQL >= 15 with PostGIS."""
    if settings.pg_bindir is not None:
        if not (settings.pg_bindir / "pg_ctl").is_file():
            raise ConfigError(f"LANDFLOOD_PG_BINDIR={settings.pg_bindir} has no pg_ctl; point it at "
                              "the bin directory of PostgreSQL 15 or newer, or unset it")
        return settings.pg_bindir
    found = {p.name: p / "bin" for p in _PG_ROOT.glob("*")
             if p.name.isdigit() and int(p.name) >= 15 and (p / "bin" / "initdb").is_file()
             and Path(f"/usr/share/postgresql/{p.name}/extension/postgis.control").is_file()}
    if major is not None:
        if major not in found:
            raise ClusterError(f"the managed cluster was created with PostgreSQL {major}, but its "
                               f"binaries or PostGIS are missing under {_PG_ROOT}; reinstall "
                               f"postgresql-{major} and its PostGIS package, or {_SETUP_HINT}")
        return found[major]
    if not found:
        raise ClusterError(f"no PostgreSQL 15+ with PostGIS found under {_PG_ROOT}; {_SETUP_HINT}")
    return found[max(found, key=int)]


def _major_version(bindir: Path) -> str:
    out = _exec([str(bindir / "initdb"), "--version"]).stdout
    match = re.search(r"\(PostgreSQL\) (\d+)", out)
    if match is None:
        raise ClusterError(f"cannot read the PostgreSQL version from {bindir / 'initdb'}: {out!r}")
    return match.group(1)


def _exec(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    # cwd "/" because the service user may not be allowed into our working directory.
    # PG* variables (PGPORT, PGDATA, ...) are dropped so they cannot redirect the tools.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd="/", env=env, check=False)
    except FileNotFoundError as exc:
        raise ClusterError(f"{cmd[0]} is not installed or not on PATH ({exc})") from exc


def _pick_port(preferred: int) -> int:
    for port in range(preferred, min(preferred + _PORT_SCAN, 65536)):
        if _port_free(port):
            if port != preferred:
                logger.info("port %s is taken; the managed cluster uses port %s", preferred, port)
            return port
    raise ClusterError(f"no free port in {preferred}-{preferred + _PORT_SCAN - 1}; set "
                       "LANDFLOOD_PG_PORT to another port")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like PostgreSQL itself, so connections in TIME_WAIT don't count as "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError:
            return False
    return True


def _has_c_utf8() -> bool:
    with contextlib.suppress(OSError):
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
        return any(name.lower() in ("c.utf8", "c.utf-8") for name in out.split())
    return False


def _user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise ClusterError(f"user {name}, who runs the managed cluster, no longer exists; create "
                           "it again, or remove var/pg and run `landflood db start`") from None


def _non_root(user: pwd.struct_passwd) -> pwd.struct_passwd:
    if user.pw_uid == 0:
        raise ConfigError("LANDFLOOD_PG_SERVICE_USER must not be root: PostgreSQL refuses to run as root")
    return user


def _mkdir(path: Path, owner: pwd.struct_passwd) -> None:
    """Create ``path`` (0700, owned by ``owner`` when we are root); refuse a stranger's directory."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid not in (owner.pw_uid, os.geteuid()):
        raise ClusterError(f"{path} belongs to another user; remove it and try again")
    _chown(path, owner)
    path.chmod(0o700)


def _chown(path: Path, owner: pwd.struct_passwd) -> None:
    if os.geteuid() == 0:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def _write_private(path: Path, text: str, owner: pwd.struct_passwd | None = None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(text + "\n")
    if owner is not None:
        _chown(path, owner)


def _digest(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:12]


def _conf_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}").replace("\n", " ")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read the log: {exc})"
