"""The `landflood` command itself: a fast --help, one clear line for a bad setting, the settings
object (not os.environ) deciding what `serve` prints, one version."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import flask
import pytest
from click.testing import CliRunner

import landflood
from landflood.cli import main

HEAVY = ("sqlalchemy", "pydantic", "psycopg", "geopandas", "pyogrio", "rasterio", "flask", "pygeoapi", "numba")


def test_help_imports_none_of_the_heavy_libraries() -> None:
    code = ("import sys; from click.testing import CliRunner; from landflood.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0, r.output; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""  # each command imports what it needs when it runs


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("LANDFLOOD_LOG_LEVEL", "loud", "LANDFLOOD_LOG_LEVEL: 'loud' is not a log level; use one of DEBUG, INFO"),
    ("LANDFLOOD_PG_PORT", "12", "LANDFLOOD_PG_PORT: Input should be greater than or equal to 1024"),
    ("LANDFLOOD_API_TIMEOUT_S", "-1", "LANDFLOOD_API_TIMEOUT_S: Input should be greater than 0"),
])
def test_a_bad_setting_is_one_clear_line(variable: str, value: str, says: str) -> None:
    result = CliRunner().invoke(main, ["db", "url"], env={variable: value})
    assert result.exit_code == 2
    assert says in result.output and "Traceback" not in result.output


def test_serve_prints_the_public_url_of_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      db_url: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LANDFLOOD_PUBLIC_URL=https://bando.example.vn/api\n")
    served = []
    monkeypatch.setattr(flask.Flask, "run", lambda self, **kwargs: served.append(kwargs))  # do not block
    result = CliRunner().invoke(main, ["serve", "--port", "5099"], env={"LANDFLOOD_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert "serving on https://bando.example.vn/api/" in result.output  # from .env, which os.environ lacks
    assert served and served[0]["port"] == 5099


def test_the_version_has_one_source() -> None:
    assert landflood.__version__ == version("landflood")
    assert CliRunner().invoke(main, ["--version"]).output.strip().endswith(version("landflood"))


def test_every_setting_is_documented_in_env_example_and_the_readme() -> None:
    from landflood.settings import Settings

    repo = Path(__file__).resolve().parents[2]
    example = (repo / ".env.example").read_text(encoding="utf-8")
    readme = (repo / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        variable = f"LANDFLOOD_{name.upper()}"
        assert f"# {variable}=" in example, f"{variable} is missing from .env.example"
        assert f"| `{variable}` |" in readme, f"{variable} is missing from the README's settings table"
