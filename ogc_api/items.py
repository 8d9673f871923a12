"""OGC API Features items: ``/collections/{id}/items`` and ``/items/{featureId}``, read and write.

JSON responses pass PostgreSQL's GeoJSON text through; HTML uses pygeoapi's templates.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, g, request
from pygeoapi.api import APIRequest
from pygeoapi.util import render_j2_template

from landflood.errors import NotFoundError, QueryError
from ogc_api import context, features, writes
from ogc_api import crs as crsmod
from ogc_api.collections import COLLECTIONS, Collection

bp = Blueprint("items", __name__)
GEOJSON = "application/geo+json"
GEOJSON_LD_CONTEXT = "https://geojson.org/geojson-ld/geojson-context.jsonld"


def collection(cid: str) -> Collection:
    coll = COLLECTIONS.get(cid)
    if coll is None:
        raise NotFoundError(f"no feature collection {cid!r}; /collections lists them")
    return coll


def wants_html() -> bool:
    f = request.args.get("f")
    if f:
        if f not in ("json", "html", "geojson", "jsonld"):
            raise QueryError(f"f={f!r} is not offered here; use f=json, f=jsonld or f=html")
        return f == "html"
    accept = request.accept_mimetypes
    return accept.best_match(["application/geo+json", "application/json", "text/html"]) == "text/html"


def _render(template: str, content: dict, cid: str) -> Response:
    api = context.state().api
    locale = APIRequest.from_flask(request, api.locales).locale
    html = render_j2_template(api.tpl_config, api.get_dataset_templates(cid), template, content, locale)
    return Response(html, mimetype="text/html")


def _geojson(text: str) -> Response:
    """GeoJSON, or with ``f=jsonld`` the same document as GeoJSON-LD (pygeoapi's HTML pages
    fetch it for their embedded JSON-LD block)."""
    if request.args.get("f") == "jsonld":
        return Response('{"@context": "' + GEOJSON_LD_CONTEXT + '", ' + text.lstrip()[1:],
                        mimetype="application/ld+json")
    return Response(text, mimetype=GEOJSON)


@bp.route("/collections/<cid>/items", methods=["GET", "POST"])
def items(cid: str) -> Response:
    coll = collection(cid)
    if request.method == "POST" and request.mimetype == GEOJSON:
        return writes.create(coll)
    body = request.get_data() if request.method == "POST" else None
    args = request.args.to_dict()
    q = features.parse_items_args(coll, args, context.is_officer(), g.lang, body or None)
    page = features.query_items(context.state().pools, q)
    html = wants_html()
    base = f"{context.state().settings.public_url.rstrip('/')}/collections/{cid}/items"
    links = features.page_links(base, args, q, page, "html" if html else "json")
    if html:
        content = {"type": "FeatureCollection", "features": json.loads(page["features"]), "links": links,
                   "numberMatched": page["matched"], "numberReturned": page["returned"],
                   "itemtype": "feature", "items_path": base, "dataset_path": base.rsplit("/", 1)[0],
                   "collections_path": base.rsplit("/", 2)[0], "offset": q.offset, "id_field": "id",
                   "title": coll.title_en if g.lang == "en" else coll.title_vi}
        return _render("collections/items/index.html", content, cid)
    resp = _geojson(features.feature_collection_text(page, links))
    resp.headers["Content-Crs"] = f"<{q.out_crs.uri}>"
    resp.headers["Vary"] = "Accept, Accept-Language, Authorization, Cookie"
    return resp


@bp.route("/collections/<cid>/items/<path:fid>", methods=["GET"])
def item(cid: str, fid: str) -> Response:
    coll = collection(cid)
    out = crsmod.parse(request.args.get("crs"), "crs")
    text, etag = features.get_item(context.state().pools, coll, fid, context.is_officer(), g.lang, out)
    if request.if_none_match and etag.strip('"') in request.if_none_match:
        return Response(status=304, headers={"ETag": etag})
    if wants_html():
        feature = json.loads(text)
        base = f"{context.state().settings.public_url.rstrip('/')}/collections/{cid}"
        feature.update({"links": [], "collections_path": base.rsplit("/", 1)[0], "dataset_path": base,
                        "id_field": "id", "title": coll.title_en if g.lang == "en" else coll.title_vi})
        return _render("collections/items/item.html", feature, cid)
    resp = _geojson(text)
    resp.headers["ETag"] = etag
    resp.headers["Content-Crs"] = f"<{out.uri}>"
    resp.headers["Vary"] = "Accept, Accept-Language, Authorization, Cookie"
    return resp


@bp.route("/collections/<cid>/items/<path:fid>", methods=["PUT", "PATCH", "DELETE"])
def change_item(cid: str, fid: str) -> Response:
    coll = collection(cid)
    if request.method == "DELETE":
        return writes.delete(coll, fid)
    return writes.replace(coll, fid, patch=request.method == "PATCH")


@bp.route("/collections/<cid>/queryables")
def queryables(cid: str) -> Response:
    coll = collection(cid)
    base = f"{context.state().settings.public_url.rstrip('/')}/collections/{cid}"
    props: dict[str, dict] = {"geometry": {"format": f"geometry-{coll.geometry_type.lower()}",
                                           "x-ogc-role": "primary-geometry"}}
    for p in coll.visible(context.is_officer()):
        if not p.queryable:
            continue
        kind, fmt = {"date-time": ("string", "date-time"), "date": ("string", "date")}.get(p.type, (p.type, None))
        props[p.name] = {"title": p.title_en if g.lang == "en" else p.title_vi, "type": kind,
                         **({"format": fmt} if fmt else {})}
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{base}/queryables",
           "type": "object", "title": coll.title_en if g.lang == "en" else coll.title_vi,
           "properties": props, "additionalProperties": False}
    if wants_html():
        return _render("collections/queryables.html", {**doc, "queryables": props,
                                                        "collections_path": base.rsplit("/", 1)[0],
                                                        "dataset_path": base}, cid)
    return Response(json.dumps(doc, ensure_ascii=False), mimetype="application/schema+json")
