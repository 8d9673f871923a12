"""The maps' blueprint: home page, the two maps, officer sign-in/out, and the small JSON and PNG
routes the maps need besides the OGC API (boundaries, per-scenario parcel risk, water depth).

Register it on the app (``app.register_blueprint(bp)``); everything lives under ``/maps``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from landdb.land_use import WATER_CODES
from maps import data, depth, pages
from maps.i18n import strings
from ogc_api import auth, context


class _Blueprint(Blueprint):
    def get_send_file_max_age(self, filename: str | None) -> int:
        return 3600  # vendored libraries and maps.js: an hour in the browser cache


#: The first view's zoom when the link names none (parcels are drawn from PARCELS_MIN_ZOOM on).
DEFAULT_ZOOM = 17
#: Parcels are drawn from this zoom on: a z15 tile of a dense district already holds ~5,000
#: parcels (~0.5 MB); below it a view would pull tens of megabytes.
PARCELS_MIN_ZOOM = 15
bp = _Blueprint("maps", __name__, url_prefix="/maps", static_folder="static",
                template_folder="templates")
bp.after_request(auth.remember_csrf)


def _lang() -> str:
    return getattr(g, "lang", "vi")


def _user() -> dict[str, str] | None:
    user = getattr(g, "user", None)
    return {"name": user.name, "role": user.role} if user else None


def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Vary"] = "Cookie, Accept-Language"
    return resp


@bp.route("/")
def home() -> Response:
    """The planners' way in: the two maps; and the GIS users' way in: the OGC API."""
    lang = _lang()
    html = render_template("maps/home.html", t=strings(lang), lang=lang, other="en" if lang == "vi" else "vi",
                           api=context.state().settings.public_url.rstrip("/"), user=_user())
    return _no_store(Response(html, mimetype="text/html"))


def page_config(kind: str, conn: Any, lang: str, api: str) -> dict[str, Any]:
    """What maps.js needs for one served map (without data: that comes as tiles)."""
    west, south, east, north = data.data_bbox(conn)
    scenarios = data.scenarios(conn)
    return {
        "kind": kind, "lang": lang, "t": strings(lang, officer=context.is_officer()), "api": api, "user": _user(),
        "csrf": auth.csrf_token(),
        "parcelsMinZoom": PARCELS_MIN_ZOOM,
        "view": _view(((south + north) / 2, (west + east) / 2)),
        "landUse": data.land_use_colors(conn),
        "waterCodes": sorted(WATER_CODES),
        "legend": data.land_use_types(conn) if kind == "land-use" else [],
        "wards": data.wards(conn),
        "scenarios": scenarios,
        "depthSteps": depth.legend_steps(),
        "routes": {"home": url_for("maps.home"), "signIn": url_for("maps.sign_in"), "signOut": url_for("maps.sign_out"),
                   "admin": url_for("maps.admin_units"), "risk": url_for("maps.home") + "api/parcels/",
                   "depth": url_for("maps.home") + "api/flood-depth/"},
    }


def _view(centre: tuple[float, float]) -> dict[str, float]:
    """The first view: ``?lat=&lon=&z=`` when given (links, tests), else the data's centre at
    street-block zoom, where a view holds a few thousand parcels."""
    try:
        lat, lon = float(request.args["lat"]), float(request.args["lon"])
        zoom = int(request.args.get("z", DEFAULT_ZOOM))
        if -90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= zoom <= 22:
            return {"lat": lat, "lon": lon, "zoom": zoom}
    except (KeyError, ValueError):
        pass
    return {"lat": centre[0], "lon": centre[1], "zoom": DEFAULT_ZOOM}


@bp.route("/<any('flood-risk', 'land-use'):kind>")
def map_page(kind: str) -> Response:
    lang = _lang()
    with context.state().pools.read() as conn:
        config = page_config(kind, conn, lang, context.state().settings.public_url.rstrip("/"))
    g.csp_nonce = secrets.token_urlsafe(16)  # the page's scripts carry it (see landflood.app's CSP)
    html = pages.build(kind, config, pages.Assets.served(lambda f: url_for("maps.static", filename=f)),
                       nonce=g.csp_nonce)
    return _no_store(Response(html, mimetype="text/html"))


def _safe_next(value: str | None) -> str:
    """Only a path of the maps (no open redirect)."""
    if value and value.startswith("/maps") and not value.startswith("//"):
        return value
    return url_for("maps.home")


@bp.post("/sign-in")
def sign_in() -> BaseResponse:
    """Check an officer's token and open a session for this browser (its cookie holds the
    session's secret, not the token)."""
    auth.check_form()
    target = _safe_next(request.form.get("next"))
    token = (request.form.get("token") or "").strip()
    user = auth.user_for_token(token) if token else None
    if user is None:
        resp = redirect(target + ("&" if "?" in target else "?") + "signin=failed", code=303)
        auth.end_session(resp)
        return resp
    resp = redirect(target, code=303)
    auth.start_session(resp, user)
    return resp


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    auth.check_form()
    resp = redirect(_safe_next(request.form.get("next")), code=303)
    auth.end_session(resp)
    return resp


def _json(value: Any, max_age: int = 60) -> Response:
    body = json.dumps(value, ensure_ascii=False, default=str)
    resp = Response(body, mimetype="application/json")
    resp.headers["Cache-Control"] = f"public, max-age={max_age}"
    resp.headers["ETag"] = '"' + hashlib.md5(body.encode()).hexdigest() + '"'
    resp.make_conditional(request)  # in place: a 304 when the browser's copy is current
    return resp


@bp.route("/api/admin-units")
def admin_units() -> Response:
    """Today's communes and wards, simplified for the screen (GeoJSON, CRS84)."""
    with context.state().pools.read() as conn:
        text = data.admin_geojson(conn)
    resp = Response(text, mimetype="application/geo+json")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.headers["ETag"] = '"' + hashlib.md5(text.encode()).hexdigest() + '"'
    resp.make_conditional(request)  # in place: a 304 when the browser's copy is current
    return resp


@bp.route("/api/parcels/<parcel_id>/risk")
def parcel_risk(parcel_id: str) -> Response:
    """A parcel's flood risk in each computed scenario."""
    with context.state().pools.read() as conn:
        return _json(data.parcel_risk(conn, parcel_id))


@bp.route("/api/flood-depth/<scenario>")
def flood_depth(scenario: str) -> Response:
    """Where the scenario's water-depth image is and which area it covers."""
    path = _depth_path(scenario)
    _, bounds = depth.render_png(path)
    return _json({"url": url_for("maps.flood_depth_png", scenario=scenario), "bounds": bounds})


@bp.route("/api/flood-depth/<scenario>.png")
def flood_depth_png(scenario: str) -> Response:
    png, _ = depth.render_png(_depth_path(scenario))
    resp = Response(png, mimetype="image/png")
    resp.headers["Cache-Control"] = "public, max-age=300"
    resp.headers["ETag"] = '"' + hashlib.md5(png).hexdigest() + '"'
    resp.make_conditional(request)  # in place: a 304 when the browser's copy is current
    return resp


def _depth_path(scenario: str) -> str:
    with context.state().pools.read() as conn:
        path = data.depth_raster_path(conn, scenario)
    if path is None:
        abort(404, f"scenario {scenario!r} has no water-depth raster")
    return path
