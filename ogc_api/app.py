"""The Flask application: pygeoapi embedded for the OGC API machinery, landflood's own routes
for what must be fast or private (items, queryables, tiles), access control and errors.

Production: ``gunicorn -w 4 -b 0.0.0.0:5000 'ogc_api.app:create_app()'`` (settings from the
LANDFLOOD_* environment); development: ``landflood serve``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus

import psycopg
import sqlalchemy.exc
from flask import Flask, Response, g, request, url_for
from werkzeug.datastructures import Headers
from pygeoapi.api import API, APIRequest, apply_gzip, landing_page
from pygeoapi.models.provider.base import TileMatrixSetEnum

from landdb.database import ensure_database, make_engine
from landflood.errors import LandfloodError, NotFoundError
from landflood.settings import Settings, load_settings
from ogc_api import auth, context, errors, items, limits
from ogc_api.collections import COLLECTIONS
from ogc_api.config import TILE_MATRIX_SET, TILED, maps_link, pygeoapi_config
from ogc_api.db import DatabaseUnavailable, Pools, translate

log = logging.getLogger(__name__)
LANGS = ("vi", "en")
#: pygeoapi's HTML templates take these from public CDNs; the app serves the same libraries
#: (maps/static/vendor), so its HTML pages also work inside a city network with no internet.
CDN_ASSETS = {
    "https://unpkg.com/bootstrap@5.1.3/dist/css/bootstrap.min.css": "bootstrap-5.1.3/bootstrap.min.css",
    "https://unpkg.com/leaflet@1.3.1/dist/leaflet.css": "leaflet-1.9.4/leaflet.css",
    "https://unpkg.com/leaflet@1.3.1/dist/leaflet.js": "leaflet-1.9.4/leaflet.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet/1.3.1/leaflet.js": "leaflet-1.9.4/leaflet.js",
    "https://unpkg.com/leaflet.markercluster/dist/leaflet.markercluster-src.js":
        "leaflet.markercluster-1.5.3/leaflet.markercluster.js",
    "https://unpkg.com/leaflet.markercluster/dist/MarkerCluster.css": "leaflet.markercluster-1.5.3/MarkerCluster.css",
    "https://unpkg.com/leaflet.markercluster/dist/MarkerCluster.Default.css":
        "leaflet.markercluster-1.5.3/MarkerCluster.Default.css",
    "https://unpkg.com/leaflet.vectorgrid@latest/dist/Leaflet.VectorGrid.bundled.js":
        "leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js",
    # /openapi?f=html: Swagger UI, and ReDoc with ui=redoc
    "https://unpkg.com/swagger-ui-dist/swagger-ui.css": "swagger-ui-dist-5.35.0/swagger-ui.css",
    "https://unpkg.com/swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-dist-5.35.0/swagger-ui-bundle.js",
    "https://unpkg.com/swagger-ui-dist/swagger-ui-standalone-preset.js":
        "swagger-ui-dist-5.35.0/swagger-ui-standalone-preset.js",
    "https://unpkg.com/swagger-ui-dist/favicon-32x32.png": "swagger-ui-dist-5.35.0/favicon-32x32.png",
    "https://unpkg.com/swagger-ui-dist/favicon-16x16.png": "swagger-ui-dist-5.35.0/favicon-16x16.png",
    "https://cdn.jsdelivr.net/npm/redoc@latest/bundles/redoc.standalone.js": "redoc-2.5.4/redoc.standalone.js",
}


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app; the database is made usable first (the managed cluster is started)."""
    settings = settings or load_settings()
    url = ensure_database(settings)
    config = pygeoapi_config(settings)
    app = Flask(__name__, static_folder=config["server"]["templates"]["static"], static_url_path="/static")
    app.url_map.strict_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = limits.MAX_BODY_BYTES
    pools = Pools(url, settings.database_read_url, settings.api_timeout_s)
    state = context.AppState(settings=settings, pools=pools, api=None)
    state.engine = make_engine(url, statement_timeout_s=settings.api_timeout_s)
    app.extensions["landflood"] = state
    from ogc_api import openapi
    state.api = API(config, openapi.document(settings.public_url))
    # The items come from our own routes (GeoJSON, GeoJSON-LD, HTML); pygeoapi would link a CSV
    # version of them from every collection.
    from pygeoapi.plugin import PLUGINS
    PLUGINS["formatter"].pop("CSV", None)
    # pygeoapi tries every nested config key as a locale and warns about each one.
    logging.getLogger("pygeoapi.l10n").setLevel(logging.ERROR)
    app.before_request(_before)
    app.after_request(_local_assets)
    app.register_error_handler(LandfloodError, errors.exception_response)
    app.register_error_handler(sqlalchemy.exc.DBAPIError, _database_error)
    app.register_error_handler(psycopg.Error, _database_error)
    app.register_error_handler(HTTPStatus.NOT_FOUND, lambda e: errors.problem(404, "NotFound", str(e.description)))
    app.register_error_handler(HTTPStatus.METHOD_NOT_ALLOWED,
                               lambda e: errors.problem(405, "MethodNotAllowed", str(e.description)))
    app.register_error_handler(Exception, _unexpected)
    app.register_blueprint(items.bp)
    _register_pygeoapi(app)
    from ogc_api import tiles, edr, processes  # noqa: F401  (their routes)
    app.register_blueprint(tiles.bp)
    app.register_blueprint(edr.bp)
    app.register_blueprint(processes.bp)
    app.register_blueprint(openapi.bp)
    from maps.web import bp as maps_bp
    app.register_blueprint(maps_bp)
    return app


def _before() -> None:
    limits.check_request(request)
    requested = request.args.get("lang") or request.accept_languages.best_match(LANGS) or "vi"
    g.lang = requested[:2] if requested[:2] in LANGS else "vi"
    auth.authenticate()


def _local_assets(resp: Response) -> Response:
    """Point pygeoapi's HTML pages at the app's own copies of their CDN libraries."""
    if (resp.mimetype != "text/html" or resp.direct_passthrough or "Content-Encoding" in resp.headers
            or request.blueprint == "maps"):
        return resp
    html = resp.get_data(as_text=True)
    if any(host in html for host in ("unpkg.com", "cdnjs.cloudflare.com", "cdn.jsdelivr.net")):
        for cdn, local in CDN_ASSETS.items():
            html = html.replace(cdn, url_for("maps.static", filename=f"vendor/{local}"))
        resp.set_data(html)
    return resp


def _database_error(exc: Exception) -> Response:
    """A driver error that reached the app (writes and processes use SQLAlchemy): translated once
    (``ogc_api.db.translate``); one that is not the client's or the network's is a bug (500)."""
    orig = getattr(exc, "orig", exc)
    ours = translate(orig, context.state().settings.api_timeout_s) if isinstance(orig, psycopg.Error) else orig
    if not isinstance(ours, LandfloodError):
        return _unexpected(exc)
    if isinstance(ours, DatabaseUnavailable):
        log.warning("database unavailable: %s", ours)
    return errors.exception_response(ours)


def _unexpected(exc: Exception) -> Response:
    from werkzeug.exceptions import HTTPException
    if isinstance(exc, HTTPException):
        return errors.problem(exc.code or 500, exc.name.replace(" ", ""), str(exc.description))
    log.exception("unexpected error on %s %s", request.method, request.path)
    return errors.problem(500, "NoApplicableCode", "internal error; it has been logged")


#: The f= values pygeoapi's pages answer (it would also take f=png or f=mvt and answer them with JSON).
PAGE_FORMATS = ("json", "html", "jsonld")


def pygeoapi_call(fn: Callable, *args, formats: tuple[str, ...] = PAGE_FORMATS) -> Response:
    """Run one of pygeoapi's API functions on the current Flask request; an ``f`` outside
    ``formats`` is a 400, as the OpenAPI document says."""
    api = context.state().api
    api_request = APIRequest.from_flask(request, api.locales)
    f = request.args.get("f")  # not stripped: pygeoapi would take f=%1E (a control character) for no f
    if f and f not in formats:
        return errors.problem(400, "InvalidParameterValue",
                              f"f={f!r} is not offered here; use f={' or f='.join(formats)}")
    if not api_request.is_valid():
        headers, status, content = api.get_format_exception(api_request)
    else:
        headers, status, content = fn(api, api_request, *args)
        content = apply_gzip(headers, content)
    resp = Response(content, status=status)
    if headers:
        resp.headers = Headers(headers)
    return resp


def _register_pygeoapi(app: Flask) -> None:
    import pygeoapi.api as core
    import pygeoapi.api.tiles as tiles_api

    app.add_url_rule("/", "landing", _landing)
    app.add_url_rule("/collections", "collections", _collections)
    app.add_url_rule("/collections/<cid>", "collection", _collections)
    json_html = ("json", "html")
    routes = {
        "/collections/<cid>/schema": ("schema", core.get_collection_schema, json_html),
        "/TileMatrixSets": ("tilematrixsets", tiles_api.tilematrixsets, json_html),
        "/TileMatrixSets/<tms>": ("tilematrixset", tiles_api.tilematrixset, json_html),
        "/collections/<cid>/tiles": ("tilesets", tiles_api.get_collection_tiles, PAGE_FORMATS),
        "/collections/<cid>/tiles/<tms>": ("tileset", tiles_api.get_collection_tiles_metadata, PAGE_FORMATS),
        "/collections/<cid>/tiles/<tms>/metadata": ("tileset_metadata", tiles_api.get_collection_tiles_metadata,
                                                    PAGE_FORMATS),
    }
    for rule, (name, fn, formats) in routes.items():
        app.add_url_rule(rule, name, _passthrough(fn, formats))
    app.before_request(_known_tiling)


def _known_tiling() -> None:
    """Answer an unknown tile matrix set or an untiled collection with a 404 that names what
    there is (pygeoapi answers some with a 400, and one with an UnboundLocalError)."""
    args = request.view_args or {}
    tms, cid = args.get("tms"), args.get("cid")
    if request.endpoint in ("tilesets", "tileset", "tileset_metadata") and cid in COLLECTIONS and cid not in TILED:
        raise NotFoundError(f"{cid!r} has no vector tiles; tiled collections: {', '.join(TILED)}")
    if request.endpoint in ("tileset", "tileset_metadata") and tms != TILE_MATRIX_SET:
        raise NotFoundError(f"tile matrix set {tms!r} is not offered for {cid}; use {TILE_MATRIX_SET}")
    known = [e.value.tileMatrixSet for e in TileMatrixSetEnum]
    if request.endpoint == "tilematrixset" and tms not in known:
        raise NotFoundError(f"there is no tile matrix set {tms!r}; /TileMatrixSets lists {', '.join(known)}")


def _edit_json(resp: Response, edit: Callable[[dict], None]) -> Response:
    """Apply ``edit`` to a pygeoapi JSON answer (not to its HTML, errors or gzipped bodies)."""
    if (resp.status_code == 200 and resp.headers.get("Content-Type", "").startswith("application/json")
            and "Content-Encoding" not in resp.headers):
        doc = json.loads(resp.get_data())
        edit(doc)
        resp.set_data(json.dumps(doc, ensure_ascii=False))
    return resp


def _landing() -> Response:
    """pygeoapi's landing page, whose JSON also links the planners' maps (the HTML shows them
    through the template override in ogc_api/templates)."""
    link = maps_link(context.state().settings.public_url, context.lang())
    return _edit_json(pygeoapi_call(landing_page), lambda doc: doc["links"].append(link))


def _collections(cid: str | None = None) -> Response:
    """pygeoapi's collection descriptions, with the EDR queries' links typed as they answer."""
    import pygeoapi.api as core

    from ogc_api.edr import type_data_links

    def edit(doc: dict) -> None:
        for coll in doc.get("collections", [doc]):
            type_data_links(coll["links"])
    return _edit_json(pygeoapi_call(core.describe_collections, *([cid] if cid else [])), edit)


def _passthrough(fn: Callable, formats: tuple[str, ...]) -> Callable:
    def view(**kwargs):
        return pygeoapi_call(fn, *kwargs.values(), formats=formats)
    return view
