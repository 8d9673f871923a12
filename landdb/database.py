"""Which database landflood uses, and engines for it.

With ``LANDFLOOD_DATABASE_URL`` set, that database; otherwise the managed cluster's.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from landdb.cluster import ManagedCluster
from landflood.errors import DatabaseError
from landflood.settings import Settings

logger = logging.getLogger(__name__)


def database_url(settings: Settings) -> str:
    """SQLAlchemy URL of the database landflood uses (it may still be stopped)."""
    if settings.database_url is not None:
        return settings.database_url
    cluster = ManagedCluster(settings)
    if not cluster.initialised:
        raise DatabaseError(f"there is no managed cluster in {cluster.home} yet; run "
                            "`landflood db start` to create it, or set LANDFLOOD_DATABASE_URL")
    return cluster.url()


def ensure_database(settings: Settings) -> str:
    """Make the database usable and return its URL.

    Managed: start the cluster (creating it on first use). External: check that it is
    reachable and has PostGIS; the managed cluster is never touched.
    """
    if settings.uses_managed_cluster:
        cluster = ManagedCluster(settings)
        logger.info("managed cluster: %s", cluster.start())
        return cluster.url()
    url = database_url(settings)
    postgis_version(url)
    return url


def postgis_version(url: str, required: bool = True) -> str:
    """PostGIS version at ``url`` ("" when absent and not ``required``); DatabaseError if unreachable."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            version = conn.execute(
                text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")).scalar()
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot connect to {masked_url(url)}: {_reason(exc)}. Check "
                            "LANDFLOOD_DATABASE_URL and that the server is running") from exc
    finally:
        engine.dispose()
    if version is None and not required:
        return ""
    if version is None:
        raise DatabaseError(f"{masked_url(url)} has no PostGIS; run `CREATE EXTENSION postgis` in "
                            "that database as a superuser")
    return str(version)


def make_engine(settings_or_url: Settings | str, statement_timeout_s: float | None = None) -> Engine:
    """A SQLAlchemy engine (psycopg 3 driver) for the given settings or URL.

    ``statement_timeout_s`` bounds every statement (the server cancels a longer one); the API
    sets it, the CLI's loads and models do not.
    """
    url = settings_or_url if isinstance(settings_or_url, str) else database_url(settings_or_url)
    sa_url = make_url(url)
    if sa_url.drivername in ("postgresql", "postgres"):
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    # A bounded connect timeout: an unreachable host should fail in seconds, not minutes.
    connect_args: dict[str, object] = {"connect_timeout": 10}
    if statement_timeout_s is not None:
        connect_args["options"] = f"-c statement_timeout={int(statement_timeout_s * 1000)}"
    engine = create_engine(sa_url, pool_pre_ping=True, connect_args=connect_args)
    logger.debug("engine for %r", engine.url)
    return engine


def libpq_url(sqlalchemy_url: str) -> str:
    """A libpq URL for psycopg (``postgresql://``) from a SQLAlchemy one (``postgresql+psycopg://``)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ***, fit for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own first line, without SQLAlchemy's boilerplate."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def table_counts(url: str) -> list[tuple[str, int]]:
    """(table, row count) for every table of the data model, by name."""
    from landdb.models import Base  # the model is only needed here

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            present = set(conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars())
            return [(t.name, conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar() or 0)
                    for t in sorted(Base.metadata.tables.values(), key=lambda t: t.name) if t.name in present]
    finally:
        engine.dispose()
