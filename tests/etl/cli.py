"""Running ``landflood etl`` commands as a user would, and reading the database they wrote."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from landflood.cli import main


def run(command: str, *args: str) -> Result:
    """``landflood etl COMMAND ARGS...``."""
    return CliRunner().invoke(main, ["etl", command, *args], catch_exceptions=False)


def load(command: str, path: Path, *args: str) -> tuple[int, dict]:
    """(exit code, JSON report) of ``landflood etl COMMAND PATH --report ... ARGS...``."""
    report = path.parent / f"{path.stem}-report.json"
    result = run(command, str(path), "--report", str(report), *args)
    return result.exit_code, json.loads(report.read_text(encoding="utf-8"))


def query(url: str, sql: str) -> list[tuple]:
    """The rows of ``sql`` in the database at ``url``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()
