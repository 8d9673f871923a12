"""OGC API Tiles: Mapbox vector tiles (WebMercatorQuad) made by PostGIS (ST_AsMVT).

Each zoom carries the attributes it needs (``Prop.mvt_min_zoom``, see ``ogc_api.collections``);
``properties=a,b`` narrows them further to what a client styles by (the maps ask for
``land_use`` or ``flood_risk`` only). A tile holds at most ``FEATURE_CAP`` features. Responses are
gzipped when the client accepts it and carry an ETag per variant and Cache-Control, so browsers
and proxies cache them. Tiles for officers may carry owner names and are never cached by shared
caches.
"""

from __future__ import annotations

import gzip
import hashlib
from typing import Any

from flask import Blueprint, Response, request
from pygeoapi.models.provider.base import TileMatrixSetEnum
from pygeoapi.provider.mvt_postgresql import MVTPostgreSQLProvider
from pygeoapi.provider.tile import ProviderTileNotFoundError

from landdb.models import CITY_SRID
from landflood.errors import NotFoundError, QueryError
from ogc_api import context
from ogc_api.collections import COLLECTIONS, Collection, Prop
from ogc_api.config import TILED

bp = Blueprint("tiles", __name__)
MVT = "application/vnd.mapbox-vector-tile"
FEATURE_CAP = 20_000
MAX_ZOOM = 22
#: Below these zooms a collection's tiles are empty (a city's parcels do not fit a z10 tile).
MIN_ZOOM = {"parcels": 13, "flood-risk-zones": 0, "waterlogging-points": 0}
#: zlib level for tiles. Measured on 1M-parcel tiles (z14-z18): level 5 comes within 1% of level
#: 6's size in about two thirds of its time (a capped z14 tile: 25 vs 45 ms); level 1 is 10% larger.
GZIP_LEVEL = 5


def tile_props(coll: Collection, z: int, officer: bool, names: list[str] | None = None) -> tuple[Prop, ...]:
    """The attributes of a tile at zoom ``z``: those of the zoom, narrowed to ``names`` when given."""
    props = [p for p in coll.visible(officer) if p.mvt_min_zoom is not None and p.mvt_min_zoom <= z]
    return tuple(p for p in props if names is None or p.name in names)


def parse_properties(coll: Collection, value: str | None, officer: bool) -> list[str] | None:
    """The names in a ``properties=`` parameter (None when absent or empty: the zoom's whole set),
    checked against the collection's tile attributes.

    A name the caller may not see (owners, for the public) is as unknown as a misspelt one, and
    the error names only what the caller may ask for.
    """
    if not value or not value.strip():
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    allowed = [p.name for p in coll.visible(officer) if p.mvt_min_zoom is not None]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise QueryError(f"properties: {coll.id} tiles have no property {', '.join(map(repr, unknown))}; "
                         f"use some of: {', '.join(allowed)}")
    return names


def tile_sql(coll: Collection, z: int, officer: bool, names: list[str] | None = None) -> str:
    """The statement for one tile; its columns come from the allow-list only, never from a request."""
    cols = "".join(f", {p.sql.format(lang='vi')} AS {p.name}" for p in tile_props(coll, z, officer, names))
    where = f" AND {coll.current}" if coll.current else ""
    return f"""
        WITH bounds AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS merc)
        SELECT ST_AsMVT(t, %(layer)s, 4096, 'geom', 'fid') FROM (
            SELECT ST_AsMVTGeom(ST_Transform({coll.geom}, 3857), bounds.merc, 4096, 64, true) AS geom,
                   {coll.key} AS fid {cols}
            FROM {coll.source}, bounds
            WHERE {coll.geom} && ST_Transform(bounds.merc, {CITY_SRID}){where}
            LIMIT {FEATURE_CAP}) t
        WHERE t.geom IS NOT NULL"""


def render_tile(coll: Collection, z: int, x: int, y: int, officer: bool, names: list[str] | None = None) -> bytes:
    """The MVT bytes of one tile (empty below the collection's first zoom or where nothing is)."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFoundError(f"tile {z}/{y}/{x} is outside WebMercatorQuad (zoom 0..{MAX_ZOOM})")
    if z < MIN_ZOOM.get(coll.id, 0):
        return b""
    sql = tile_sql(coll, z, officer, names)
    with context.state().pools.read() as conn:
        row = conn.execute(sql, {"z": z, "x": x, "y": y, "layer": coll.id}).fetchone()
    return bytes(row[0]) if row and row[0] else b""


def _tiled(cid: str) -> Collection:
    if cid not in TILED:
        raise NotFoundError(f"{cid!r} has no vector tiles; tiled collections: {', '.join(TILED)}")
    return COLLECTIONS[cid]


@bp.route("/collections/<cid>/tiles/<tms>/<int:z>/<int:y>/<int:x>")
def tile(cid: str, tms: str, z: int, y: int, x: int) -> Response:
    coll = _tiled(cid)
    if tms != "WebMercatorQuad":
        raise NotFoundError(f"tile matrix set {tms!r} is not offered; use WebMercatorQuad")
    if request.args.get("f") not in (None, "mvt", "pbf"):
        raise QueryError("tiles come as f=mvt only")
    officer = context.is_officer()
    names = parse_properties(coll, request.args.get("properties"), officer)
    data = render_tile(coll, z, x, y, officer, names)
    # An empty tile stays an empty body: nothing to compress.
    gzipped = bool(data) and request.accept_encodings.quality("gzip") > 0
    # Each encoding is its own representation, with its own ETag (RFC 9110, 8.8.3).
    etag = hashlib.md5(data).hexdigest() + ("-gzip" if gzipped else "")
    headers = {"ETag": f'"{etag}"', "Vary": "Authorization, Cookie, Accept-Encoding",
               "Cache-Control": "private, max-age=60" if officer else "public, max-age=300"}
    if request.if_none_match.contains_weak(etag):
        return Response(status=304, headers=headers)
    if gzipped:
        data = gzip.compress(data, GZIP_LEVEL, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(data, mimetype=MVT, headers=headers)


def tileset_layer(coll: Collection) -> dict:
    """The tileset's one layer, as OGC API Tiles describes vector data: its geometry's dimension,
    its zooms and the attributes its tiles may carry (public ones; each from its own zoom)."""
    props = {}
    for p in coll.visible(False):
        if p.mvt_min_zoom is not None:
            kind = {"date-time": {"type": "string", "format": "date-time"}}.get(p.type, {"type": p.type})
            zoom = max(p.mvt_min_zoom, MIN_ZOOM[coll.id])
            props[p.name] = {**kind, "title": p.title_en, "description": f"From zoom {zoom}"}
    return {"id": coll.id, "title": coll.title_en, "dataType": "vector",
            "geometryDimension": 0 if coll.geometry_type == "Point" else 2,
            "minTileMatrix": str(MIN_ZOOM[coll.id]), "maxTileMatrix": str(MAX_ZOOM),
            "propertiesSchema": {"type": "object", "properties": props}}


class LandfloodTileProvider(MVTPostgreSQLProvider):
    """Tile metadata for pygeoapi (tilesets, links); the tiles themselves come from :func:`tile`."""

    def __init__(self, provider_def: dict) -> None:  # no pygeoapi-managed database connection
        from pygeoapi.provider.base_mvt import BaseMVTProvider
        BaseMVTProvider.__init__(self, provider_def)
        self.table = provider_def["data"]
        self._fields: dict[str, Any] = {}

    def get_fields(self) -> dict:
        coll = COLLECTIONS[self.table]
        return {p.name: {"type": p.type} for p in coll.visible(False) if p.mvt_min_zoom is not None}

    def get_tiling_schemes(self) -> list:
        return [TileMatrixSetEnum.WEBMERCATORQUAD.value]

    def get_tiles_service(self, baseurl: str | None = None, servicepath: str | None = None,
                          dirpath: str | None = None, tile_type: str | None = None) -> dict:
        """The tilesets list's links: the tiles' URL template only (pygeoapi adds a templated 'self'
        and a 'TileJSON' link to the tileset description, which is not TileJSON)."""
        links = super().get_tiles_service(baseurl, servicepath, dirpath, tile_type)["links"]
        return {"links": [{**link, "templated": True} for link in links if link["rel"] == "item"]}

    def get_metadata(self, dataset, server_url, layer=None, tileset=None, metadata_format=None, **kwargs):
        # pygeoapi passes no format when the request has no f=; JSON is the sensible default.
        fmt = metadata_format or "json"
        meta = super().get_metadata(dataset, server_url, layer, tileset, fmt, **kwargs)
        if fmt.lower() in ("json", "jsonld"):
            base = f"{server_url.rstrip('/')}/collections/{dataset}"
            for link in meta["links"]:
                if link["rel"] == "item":
                    link["templated"] = True
            meta["links"] = [
                {"rel": "self", "type": "application/json", "title": "This tileset", "href": f"{base}/tiles/{tileset}"},
                {"rel": "http://www.opengis.net/def/rel/ogc/1.0/geodata", "type": "application/json",
                 "title": "The collection", "href": base},
                *meta["links"]]
            meta["layers"] = [tileset_layer(COLLECTIONS[dataset])]
        return meta

    def get_tiles(self, layer: str = "default", tileset: str | None = None, z: int | str | None = None,
                  y: int | str | None = None, x: int | str | None = None, format_: str | None = None) -> bytes | None:
        if z is None or y is None or x is None:
            raise ProviderTileNotFoundError("a tile needs z, y and x")
        try:
            return render_tile(COLLECTIONS[self.table], int(z), int(x), int(y), context.is_officer()) or None
        except NotFoundError as exc:
            raise ProviderTileNotFoundError(str(exc)) from exc
