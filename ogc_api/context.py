"""What a request runs with: the app's pools and settings, and the caller's role.

pygeoapi instantiates providers itself (one per request), so they find the app's state here
instead of holding their own connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import current_app, g, has_request_context
from pygeoapi.api import API
from sqlalchemy import Engine

from landdb.codes import ROLES
from landflood.settings import Settings
from ogc_api.db import Pools


@dataclass
class AppState:
    """The app's shared state (one per process), kept in ``app.extensions["landflood"]``."""

    settings: Settings
    pools: Pools  # psycopg pools: reads (a replica if configured) and writes
    api: API  # pygeoapi's, for the pages and descriptions it renders
    engine: Engine  # SQLAlchemy, on the primary: writes through landdb
    read_engine: Engine  # SQLAlchemy on the replica when there is one (else the primary): processes


def state() -> AppState:
    return cast(AppState, current_app.extensions["landflood"])


def role() -> str:
    """'public' or one of landdb.codes.ROLES for the current request (public outside requests)."""
    if not has_request_context():
        return "public"
    user = getattr(g, "user", None)
    return user.role if user else "public"


def is_officer() -> bool:
    """Whether the caller may see personal data (every role does; the public does not)."""
    return role() in ROLES


def lang() -> str:
    return getattr(g, "lang", "vi") if has_request_context() else "vi"
