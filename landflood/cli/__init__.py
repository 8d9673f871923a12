"""The ``landflood`` command: one click group, one module per command family."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click
from rich.console import Console
from rich.logging import RichHandler

from landflood.errors import ConfigError, LandfloodError


class _Group(click.Group):
    """Turns landflood's own errors, and the database server's refusals (read-only, disk full, a
    lost connection), into a one-line message and exit code 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LandfloodError as exc:
            raise click.ClickException(str(exc)) from exc
        except click.ClickException:
            raise
        except Exception as exc:
            from landdb.failures import database_failure  # the driver only when something failed

            ours = database_failure(exc)
            if ours is None:
                raise
            raise click.ClickException(str(ours)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.version_option(package_name="landflood")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """landflood: Hanoi's land registry and waterlogging data service.

    Settings come from LANDFLOOD_* environment variables (see .env.example). Without
    LANDFLOOD_DATABASE_URL everything uses the project's managed PostGIS cluster under var/.
    """
    from landflood.settings import (
        load_settings,  # pydantic: only when a command runs, not for --help
    )

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    level = logging.WARNING if quiet else {0: settings.log_level.upper(), 1: "INFO"}.get(verbose, "DEBUG")
    _setup_logging(level, debug=verbose >= 2)
    ctx.obj = settings


def _setup_logging(level: str | int, debug: bool) -> None:
    # Logs go to stderr so that stdout stays clean for output meant for scripts (`db url`).
    err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
    handler = RichHandler(console=err, show_path=False, show_time=False, markup=False)
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    if not debug:  # Alembic narrates every plugin it loads at INFO
        logging.getLogger("alembic").setLevel(logging.WARNING)


def _register() -> None:
    from landflood.cli import db, documents, etl, flood, maps, registry, sample, serve, users

    main.add_command(db.db)
    main.add_command(documents.documents)
    main.add_command(etl.etl)
    main.add_command(flood.flood)
    main.add_command(maps.maps)
    main.add_command(registry.registry)
    main.add_command(sample.sample)
    main.add_command(serve.serve)
    main.add_command(users.users)


_register()
