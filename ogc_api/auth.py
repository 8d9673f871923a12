"""Who is calling: a bearer token (``Authorization: Bearer ...``) or the maps' sign-in session.

No state is kept in the process: tokens and sessions are looked up (by hash) in the database on
each request, on the primary, so that a revocation or a sign-out holds at once everywhere.

The maps' session cookie (``landflood_session``) holds a random session secret, never the
token, and it only *reads*: on a request that changes state (POST, PUT, PATCH, DELETE) it is not
looked at, so a page on another site that makes a signed-in officer's browser send a write
gets the public's answer (401). Writes need the bearer token. The two forms that need the
cookie's origin to be trusted, sign-in and sign-out, check :func:`check_form`: the request must
come from this site (``Origin``/``Referer``/``Sec-Fetch-Site``) and carry the CSRF token that the
page was served with (a double-submitted ``landflood_csrf`` cookie).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import g, request
from werkzeug.wrappers import Response

from landdb import api_users
from landdb.api_users import ApiUser
from landflood.errors import AuthenticationError, PermissionDeniedError
from ogc_api.context import state

SESSION_COOKIE = "landflood_session"
CSRF_COOKIE = "landflood_csrf"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def user_for_token(token: str) -> ApiUser | None:
    with state().pools.write() as conn:
        return api_users.user_for_token(conn, token)


def authenticate() -> None:
    """Set ``g.user`` (None for the public). A wrong token is an error, not the public role."""
    g.user = None
    g.cookie_ignored = False
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError("Authorization must be 'Bearer <token>' (create one with "
                                      "`landflood users add NAME --role officer`)")
        user = user_for_token(value.strip())
        if user is None:
            raise AuthenticationError("the token is not valid (revoked or mistyped); ask an admin for a new one")
        g.user = user
        return
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return
    if request.method not in SAFE_METHODS:
        g.cookie_ignored = True  # the sign-in cookie never authorises a change (see the module's doc)
        return
    with state().pools.write() as conn:
        g.user = api_users.session_user(conn, secret)


def require(*roles: str) -> ApiUser:
    """The current user, who must have one of ``roles``."""
    user = getattr(g, "user", None)
    if user is None:
        why = (" (the maps' sign-in cookie only reads; changes need the token itself)"
               if getattr(g, "cookie_ignored", False) else "")
        raise AuthenticationError("this needs a land registry officer's token: send "
                                  f"'Authorization: Bearer <token>'{why}")
    if user.role not in roles:
        raise PermissionDeniedError(f"role {user.role!r} may not do this (needs {' or '.join(roles)})")
    return user


# --- the maps' sign-in forms ------------------------------------------------------------------

def csrf_token() -> str:
    """This browser's CSRF token (its cookie's value); a new one when it has none yet, which
    :func:`remember_csrf` then sets on the response."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(g, "new_csrf", None)
    if not token:
        token = g.new_csrf = secrets.token_urlsafe(24)
    return str(token)


def remember_csrf(resp: Response) -> Response:
    """Set the CSRF cookie when this request made the token (an ``after_request`` hook)."""
    token = getattr(g, "new_csrf", None)
    if token:
        resp.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=_secure(), path="/maps")
    return resp


def check_form() -> None:
    """Refuse a form post that did not come from this site's own page (CSRF, login CSRF)."""
    own = {_origin(request.host_url), _origin(state().settings.public_url)}
    origin = request.headers.get("Origin") or _origin(request.headers.get("Referer", ""))
    if request.headers.get("Sec-Fetch-Site") == "cross-site" or (origin and origin not in own):
        raise PermissionDeniedError("this form was sent from another site, which is refused; sign in "
                                    "from the landflood maps page itself")
    sent, kept = request.form.get("csrf", ""), request.cookies.get(CSRF_COOKIE, "")
    if not kept or not hmac.compare_digest(sent, kept):
        raise PermissionDeniedError("the form's security token is missing or outdated; reload the page and "
                                    "try again")


def start_session(resp: Response, user: ApiUser) -> None:
    """Sign ``user`` in on this browser: a new session (a new secret each time) in its cookie."""
    hours = state().settings.session_hours
    with state().pools.write() as conn:
        secret = api_users.open_session(conn, user, hours)
    resp.set_cookie(SESSION_COOKIE, secret, max_age=int(hours * 3600), httponly=True, samesite="Lax",
                    secure=_secure(), path="/")


def end_session(resp: Response) -> None:
    """Sign this browser out: its session is deleted, not only its cookie."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        with state().pools.write() as conn:
            api_users.close_session(conn, secret)
    resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=_secure())


def _secure() -> bool:
    return state().settings.public_url.startswith("https://")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""
