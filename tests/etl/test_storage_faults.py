"""A database that cannot take the load — read-only, or out of disk space — gives one clear line and
exit 1, and nothing stored before is lost or half written (issue 13, item 4)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, make_url, text

from landflood.cli import main
from tests.etl.parcels_data import counts, parcels_frame


def _admin(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def _load(url: str, path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["etl", "parcels", str(path)], env={"LANDFLOOD_DATABASE_URL": url})
    return result.exit_code, result.output


def test_a_read_only_database_is_one_line_and_nothing_changes(db: str, tmp_path: Path) -> None:
    parcels_frame(3).to_file(tmp_path / "first.gpkg")
    assert _load(db, tmp_path / "first.gpkg")[0] == 0
    before = counts(db)
    admin = create_engine(_admin(db), isolation_level="AUTOCOMMIT")
    name = make_url(db).database
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    try:
        parcels_frame(10, ward="00071").to_file(tmp_path / "more.gpkg")
        code, output = _load(db, tmp_path / "more.gpkg")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        admin.dispose()
    assert code == 1 and "Traceback" not in output
    assert "the database is read-only" in output and "nothing was changed" in output
    assert output.strip().splitlines()[-1].startswith("Error: the database is read-only")  # one line
    assert counts(db) == before


@pytest.fixture
def tiny_tablespace(server_url: str) -> Iterator[tuple[str, Path]]:
    """A 256 kB tmpfs as a tablespace, owned by the server's user (needs root, to mount it)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system for the disk-full test needs root")
    mount = Path(f"/tmp/landflood-full-{uuid.uuid4().hex[:8]}")
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()})")
    admin = create_engine(_admin(server_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            data_directory = conn.execute(text("SELECT current_setting('data_directory')")).scalar()
        shutil.chown(mount, user=Path(data_directory).owner())  # the user the server runs as
        name = f"full_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE TABLESPACE {name} LOCATION '{mount}'"))
        yield name, mount
        with admin.connect() as conn:
            conn.execute(text(f"DROP TABLESPACE IF EXISTS {name}"))
    finally:
        admin.dispose()
        subprocess.run(["umount", str(mount)], check=False)
        mount.rmdir()


def test_a_full_disk_is_one_line_and_nothing_changes(db: str, tiny_tablespace: tuple[str, Path],
                                                     tmp_path: Path) -> None:
    space, _ = tiny_tablespace
    parcels_frame(3).to_file(tmp_path / "first.gpkg")
    assert _load(db, tmp_path / "first.gpkg")[0] == 0
    before = counts(db)
    engine = create_engine(db)
    with engine.begin() as conn:  # the register's version rows now go to the tiny file system
        conn.execute(text(f"ALTER TABLE parcel_versions SET TABLESPACE {space}"))
        conn.execute(text(f"ALTER INDEX ix_parcel_versions_geom SET TABLESPACE {space}"))
    try:
        parcels_frame(3_000).to_file(tmp_path / "big.gpkg")  # about 1 MB of versions, inside the ward
        code, output = _load(db, tmp_path / "big.gpkg")
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE parcel_versions SET TABLESPACE pg_default"))
            conn.execute(text("ALTER INDEX ix_parcel_versions_geom SET TABLESPACE pg_default"))
        engine.dispose()
    assert code == 1 and "Traceback" not in output
    assert "run out of disk space" in output and "nothing was changed" in output
    assert counts(db) == before
