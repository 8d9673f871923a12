"""Who is calling: a bearer token (``Authorization: Bearer ...``) or the maps' signed session.

No state is kept in the process: tokens are looked up (by hash) in the database on each request.
"""

from __future__ import annotations

from flask import g, request, session

from landdb.api_users import LOOKUP_SQL, ApiUser, token_hash
from landflood.errors import AuthenticationError, PermissionDeniedError
from ogc_api.context import state


def user_for_token(token: str) -> ApiUser | None:
    with state().pools.read() as conn:
        row = conn.execute(LOOKUP_SQL, {"h": token_hash(token)}).fetchone()
    return ApiUser(*row) if row else None


def authenticate() -> None:
    """Set ``g.user`` (None for the public). A wrong token is an error, not the public role."""
    g.user = None
    header = request.headers.get("Authorization", "")
    token = None
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError("Authorization must be 'Bearer <token>' (create one with "
                                      "`landflood users add NAME --role officer`)")
        token = value.strip()
    elif session.get("token"):
        token = session["token"]
    if token is None:
        return
    user = user_for_token(token)
    if user is None:
        if header:
            raise AuthenticationError("the token is not valid (revoked or mistyped); ask an admin for a new one")
        session.pop("token", None)
        return
    g.user = user


def require(*roles: str) -> ApiUser:
    """The current user, who must have one of ``roles``."""
    user = getattr(g, "user", None)
    if user is None:
        raise AuthenticationError("this needs a land registry officer's token: send 'Authorization: Bearer <token>'")
    if user.role not in roles:
        raise PermissionDeniedError(f"role {user.role!r} may not do this (needs {' or '.join(roles)})")
    return user
