"""An ETL load killed with SIGKILL at random moments leaves no partial load (issue 13, item 4): each
time, the register is exactly as before, and a full load afterwards still works — also for a
first load into an empty register, which drops and re-creates its foreign keys and indexes inside
the load's transaction. `make soak` kills at 20 moments (LANDFLOOD_KILLS); make test at 4."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyogrio
from sqlalchemy import create_engine, text

from tests.etl.parcels_data import counts, parcels_frame

KILLS = int(os.environ.get("LANDFLOOD_KILLS", "4"))


def _start(db: str, path: Path) -> subprocess.Popen:
    env = {**os.environ, "LANDFLOOD_DATABASE_URL": db}
    return subprocess.Popen([sys.executable, "-m", "landflood.cli", "etl", "parcels", str(path)], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _schema(db: str) -> tuple[int, int]:
    """(foreign keys, indexes) of the register's tables: a first load drops and re-creates them."""
    engine = create_engine(db)
    with engine.connect() as conn:
        fks = conn.execute(text("SELECT count(*) FROM pg_constraint WHERE contype = 'f'")).scalar_one()
        indexes = conn.execute(text("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'")).scalar_one()
    engine.dispose()
    return int(fks), int(indexes)


def _quiet(db: str) -> None:
    """Wait until the killed load's backend has rolled back and gone."""
    engine = create_engine(db)
    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        while time.monotonic() < deadline and conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()")).scalar_one():
            time.sleep(0.05)
    engine.dispose()


def _load(db: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "landflood.cli", "etl", "parcels", str(path)],
                          env={**os.environ, "LANDFLOOD_DATABASE_URL": db}, capture_output=True, text=True)


def _state(db: str) -> tuple[dict[str, int], tuple[int, int]]:
    return counts(db), _schema(db)


def test_a_load_killed_at_random_moments_is_all_or_nothing(db: str, databases, tmp_path: Path) -> None:
    big = tmp_path / "big.gpkg"
    pyogrio.write_dataframe(parcels_frame(6_000), big)
    parcels_frame(3).to_file(tmp_path / "seed.gpkg")
    rng = random.Random(20251201)  # the same moments each run
    interrupted = 0
    for phase in ("a first load into an empty register", "a load into a register with parcels"):
        if phase.startswith("a load into"):
            assert _load(db, tmp_path / "seed.gpkg").returncode == 0
        # The whole load, on a copy: how long it takes here, and what it leaves when it completes.
        copy = databases.create("landflood_kills", template=db)
        started = time.monotonic()
        assert _load(copy, big).returncode in (0, 3)  # 3: the lots beyond the test ward are rejected
        span = time.monotonic() - started
        before, complete = _state(db), _state(copy)
        for i in range(KILLS // 2):
            proc = _start(db, big)
            time.sleep(rng.uniform(0.02, 0.8) * span)
            finished = proc.poll() is not None
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            _quiet(db)
            now = _state(db)
            # All or nothing: never a state between the one before and the one of a complete load.
            assert now in (before, complete), f"{phase}, kill {i}: a partial load"
            if now == complete or finished:
                break  # it committed just before the kill; the register is loaded now
            interrupted += 1
    assert interrupted >= KILLS // 2, f"only {interrupted} of {KILLS} kills caught a load running"
    done = _load(db, big)
    assert done.returncode in (0, 3), done.stderr[-2000:]
    assert _state(db) == complete
