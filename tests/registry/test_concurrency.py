"""Registrations under concurrency and faults: exactly one of two parallel registrations wins; a
registration killed half way leaves nothing behind; the CLI drives the same procedure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from landdb import parcels as parcel_db
from landdb import registry as registry_db
from landflood.errors import ConflictError
from registry import workflow
from tests.registry.conftest import City
from tests.registry.test_workflow import OFFICER, REGISTRAR, snapshot, split_doc

CLI = [sys.executable, "-m", "landflood.cli"]


def test_two_parallel_registrations_of_one_parcel_exactly_one_wins(city: City) -> None:
    app = workflow.lodge(city.engine, split_doc(city), OFFICER)
    workflow.approve(city.engine, app.number, REGISTRAR, "registrar")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run(actor: str) -> None:
        start.wait()
        try:
            workflow.register(city.engine, app.number, actor, "registrar")
            outcomes.append("registered")
        except ConflictError as exc:
            outcomes.append(f"409: {exc}")

    threads = [threading.Thread(target=run, args=(f"api:registrar#{i}",)) for i in (7, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(o.split(":")[0] for o in outcomes) == ["409", "registered"]
    assert "already registered by" in next(o for o in outcomes if o.startswith("409"))
    with city.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM transactions")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM parcel_versions WHERE valid_to IS NULL")).scalar_one() == 4


def _waiting_on_lock(city: City, needle: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with city.engine.connect() as conn:
            pid = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND query ILIKE :q"), {"q": f"%{needle}%"}).scalar()
        if pid:
            return int(pid)
        time.sleep(0.1)
    raise AssertionError(f"no backend waited on a lock for {needle!r}")


def test_a_registration_killed_half_way_leaves_nothing_half_written(city: City, tmp_path: Path) -> None:
    app = workflow.lodge(city.engine, split_doc(city), OFFICER)
    workflow.approve(city.engine, app.number, REGISTRAR, "registrar")
    before = snapshot(city)
    with city.engine.connect() as holder:
        tx = holder.begin()
        # Opening the children's rights needs a key-share lock on the holders' party rows: holding
        # them stops the registration after it closed the parent and opened the children.
        holder.execute(text("SELECT id FROM parties FOR UPDATE"))
        proc = subprocess.Popen([*CLI, "registry", "register", app.number, "--officer", "kill-test"],
                                env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            _waiting_on_lock(city, "INSERT INTO rights")
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            tx.rollback()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the orphaned backend notices its client is gone
        with city.engine.connect() as conn:
            busy = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name <> '' "
                                     "AND query ILIKE '%INSERT INTO rights%' AND state <> 'idle'")).scalar_one()
        if not busy:
            break
        time.sleep(0.2)
    assert snapshot(city) == before
    with city.engine.connect() as conn:
        assert registry_db.get(conn, app.number).state == "approved"
        assert parcel_db.get(conn, city.a).area_m2 == 200.0
    # And the registration can simply be run again.
    assert workflow.register(city.engine, app.number, REGISTRAR, "registrar").state == "registered"


def test_the_cli_lodges_checks_approves_and_registers(city: City, tmp_path: Path) -> None:
    request = tmp_path / "split.json"
    request.write_text(json.dumps(split_doc(city), ensure_ascii=False), encoding="utf-8")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, "registry", *args], capture_output=True, text=True, env=os.environ.copy(),
                              timeout=120)

    lodged = cli("lodge", str(request), "--officer", "lan")
    assert lodged.returncode == 0, lodged.stderr
    number = lodged.stdout.split()[0]
    assert cli("check", number, "--officer", "minh").returncode == 0  # as the approver-to-be
    assert "FAIL LF-R0305" in cli("check", number, "--officer", "lan").stdout
    same = cli("approve", number, "--officer", "lan")  # the lodger cannot approve
    assert same.returncode == 1 and "LF-R0305" in same.stderr
    assert cli("approve", number, "--officer", "minh").returncode == 0
    done = cli("register", number, "--officer", "minh")
    assert done.returncode == 0 and "registered" in done.stdout
    shown = json.loads(cli("show", number).stdout)
    assert shown["registered_by"] == "cli:minh" and shown["lodged_by"] == "cli:lan"
    again = cli("lodge", str(request), "--officer", "lan")  # the parent is gone now
    assert again.returncode == 1 and "LF-R0301" in again.stderr
    assert "LF-R0101" in cli("rules").stdout
    with city.engine.connect() as conn:
        actors = set(conn.execute(text("SELECT DISTINCT actor FROM audit_log WHERE table_name = 'parcel_versions' "
                                       "AND at > now() - interval '1 hour'")).scalars())
    assert "cli:minh" in actors


@pytest.mark.parametrize("bad", ["not json", "[]"])
def test_the_cli_refuses_a_bad_file_with_a_message(city: City, tmp_path: Path, bad: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(bad)
    out = subprocess.run([*CLI, "registry", "lodge", str(f), "--officer", "lan"], capture_output=True, text=True,
                         env=os.environ.copy(), timeout=60)
    assert out.returncode == 1 and "Error:" in out.stderr and "Traceback" not in out.stderr
