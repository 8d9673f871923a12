"""The OGC API on a Flask app: pygeoapi embedded for the OGC API machinery, landflood's own
routes for what must be fast or private (items, queryables, tiles, EDR, processes, the OpenAPI
document), access control and errors. The whole web application, the maps included, is built by
``landflood.app.create_app``.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

import psycopg
import sqlalchemy.exc
from flask import Flask, Response, g, request
from pygeoapi.api import API, landing_page
from pygeoapi.models.provider.base import TileMatrixSetEnum

from landdb.database import ensure_database, make_engine
from landflood.errors import LandfloodError, NotFoundError
from landflood.settings import Settings
from ogc_api import auth, bridge, context, documents, errors, items, limits, search
from ogc_api.collections import COLLECTIONS
from ogc_api.config import TILE_MATRIX_SET, TILED, maps_link, pygeoapi_config
from ogc_api.db import DatabaseUnavailable, Pools, translate

log = logging.getLogger(__name__)
LANGS = ("vi", "en")
def create_api(settings: Settings) -> Flask:
    """The OGC API on a new Flask app; the database is made usable first (the managed cluster is
    started). ``landflood.app.create_app`` adds the maps."""
    url = ensure_database(settings)
    config = pygeoapi_config(settings)
    app = Flask(__name__, static_folder=config["server"]["templates"]["static"], static_url_path="/static")
    app.url_map.strict_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = limits.MAX_BODY_BYTES
    from ogc_api import openapi

    timeout = settings.api_timeout_s
    engine = make_engine(url, statement_timeout_s=timeout)
    read_engine = make_engine(settings.database_read_url, statement_timeout_s=timeout) \
        if settings.database_read_url else engine
    app.extensions["landflood"] = context.AppState(
        settings=settings, pools=Pools(url, settings.database_read_url, timeout),
        api=API(config, openapi.document(settings.public_url)), engine=engine, read_engine=read_engine)
    # The items come from our own routes (GeoJSON, GeoJSON-LD, HTML); pygeoapi would link a CSV
    # version of them from every collection.
    from pygeoapi.plugin import PLUGINS
    PLUGINS["formatter"].pop("CSV", None)
    # pygeoapi tries every nested config key as a locale and warns about each one.
    logging.getLogger("pygeoapi.l10n").setLevel(logging.ERROR)

    app.before_request(_before)
    app.register_error_handler(LandfloodError, errors.exception_response)
    app.register_error_handler(sqlalchemy.exc.DBAPIError, _database_error)
    app.register_error_handler(psycopg.Error, _database_error)
    app.register_error_handler(HTTPStatus.NOT_FOUND, lambda e: errors.problem(404, "NotFound", str(e.description)))
    app.register_error_handler(HTTPStatus.METHOD_NOT_ALLOWED,
                               lambda e: errors.problem(405, "MethodNotAllowed", str(e.description)))
    app.register_error_handler(Exception, _unexpected)
    app.register_blueprint(items.bp)
    _register_pygeoapi(app)
    from ogc_api import edr, processes, registry, tiles  # noqa: F401  (their routes)
    app.register_blueprint(tiles.bp)
    app.register_blueprint(edr.bp)
    app.register_blueprint(processes.bp)
    app.register_blueprint(registry.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(search.bp)
    return app


def _before() -> None:
    limits.check_request(request)
    _own_translations()
    requested = request.args.get("lang") or request.accept_languages.best_match(LANGS) or "vi"
    g.lang = requested[:2] if requested[:2] in LANGS else "vi"
    auth.authenticate()


_translated_for: list[int] = [0]  # id of the pygeoapi config that pygeoapi.l10n's cache holds


def _own_translations() -> None:
    """pygeoapi caches the configuration it translated per language for the whole process, not
    per app: where several apps share a process (the tests; two public URLs), a page of one would
    carry the other's links. Forget it when the app asking is not the one it was made for."""
    config = id(context.state().api.config)
    if _translated_for[0] != config:
        from pygeoapi import l10n

        l10n._cfg_cache.clear()
        _translated_for[0] = config


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
        "/collections/<cid>/tiles": ("tilesets", tiles_api.get_collection_tiles, bridge.PAGE_FORMATS),
        "/collections/<cid>/tiles/<tms>": ("tileset", tiles_api.get_collection_tiles_metadata, bridge.PAGE_FORMATS),
        "/collections/<cid>/tiles/<tms>/metadata": ("tileset_metadata", tiles_api.get_collection_tiles_metadata,
                                                    bridge.PAGE_FORMATS),
    }
    for rule, (name, fn, formats) in routes.items():
        app.add_url_rule(rule, name, bridge.passthrough(fn, formats))
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


def _landing() -> Response:
    """pygeoapi's landing page, whose JSON also links the planners' maps (the HTML shows them
    through the template override in ogc_api/templates)."""
    link = maps_link(context.state().settings.public_url, context.lang())
    return bridge.edit_json(bridge.pygeoapi_call(landing_page), lambda doc: doc["links"].append(link))


def _collections(cid: str | None = None) -> Response:
    """pygeoapi's collection descriptions, with the EDR queries' links typed as they answer."""
    import pygeoapi.api as core

    from ogc_api.edr import type_data_links

    def edit(doc: dict) -> None:
        for coll in doc.get("collections", [doc]):
            type_data_links(coll["links"])
    return bridge.edit_json(bridge.pygeoapi_call(core.describe_collections, *([cid] if cid else [])), edit)


