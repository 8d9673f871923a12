"""The one settings object. Built at the entry point (CLI group, app factory) and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from landflood.errors import ConfigError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The source checkout this package runs from (editable install), if any.
_SOURCE_ROOT = Path(__file__).resolve().parents[1]


def _default_var_dir() -> Path:
    if (_SOURCE_ROOT / "pyproject.toml").is_file():
        return _SOURCE_ROOT / "var"
    return Path.home() / ".local" / "share" / "landflood"


class Settings(BaseSettings):
    """landflood's configuration, read from ``LANDFLOOD_*`` environment variables (and ``.env``)."""

    model_config = SettingsConfigDict(env_prefix="LANDFLOOD_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of an external PostGIS database. When set, the managed "
        "cluster is never touched.",
    )
    database_read_url: str | None = Field(
        default=None,
        description="Optional URL of a read-only streaming replica; the API sends its read queries there.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:5000",
        description="The URL clients reach the API at (used in links); set it behind a proxy.",
    )
    api_timeout_s: float = Field(
        default=10.0, gt=0, le=600,
        description="Longest a database statement of an API request may run; it is then cancelled and "
        "the request answered 504.",
    )
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30,
        description="How long an officer's sign-in to the maps lasts (the session is kept in the database).",
    )
    var_dir: Path = Field(
        default_factory=_default_var_dir,
        description="Where the managed cluster, rasters and other state live.",
    )
    pg_port: int = Field(default=55432, ge=1024, le=65535, description="Port of the managed cluster.")
    pg_bindir: Path | None = Field(
        default=None,
        description="Directory with initdb/pg_ctl; found under /usr/lib/postgresql when unset.",
    )
    pg_service_user: str = Field(
        default="postgres",
        description="System user that runs the managed server when landflood runs as root.",
    )
    db_name: str = Field(default="landflood", pattern=r"^[a-z_][a-z0-9_]*$",
                         description="Database name in the managed cluster.")
    log_level: str = Field(default="INFO", description="Logging level for the CLI and the app: DEBUG, INFO, "
                           "WARNING, ERROR or CRITICAL.")

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith(("postgresql", "postgres://")):
            raise ValueError(
                "LANDFLOOD_DATABASE_URL must be a PostgreSQL URL such as "
                "postgresql+psycopg://user:password@host:5432/dbname"
            )
        if v.startswith("postgres://"):
            v = "postgresql://" + v[len("postgres://"):]
        if v.startswith("postgresql://"):
            v = "postgresql+psycopg://" + v[len("postgresql://"):]
        return v

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, v: str) -> str:
        level = v.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"{v!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("var_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @property
    def uses_managed_cluster(self) -> bool:
        return self.database_url is None


def load_settings() -> Settings:
    """The settings from the environment and ``.env``; a ConfigError naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "LANDFLOOD_" + "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"{name}: {err['msg'].removeprefix('Value error, ')} (set in the environment or .env)")
        raise ConfigError("invalid setting(s):\n  " + "\n  ".join(lines)) from None
