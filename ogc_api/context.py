"""What a request runs with: the app's pools and settings, and the caller's role.

pygeoapi instantiates providers itself (one per request), so they find the app's state here
instead of holding their own connections.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, has_request_context

from landflood.settings import Settings
from ogc_api.db import Pools


@dataclass
class AppState:
    settings: Settings
    pools: Pools
    api: object  # pygeoapi.api.API
    engine: object = None  # SQLAlchemy engine, for writes through landdb


def state() -> AppState:
    return current_app.extensions["landflood"]


def role() -> str:
    """'public', 'officer' or 'admin' for the current request (public outside requests)."""
    if not has_request_context():
        return "public"
    user = getattr(g, "user", None)
    return user.role if user else "public"


def is_officer() -> bool:
    return role() in ("officer", "admin")


def lang() -> str:
    return getattr(g, "lang", "vi") if has_request_context() else "vi"
