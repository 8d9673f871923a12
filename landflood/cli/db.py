"""``landflood db``: the managed PostGIS cluster, or the external database when one is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape

from landflood.errors import DatabaseError

if TYPE_CHECKING:
    from landflood.settings import Settings

# soft_wrap: long paths and URLs stay on one line, so they can be copied.
_console = Console(highlight=False, soft_wrap=True)


@click.group()
def db() -> None:
    """Manage the database: the managed PostGIS cluster or an external one.

    Without LANDFLOOD_DATABASE_URL, landflood runs its own PostgreSQL + PostGIS cluster
    in var/pg (under LANDFLOOD_VAR_DIR), on its own port (LANDFLOOD_PG_PORT, default 55432)
    and socket directory. With LANDFLOOD_DATABASE_URL set, that database is used and the
    managed cluster is never touched.
    """


@db.command()
@click.pass_obj
def start(settings: Settings) -> None:
    """Start the managed cluster, creating it on first use.

    The first start initialises var/pg (PostgreSQL superuser `landflood` with a generated
    password). Every start makes sure the database (LANDFLOOD_DB_NAME) exists with PostGIS
    and btree_gist. Starting a running cluster is fine; with LANDFLOOD_DATABASE_URL set,
    nothing is done.
    """
    from landdb.cluster import ManagedCluster

    if _external(settings):
        return
    _console.print(f"managed cluster: {escape(ManagedCluster(settings).start())}")


@db.command()
@click.pass_obj
def stop(settings: Settings) -> None:
    """Stop the managed cluster (fast shutdown). Stopping a stopped cluster is fine.

    Open connections are closed; the data stays. With LANDFLOOD_DATABASE_URL set, nothing
    is done.
    """
    from landdb.cluster import ManagedCluster

    if _external(settings):
        return
    _console.print(f"managed cluster: {escape(ManagedCluster(settings).stop())}")


@db.command()
@click.pass_obj
def status(settings: Settings) -> None:
    """Show whether the database exists and runs, where, and its URL (password hidden)."""
    from landdb.cluster import ManagedCluster
    from landdb.database import masked_url, postgis_version

    if settings.database_url is not None:
        url = settings.database_url
        _console.print(f"external database (LANDFLOOD_DATABASE_URL): {escape(masked_url(url))}")
        try:
            _console.print(f"reachable, PostGIS {escape(postgis_version(url))}")
        except DatabaseError as exc:
            _console.print(f"[red]not usable[/red]: {escape(str(exc))}")
        return
    st = ManagedCluster(settings).status()
    if not st.initialised:
        _console.print(f"managed cluster: not created yet ({escape(str(st.data_dir))}); "
                       "`landflood db start` creates it")
        return
    state = f"[green]running[/green] (pid {st.pid})" if st.running else "[yellow]stopped[/yellow]"
    _console.print(f"managed cluster: {state}, PostgreSQL {st.version} on 127.0.0.1:{st.port}")
    _console.print(f"data: {escape(str(st.data_dir))}")
    _console.print(f"url:  {escape(masked_url(st.url or ''))}")
    if not st.running:
        _console.print("`landflood db start` starts it")


@db.command()
@click.option("--libpq", is_flag=True,
              help="Print a plain postgresql:// URL for psql and other libpq tools.")
@click.pass_obj
def url(settings: Settings, libpq: bool) -> None:
    """Print the database URL, password included (for scripts: psql "$(landflood db url --libpq)")."""
    from sqlalchemy.engine import make_url

    from landdb.database import database_url

    value = database_url(settings)
    if libpq:
        value = make_url(value).set(drivername="postgresql").render_as_string(hide_password=False)
    click.echo(value)


def _external(settings: Settings) -> bool:
    """Say so and return True when LANDFLOOD_DATABASE_URL replaces the managed cluster."""
    from landdb.database import masked_url

    if settings.database_url is None:
        return False
    _console.print(f"LANDFLOOD_DATABASE_URL is set ({escape(masked_url(settings.database_url))}); "
                   "the managed cluster is not touched")
    return True


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_obj
def migrate(settings: Settings, revision: str) -> None:
    """Upgrade the schema (Alembic) to the newest revision, or to --revision.

    Safe to repeat: a database already at the target is left alone. The managed cluster
    must be running (`landflood db start`).
    """
    from landdb.database import database_url, postgis_version
    from landdb.migrate import upgrade

    url = database_url(settings)
    postgis_version(url, required=False)  # a clear error when unreachable; the migration creates PostGIS
    before, after = upgrade(url, revision)
    if before == after:
        _console.print(f"schema: already at revision {after} (skipped)")
    else:
        _console.print(f"schema: migrated from {before or 'an empty database'} to revision {after}")


@db.command()
@click.pass_obj
def summary(settings: Settings) -> None:
    """List the tables of the data model with their row counts."""
    from rich.table import Table

    from landdb.database import database_url, masked_url, postgis_version, table_counts
    from landdb.migrate import current_revision

    url = database_url(settings)
    postgis_version(url)
    table = Table(title=f"{masked_url(url)} — schema revision {current_revision(url) or 'none'}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in table_counts(url):
        table.add_row(name, f"{count:,}")
    _console.print(table)


@db.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def destroy(settings: Settings, yes: bool) -> None:
    """Stop the managed cluster and delete it with all its data (the next start creates a new one)."""
    from landdb.cluster import ManagedCluster

    if _external(settings):
        return
    if not yes:
        click.confirm("Delete the managed cluster and all its data?", abort=True)
    ManagedCluster(settings).destroy()
    _console.print("managed cluster: deleted")
