"""Run the Alembic migrations in ``migrations/`` against a database URL."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

import migrations

log = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that finds the packaged migrations wherever installed."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # ConfigParser interpolation: a password with '%' must be escaped.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest revision in the migration history."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://"))
    return script.get_current_head() or ""


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate up to ``revision``; returns (before, after)."""
    before = current_revision(url)
    command.upgrade(alembic_config(url), revision)
    return before, current_revision(url)


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate down to ``revision``."""
    command.downgrade(alembic_config(url), revision)
