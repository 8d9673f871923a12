"""``landflood documents``: issue the registry's documents as PDF files, and verify a number."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from landflood.settings import Settings

_SCALES = ("200", "500", "1000", "2000")


def _engine(settings: Settings) -> Any:
    from landdb.database import ensure_database, make_engine

    ensure_database(settings)
    return make_engine(settings)


@click.group()
def documents() -> None:
    """Certificate data sheets, map extracts and flood statements, as numbered PDFs (README: "Documents")."""


def _out(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--overwrite", is_flag=True, help="Replace FILE if it exists.")(f)
    return click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                        help="The PDF file to write.")(f)


def _issue(settings: Settings, build: Callable[..., Any], parcel_id: str, out: Path, overwrite: bool,
           officer: str | None) -> None:
    from landdb.audit import set_actor
    from registry import documents as docs

    if out.exists() and not overwrite:
        raise click.UsageError(f"{out} exists and is not overwritten without --overwrite")
    actor = f"cli:{officer}" if officer else "public"
    with _engine(settings).begin() as conn:
        set_actor(conn, actor)
        issued = docs.issue(conn, build(conn, parcel_id), issued_by=actor, public_url=settings.public_url)
    out.write_bytes(issued.pdf)
    click.echo(f"{issued.number}  {out}  sha256 {issued.sha256}")
    click.echo(f"verify: {issued.verify_url}", err=True)


@documents.command("certificate")
@click.argument("parcel_id")
@_out
@click.option("--officer", required=True, help="The officer issuing it (it names the land users).")
@click.pass_obj
def certificate(settings: Settings, parcel_id: str, out: Path, overwrite: bool, officer: str) -> None:
    """The certificate data sheet of PARCEL_ID (officers only: it names the land users)."""
    from registry import documents as docs

    _issue(settings, docs.certificate, parcel_id, out, overwrite, officer)


@documents.command("extract")
@click.argument("parcel_id")
@_out
@click.option("--scale", type=click.Choice(_SCALES), help="1:N; default: the most detailed the parcel fits.")
@click.option("--officer", help="Issue the officers' version (with the land users) as this officer.")
@click.pass_obj
def extract(settings: Settings, parcel_id: str, out: Path, overwrite: bool, scale: str | None,
            officer: str | None) -> None:
    """The cadastral map extract of PARCEL_ID (without --officer: the public's, without land users)."""
    from registry import documents as docs

    def build(conn: Any, pid: str) -> Any:
        return docs.extract(conn, pid, scale=int(scale) if scale else None, officer=officer is not None)
    _issue(settings, build, parcel_id, out, overwrite, officer)


@documents.command("flood-statement")
@click.argument("parcel_id")
@_out
@click.option("--officer", help="The officer issuing it (default: issued as 'public').")
@click.pass_obj
def flood_statement(settings: Settings, parcel_id: str, out: Path, overwrite: bool, officer: str | None) -> None:
    """The flood-risk statement of PARCEL_ID, per modelled scenario."""
    from registry import documents as docs

    _issue(settings, docs.flood_statement, parcel_id, out, overwrite, officer)


@documents.command("verify")
@click.argument("number")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also check that this PDF is the one issued (its SHA-256).")
@click.pass_obj
def verify(settings: Settings, number: str, file: Path | None) -> None:
    """What was issued under NUMBER (exit 1 when nothing was, or when --file is not that PDF)."""
    from registry import documents as docs

    with _engine(settings).connect() as conn:
        found = docs.verify(conn, number)
    facts = docs.verification(found, officer=True)
    for key, value in facts.items():
        click.echo(f"{key:28} {value}")
    if file is not None:
        sha = hashlib.sha256(file.read_bytes()).hexdigest()
        if sha != found.content_sha256:
            raise click.ClickException(f"{file} is not the PDF issued as {found.number} (its SHA-256 is {sha})")
        click.echo(f"{file}: the PDF issued as {found.number}")
