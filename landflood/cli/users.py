"""``landflood users``: who may sign in to the API (officers see owners; admins too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from landdb.codes import ROLES

if TYPE_CHECKING:
    from landflood.settings import Settings


@click.group()
def users() -> None:
    """API users and their bearer tokens (only a hash of each token is stored)."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="officer or admin.")
@click.pass_obj
def add(settings: Settings, name: str, role: str) -> None:
    """Create NAME and print their token, once: send it as 'Authorization: Bearer <token>'."""
    from landdb import api_users
    from landdb.database import ensure_database, make_engine

    ensure_database(settings)
    with make_engine(settings).begin() as conn:
        token = api_users.add(conn, name, role)
    click.echo(token)
    click.echo(f"created {role} {name!r}; this token is shown only now: keep it safe", err=True)


@users.command("revoke")
@click.argument("name")
@click.pass_obj
def revoke(settings: Settings, name: str) -> None:
    """Revoke NAME's token and sign-in sessions at once (every instance stops accepting them).

    The user is kept as revoked, so the audit log's entries keep naming them; the name may be
    given to a new user, who gets a new id."""
    from landdb import api_users
    from landdb.database import ensure_database, make_engine

    ensure_database(settings)
    with make_engine(settings).begin() as conn:
        api_users.revoke(conn, name)
    click.echo(f"revoked {name!r}")


@users.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also revoked users (kept: the audit log names them).")
@click.pass_obj
def list_(settings: Settings, show_all: bool) -> None:
    """List users and roles (never tokens)."""
    from landdb import api_users
    from landdb.database import ensure_database, make_engine

    ensure_database(settings)
    with make_engine(settings).connect() as conn:
        rows = api_users.list_users(conn, revoked=show_all)
    for name, role, created, revoked in rows:
        click.echo(f"{name}\t{role}\t{created}" + (f"\trevoked {revoked}" if revoked else ""))
    if not rows:
        click.echo("no users yet: landflood users add NAME --role officer", err=True)
