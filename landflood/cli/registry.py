"""``landflood registry``: the registry's applications from the command line, for batch work and
scripts (the same procedure as the API's /registry routes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from landdb.codes import SOURCE_KINDS

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from landflood.settings import Settings

#: Whoever runs the CLI holds the database itself: they act with the admin role, under their name.
CLI_ROLE = "admin"
_officer = click.option("--officer", required=True, help="Your name, as the audit log records it (cli:<name>).")


def _engine(settings: Settings) -> Engine:
    from landdb.database import ensure_database, make_engine

    ensure_database(settings)
    return make_engine(settings)


def _show(app: Any) -> None:
    click.echo(f"{app.number}  {app.service}  {app.state}  due {app.due_on}  parcels {', '.join(app.parcel_ids)}")


def _failures(exc: Any) -> None:
    """Print a failed check's report to stderr, rule by rule."""
    for r in (exc.report or {}).get("results", []):
        if r["status"] == "failed":
            click.echo(f"  {r['code']} [{r['severity']}] {r['title']['en']}: "
                       + "; ".join(f["properties"]["message"] for f in r["features"]["features"])
                       + f" → {r['fix']['en']}", err=True)


@click.group()
def registry() -> None:
    """Applications to the land registry: lodge, check, approve, register, reject/cancel/withdraw."""


@registry.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_officer
@click.option("--key", help="Idempotency key: lodging again with it returns the same application.")
@click.pass_obj
def lodge(settings: Settings, file: Path, officer: str, key: str | None) -> None:
    """Lodge the application in FILE (JSON; see the README's registry section for its fields)."""
    from landflood.errors import DataError, RulesNotMetError
    from registry import workflow

    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{file} is not UTF-8 JSON ({exc}); save the application as JSON") from None
    try:
        _show(workflow.lodge(_engine(settings), doc, f"cli:{officer}", key))
    except RulesNotMetError as exc:
        _failures(exc)
        raise


def _step(settings: Settings, number: str, officer: str, what: str) -> None:
    from landflood.errors import RulesNotMetError
    from registry import workflow

    fn = workflow.approve if what == "approve" else workflow.register
    try:
        _show(fn(_engine(settings), number, f"cli:{officer}", CLI_ROLE))
    except RulesNotMetError as exc:
        _failures(exc)
        raise


@registry.command()
@click.argument("number")
@_officer
@click.pass_obj
def approve(settings: Settings, number: str, officer: str) -> None:
    """Approve application NUMBER (runs the rules up to approval; another officer than the lodger)."""
    _step(settings, number, officer, "approve")


@registry.command()
@click.argument("number")
@_officer
@click.pass_obj
def register(settings: Settings, number: str, officer: str) -> None:
    """Register approved application NUMBER: the register changes in one transaction."""
    _step(settings, number, officer, "register")


@registry.command()
@click.argument("number")
@_officer
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.pass_obj
def check(settings: Settings, number: str, officer: str, as_json: bool) -> None:
    """Run the rules of NUMBER's next step and print the report (exit 1 if a critical rule fails)."""
    from registry import workflow

    rep = workflow.check(_engine(settings), number, f"cli:{officer}")
    if as_json:
        click.echo(json.dumps(rep, ensure_ascii=False, indent=2))
    else:
        for r in rep["results"]:
            mark = "ok  " if r["status"] == "passed" else ("FAIL" if r["severity"] == "critical" else "warn")
            click.echo(f"{mark} {r['code']} {r['title']['en']}")
    if not rep["passed"]:
        raise SystemExit(1)


@registry.command()
@click.argument("number")
@click.argument("kind", type=click.Choice(SOURCE_KINDS))
@_officer
@click.option("--doc-number", help="The document's own number.")
@click.option("--issued-on", type=click.DateTime(["%Y-%m-%d"]), help="Its date (YYYY-MM-DD).")
@click.option("--issued-by", help="The body that issued it.")
@click.pass_obj
def attach(settings: Settings, number: str, kind: str, officer: str, doc_number: str | None,
           issued_on: Any, issued_by: str | None) -> None:
    """Attach a source document of KIND to application NUMBER."""
    from registry import workflow
    from registry.applications import SourceData

    s = workflow.attach_source(_engine(settings), number, SourceData(
        kind, doc_number, issued_on.date() if issued_on else None, issued_by), f"cli:{officer}")
    click.echo(f"attached {s.kind} {s.number or ''} (source {s.id}) to {number}")


@registry.command("close")
@click.argument("number")
@click.argument("state", type=click.Choice(["rejected", "cancelled", "withdrawn"]))
@_officer
@click.option("--reason", required=True, help="Why (recorded with the application).")
@click.pass_obj
def close_(settings: Settings, number: str, state: str, officer: str, reason: str) -> None:
    """Reject, cancel or withdraw open application NUMBER."""
    from registry import workflow

    _show(workflow.close(_engine(settings), number, state, f"cli:{officer}", CLI_ROLE, reason))  # type: ignore[arg-type]


@registry.command()
@click.argument("number")
@click.pass_obj
def show(settings: Settings, number: str) -> None:
    """Print application NUMBER as JSON (its request, steps and last report)."""
    from landdb import registry as registry_db

    with _engine(settings).connect() as conn:
        app = registry_db.get(conn, number)
    doc = {k: v for k, v in app.__dict__.items()}
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


@registry.command("list")
@click.option("--state", "states", multiple=True, help="Only these states (repeatable).")
@click.pass_obj
def list_(settings: Settings, states: tuple[str, ...]) -> None:
    """Applications, the soonest due first."""
    from landdb import registry as registry_db

    with _engine(settings).connect() as conn:
        apps, total = registry_db.listing(conn, states=states or None, limit=1000)
    for app in apps:
        _show(app)
    click.echo(f"{total} application(s)", err=True)


@registry.command()
def rules() -> None:
    """The rule catalogue: code, severity, moment, services and what each checks."""
    from registry.rules import CATALOGUE

    for r in CATALOGUE:
        click.echo(f"{r.code}  {r.severity:8}  {r.moment:8}  {r.title_en} / {r.title_vi}")
