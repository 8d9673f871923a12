"""`landflood db migrate` and `db summary` on a database given by LANDFLOOD_DATABASE_URL."""

from __future__ import annotations

from click.testing import CliRunner

from landflood.cli import main


def test_migrate_then_skip_then_summary_on_an_external_database(databases, monkeypatch) -> None:
    url = databases.create("landflood_cli")
    monkeypatch.setenv("LANDFLOOD_DATABASE_URL", url)
    runner = CliRunner()

    first = runner.invoke(main, ["db", "migrate"])
    assert first.exit_code == 0, first.output
    assert "migrated from an empty database to revision" in first.output

    second = runner.invoke(main, ["db", "migrate"])
    assert second.exit_code == 0, second.output
    assert "already at revision" in second.output and "(skipped)" in second.output

    summary = runner.invoke(main, ["db", "summary"], terminal_width=200)
    assert summary.exit_code == 0, summary.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in summary.output.splitlines() if line.count("│") == 3}
    assert rows["land_use_types"] == "63"
    assert rows["parcel_versions"] == "0"
    assert "***" in summary.output and url.split(":")[2].split("@")[0] not in summary.output


def test_migrate_on_an_unreachable_database_says_what_to_check(monkeypatch) -> None:
    monkeypatch.setenv("LANDFLOOD_DATABASE_URL", "postgresql+psycopg://nobody:pw@127.0.0.1:9/none")
    result = CliRunner().invoke(main, ["db", "migrate"])
    assert result.exit_code == 1
    assert "cannot connect" in result.output and "LANDFLOOD_DATABASE_URL" in result.output
