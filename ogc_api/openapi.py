"""What the service says about itself: the OpenAPI 3.0 document (``/openapi``) and the
conformance classes (``/conformance``).

The document is generated here from what the app serves: the collections and their properties
(:mod:`ogc_api.collections`), the CRS list, the tiled collections, the EDR queries and the
processes' inputs. Its fixed parts (component schemas, shared responses and parameters) are in
``openapi.yaml`` next to this module. Every ``$ref`` is local, so a client without internet
follows all of them. Owners' fields appear only in the document an officer reads.

``f=html`` shows it in pygeoapi's Swagger UI (or ReDoc).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, request
from pygeoapi.api import APIRequest
from pygeoapi.util import render_j2_template

from landdb.codes import APPLICATION_STATES
from landflood.errors import QueryError
from ogc_api import context, edr, limits, processes
from ogc_api import crs as crsmod
from ogc_api.collections import COLLECTIONS, Collection
from ogc_api.config import TILED
from ogc_api.features import MAX_LIMIT
from registry.drawing import SCALES

bp = Blueprint("openapi", __name__)

_FEATURES = "http://www.opengis.net/spec/ogcapi-features"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf"
#: The conformance classes the service implements (and tests): nothing more, nothing less.
CONFORMANCE: tuple[str, ...] = (
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    f"{_FEATURES}-1/1.0/conf/core",
    f"{_FEATURES}-1/1.0/conf/geojson",
    f"{_FEATURES}-1/1.0/conf/html",
    f"{_FEATURES}-1/1.0/conf/oas30",
    f"{_FEATURES}-2/1.0/conf/crs",
    f"{_FEATURES}-3/1.0/conf/queryables",
    f"{_FEATURES}-3/1.0/conf/queryables-query-parameters",
    f"{_FEATURES}-3/1.0/conf/filter",
    f"{_FEATURES}-3/1.0/conf/features-filter",
    f"{_FEATURES}-4/1.0/conf/create-replace-delete",
    f"{_FEATURES}-4/1.0/conf/update",
    f"{_CQL2}/cql2-text",
    f"{_CQL2}/cql2-json",
    f"{_CQL2}/basic-cql2",
    f"{_CQL2}/advanced-comparison-operators",
    f"{_CQL2}/case-insensitive-comparison",
    f"{_CQL2}/basic-spatial-functions",
    f"{_CQL2}/basic-spatial-functions-plus",
    f"{_CQL2}/spatial-functions",
    f"{_CQL2}/temporal-functions",
    f"{_CQL2}/property-property",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.0/conf/covjson",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-edr-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
)

GEOJSON, HTML, JSONLD, JSON = "application/geo+json", "text/html", "application/ld+json", "application/json"
#: Optional authentication: the public, or an officer (who sees owners' data).
ANYONE: list[dict[str, list]] = [{}, {"bearerAuth": []}]
OFFICERS: list[dict[str, list]] = [{"bearerAuth": []}]
_TYPES: dict[str, dict[str, Any]] = {
    "date-time": {"type": "string", "format": "date-time"}, "date": {"type": "string", "format": "date"},
    "array": {"type": "array", "items": {"type": "object"}}}


def ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> dict[str, str]:
    return ref("schemas", name)


def _f(values: list[str], default: str | None = None) -> dict[str, Any]:
    """The ``f`` parameter: the output format, which also overrides the Accept header."""
    schema: dict[str, Any] = {"type": "string", "enum": values}
    if default:
        schema["default"] = default
    return {"name": "f", "in": "query", "description": "Output format (instead of the Accept header)",
            "schema": schema, "allowEmptyValue": True}


def _query(name: str, schema: dict[str, Any], description: str, required: bool = False,
           array: bool = False) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "description": description, "schema": schema}
    if required:
        param["required"] = True
    else:  # an empty value is the same as none (the default)
        param["allowEmptyValue"] = True
    if array:  # comma-separated, as OGC APIs send lists
        param.update(style="form", explode=False)
    return param


def _names(names: list[str]) -> dict[str, Any]:
    """A comma-separated list of these names; empty names (a trailing comma) are ignored."""
    return {"type": "array", "items": {"type": "string", "enum": [*names, ""]}}


def _crs(name: str, description: str) -> dict[str, Any]:
    return _query(name, {"type": "string", "enum": crsmod.accepted_names()}, description)


def _content(schema: dict[str, Any], *types: str) -> dict[str, Any]:
    # JSON-LD answers are other vocabularies (schema.org, GeoJSON-LD): only their being JSON is promised.
    other = {HTML: {"type": "string"}, JSONLD: {"type": "object"}}
    return {t: {"schema": other.get(t, schema)} for t in types}


def _ok(description: str, schema: dict[str, Any], *types: str, headers: dict | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": _content(schema, *types)}
    if headers:
        out["headers"] = headers
    return out


def _errors(*codes: int) -> dict[str, Any]:
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
             412: "PreconditionFailed", 413: "PayloadTooLarge", 414: "UriTooLong", 428: "PreconditionRequired",
             503: "ServiceUnavailable", 504: "Timeout"}
    return {str(c): ref("responses", names[c]) for c in codes}


def _op(op_id: str, summary: str, tag: str, params: list[dict], responses: dict[str, Any],
        security: list | None = None, **extra: Any) -> dict[str, Any]:
    # Every operation may answer 401 (a wrong or revoked token is refused wherever it is sent), 414
    # (a query string beyond limits.MAX_QUERY_BYTES), and 503 or 504: the token is looked up in the
    # database, whose statements have a time limit. A body may be too large (413).
    responses = {**responses, **_errors(401, 414, 503, 504, *((413,) if "requestBody" in extra else ()))}
    return {"operationId": op_id, "summary": summary, "tags": [tag], "parameters": [ref("parameters", "lang"), *params],
            "security": security or ANYONE, "responses": dict(sorted(responses.items())), **extra}


def _camel(cid: str) -> str:
    return "".join(part.capitalize() for part in cid.split("-"))


# --- core and collections -------------------------------------------------------------------

def _core_paths() -> dict[str, Any]:
    pages = ["json", "html", "jsonld"]
    return {
        "/": {"get": _op("getLandingPage", "Landing page", "server", [_f(pages)],
                         {"200": _ok("The landing page", _schema("LandingPage"), JSON, JSONLD, HTML),
                          **_errors(400)})},
        "/openapi": {"get": _op("getOpenapi", "This OpenAPI document", "server",
                                [_f(["json", "html"]), _query("ui", {"type": "string"},
                                                              "With f=html: `redoc` for ReDoc, Swagger UI otherwise")],
                                {"200": _ok("The OpenAPI 3.0 document, or its HTML rendering", {"type": "object"},
                                            "application/vnd.oai.openapi+json;version=3.0", HTML),
                                 **_errors(400)})},
        "/conformance": {"get": _op("getConformance", "The conformance classes implemented", "server",
                                    [_f(["json", "html"])],
                                    {"200": _ok("The conformance classes", _schema("ConfClasses"), JSON, HTML),
                                     **_errors(400)})},
        "/collections": {"get": _op("getCollections", "The collections", "server", [_f(pages)],
                                    {"200": _ok("The collections", _schema("Collections"), JSON, JSONLD, HTML),
                                     **_errors(400)})},
    }


def _collection_path(cid: str, title: str) -> dict[str, Any]:
    return {"get": _op(f"describe{_camel(cid)}Collection", f"Describe {title}", cid, [_f(["json", "html", "jsonld"])],
                       {"200": _ok("The collection", _schema("Collection"), JSON, JSONLD, HTML),
                        **_errors(400)})}


# --- features -------------------------------------------------------------------------------

def _prop_schema(p_type: str) -> dict[str, Any]:
    return {**_TYPES.get(p_type, {"type": p_type}), "nullable": True}


def feature_schemas(coll: Collection, officer: bool = False) -> dict[str, Any]:
    """The collection's Feature and FeatureCollection, with the properties the caller sees typed."""
    name = _camel(coll.id)
    props = {p.name: {**_prop_schema(p.type), "title": p.title_en} for p in coll.visible(officer)}
    feature = {"allOf": [_schema("FeatureGeoJSON"),
                         {"type": "object", "properties": {"properties": {"type": "object", "properties": props}}}]}
    fc = {"allOf": [_schema("FeatureCollectionGeoJSON"),
                    {"type": "object", "properties": {"features": {"type": "array",
                                                                   "items": _schema(f"{name}Feature")}}}]}
    return {f"{name}Feature": feature, f"{name}FeatureCollection": fc}


def _items_params(coll: Collection, officer: bool) -> list[dict[str, Any]]:
    visible = coll.visible(officer)
    queryable = [p.name for p in visible if p.queryable]
    params = [
        _f(["json", "geojson", "html", "jsonld"]),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
               "Features per page"),
        _query("offset", {"type": "integer", "minimum": 0, "maximum": limits.MAX_OFFSET, "default": 0},
               "Features to skip (deep pages: follow the next links instead)"),
        _query("cursor", {"type": "integer"}, "Keyset position from a `next` link (faster than offset for deep pages)"),
        _query("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
               "minx,miny,maxx,maxy (or the 6-number 3D form) in bbox-crs", array=True),
        _crs("bbox-crs", "CRS of bbox (default CRS84)"),
        _crs("crs", "CRS of the output geometries (default CRS84)"),
        _query("properties", _names([p.name for p in visible]), "Only these properties", array=True),
        _query("sortby", {"type": "array", "items": {"type": "string",
                                                     "pattern": f"^([+-]?({'|'.join(queryable)}))?$"}},
               "Sort keys; `-name` sorts descending", array=True),
        _query("skipGeometry", {"type": "boolean", "default": False}, "Leave the geometries out"),
        _query("filter", {"type": "string"}, "A CQL2 filter, in filter-lang (cql2-text by default)"),
        _query("filter-lang", {"type": "string", "enum": ["cql2-text", "cql2-json", "cql-text", "cql-json"]},
               "Language of filter"),
        _crs("filter-crs", "CRS of the geometries in filter (default CRS84)"),
    ]
    if coll.time_start:
        params.append(ref("parameters", "datetime"))
    for p in visible:
        if p.queryable:
            # property=value compares the property's text form with the value.
            params.append(_query(p.name, {"type": "string"}, f"Only features whose {p.name} is this value"))
    return params


def _feature_paths(coll: Collection, officer: bool) -> dict[str, Any]:
    cid, name, base = coll.id, _camel(coll.id), f"/collections/{coll.id}"
    crs_header = {"Content-Crs": {"description": "CRS of the geometries, as <URI>", "schema": {"type": "string"}}}
    items_ok = _ok("A page of features", _schema(f"{name}FeatureCollection"), GEOJSON, JSONLD, HTML, headers=crs_header)
    cql2_json = {"oneOf": [{"type": "object"}, {"type": "boolean"}]}  # an expression, or true/false
    search_body = {"required": False, "description": "A CQL2 JSON filter (instead of the filter parameter)",
                   "content": {"application/query-cql-json": {"schema": cql2_json}, JSON: {"schema": cql2_json}}}
    item_headers = {**crs_header, "ETag": {"description": "Changes whenever the feature does (JSON only)",
                                           "schema": {"type": "string"}}}
    return {
        base: _collection_path(cid, coll.title_en),
        f"{base}/items": {
            "get": _op(f"get{name}Features", f"{coll.title_en}: features", cid, _items_params(coll, officer),
                       {"200": items_ok, **_errors(400)}),
            "post": _op(f"search{name}Features", f"{coll.title_en}: features matching a CQL2 JSON body", cid,
                        _items_params(coll, officer), {"200": items_ok, **_errors(400)}, requestBody=search_body),
        },
        f"{base}/items/{{featureId}}": {
            "get": _op(f"get{name}Feature", f"{coll.title_en}: one feature", cid,
                       [ref("parameters", "featureId"), _f(["json", "geojson", "html", "jsonld"]),
                        _crs("crs", "CRS of the output geometry (default CRS84)"), ref("parameters", "ifNoneMatch")],
                       {"200": _ok("The feature", _schema(f"{name}Feature"), GEOJSON, JSONLD, HTML,
                                   headers=item_headers),
                        "304": ref("responses", "NotModified"), **_errors(400, 404)}),
        },
        f"{base}/queryables": {
            "get": _op(f"get{name}Queryables", f"{coll.title_en}: queryable properties", cid,
                       [_f(["json", "html"])],
                       {"200": _ok("The queryables", _schema("Queryables"), "application/schema+json", HTML),
                        **_errors(400)}),
        },
        f"{base}/schema": {
            "get": _op(f"get{name}Schema", f"{coll.title_en}: JSON Schema of the features", cid,
                       [_f(["json", "html"])],
                       {"200": _ok("The schema", _schema("JsonSchema"), "application/schema+json", HTML),
                        **_errors(400)}),
        },
    }


# --- writes on parcels (Features Part 4) --------------------------------------------------------

def parcel_input_schemas() -> dict[str, Any]:
    """What an officer sends to create, replace or update a parcel (as ogc_api.writes checks it)."""
    polygon = {"oneOf": [_schema("PolygonGeoJSON"), _schema("MultiPolygonGeoJSON")]}
    props = {
        "type": "object", "additionalProperties": False,
        "properties": {
            "parcel_id": {"type": "string", "description": "Ignored: the key is ward_code, map_sheet, parcel_no"},
            "ward_code": {"type": "string", "pattern": "^[0-9]{5}$", "description": "Commune of the cadastral map"},
            "map_sheet": {"type": "integer", "minimum": 1, "maximum": 32767},
            "parcel_no": {"type": "integer", "minimum": 1},
            "land_use": {"type": "string", "description": "A land-use code of Circular 08/2024 (27/2018 codes are "
                                                          "translated)"},
            "area_legal_m2": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "nullable": True},
            "address": {"type": "string", "nullable": True},
        },
    }
    return {
        "ParcelProperties": props,
        "ParcelCreate": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
            "type": {"type": "string", "enum": ["Feature"]}, "geometry": polygon,
            "properties": {"allOf": [_schema("ParcelProperties"),
                                     {"required": ["ward_code", "map_sheet", "parcel_no", "land_use"]}]}}},
        "ParcelReplace": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
            "type": {"type": "string", "enum": ["Feature"]}, "geometry": polygon,
            "properties": {"allOf": [_schema("ParcelProperties"), {"required": ["land_use"]}]}}},
        "ParcelPatch": {"type": "object", "properties": {
            "type": {"type": "string", "enum": ["Feature"]}, "geometry": polygon,
            "properties": _schema("ParcelProperties")}},
    }


def _write_params() -> list[dict[str, Any]]:
    return [ref("parameters", "featureId"), ref("parameters", "ifMatch"),
            {"name": "Content-Crs", "in": "header", "description": "CRS of the geometry sent, as <URI> (default CRS84)",
             "schema": {"type": "string", "enum": [f"<{n}>" for n in crsmod.supported_uris()]}}]


def _saved(status: str, description: str) -> dict[str, Any]:
    return {status: {"description": description, "headers": {
        "Location": {"description": "The parcel's URL", "schema": {"type": "string"}},
        "ETag": {"description": "The new version's ETag, for the next If-Match", "schema": {"type": "string"}}}}}


def _parcel_writes(paths: dict[str, Any]) -> None:
    """POST (create) on the parcels' items; PUT, PATCH and DELETE on one parcel."""
    post = paths["/collections/parcels/items"]["post"]
    post["summary"] = "Parcels: create one (officers, GeoJSON body) or search (CQL2 JSON body)"
    post["requestBody"]["content"][GEOJSON] = {"schema": _schema("ParcelCreate")}
    post["responses"].update({**_saved("201", "Created"), **_errors(403, 409)})
    post["description"] = ("A GeoJSON body creates a parcel (officers only: 401 without a token, 403 for other "
                           "roles; 400 when it does not validate, 409 when it exists); a CQL2 JSON body filters.")
    body = {"required": True, "content": {GEOJSON: {"schema": _schema("ParcelReplace")},
                                          JSON: {"schema": _schema("ParcelReplace")}}}
    patch = {"required": True, "content": {"application/merge-patch+json": {"schema": _schema("ParcelPatch")},
                                           JSON: {"schema": _schema("ParcelPatch")}}}
    write_errors = _errors(400, 403, 404, 412, 428)
    item = paths["/collections/parcels/items/{featureId}"]
    item["put"] = _op("replaceParcel", "Replace a parcel (a new version; officers only)", "parcels", _write_params(),
                      {**_saved("200", "Replaced"), **write_errors}, security=OFFICERS, requestBody=body)
    item["patch"] = _op("updateParcel", "Change some of a parcel's properties or its geometry (a new version)",
                        "parcels", _write_params(), {**_saved("200", "Updated"), **write_errors},
                        security=OFFICERS, requestBody=patch)
    item["delete"] = _op("deleteParcel", "Retire a parcel (its current version is closed; history is kept)",
                         "parcels", _write_params()[:2], {"204": {"description": "Deleted"}, **write_errors},
                         security=OFFICERS)


# --- tiles ----------------------------------------------------------------------------------------

def _tile_paths(coll: Collection, officer: bool) -> dict[str, Any]:
    from ogc_api.tiles import MAX_ZOOM, MVT

    cid, name, base = coll.id, _camel(coll.id), f"/collections/{coll.id}/tiles"
    tms = {"name": "tileMatrixSetId", "in": "path", "required": True, "schema": {"type": "string",
                                                                                 "enum": ["WebMercatorQuad"]}}
    names = [p.name for p in coll.visible(officer) if p.mvt_min_zoom is not None]
    tile_params = [
        tms,
        {"name": "tileMatrix", "in": "path", "required": True, "description": "Zoom level",
         "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ZOOM}},
        {"name": "tileRow", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
        {"name": "tileCol", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}},
        _f(["mvt", "pbf"]),
        _query("properties", _names(names), "Only these attributes, within those the zoom carries", array=True),
        ref("parameters", "ifNoneMatch"),
    ]
    tile_headers = {h: {"schema": {"type": "string"}} for h in ("ETag", "Cache-Control", "Vary")}
    pages = [_f(["json", "html", "jsonld"])]
    tileset = _ok("The tileset", _schema("TileSet"), JSON, JSONLD, HTML)
    return {
        base: {"get": _op(f"get{name}TileSets", f"{coll.title_en}: vector tilesets", cid, pages,
                          {"200": _ok("The tilesets", _schema("TileSets"), JSON, JSONLD, HTML), **_errors(400)})},
        f"{base}/{{tileMatrixSetId}}": {
            "get": _op(f"get{name}TileSet", f"{coll.title_en}: the tileset", cid, [tms, *pages],
                       {"200": tileset, **_errors(400, 404)})},
        f"{base}/{{tileMatrixSetId}}/metadata": {
            "get": _op(f"get{name}TileSetMetadata", f"{coll.title_en}: the tileset (same as without /metadata)", cid,
                       [tms, *pages], {"200": tileset, **_errors(400, 404)})},
        f"{base}/{{tileMatrixSetId}}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}": {
            "get": _op(f"get{name}Tile", f"{coll.title_en}: a Mapbox vector tile", cid, tile_params,
                       {"200": {"description": "The tile (empty where there is nothing, or below the first zoom); "
                                               "gzipped when the client accepts it",
                                "headers": tile_headers, "content": {MVT: {"schema": {"type": "string",
                                                                                      "format": "binary"}}}},
                        "304": ref("responses", "NotModified"), **_errors(400, 404)})},
    }


def _tile_matrix_set_paths() -> dict[str, Any]:
    tms = {"name": "tileMatrixSetId", "in": "path", "required": True,
           "schema": {"type": "string", "enum": ["WebMercatorQuad", "WorldCRS84Quad"]}}
    return {
        "/TileMatrixSets": {"get": _op("getTileMatrixSets", "Tile matrix sets", "server", [_f(["json", "html"])],
                                       {"200": _ok("The tile matrix sets", _schema("TileMatrixSets"), JSON, HTML),
                                        **_errors(400)})},
        "/TileMatrixSets/{tileMatrixSetId}": {
            "get": _op("getTileMatrixSet", "A tile matrix set", "server", [tms, _f(["json", "html"])],
                       {"200": _ok("The tile matrix set", _schema("TileMatrixSet"), JSON, HTML),
                        **_errors(400, 404)})},
    }


# --- EDR (rainfall) -------------------------------------------------------------------------------

def _edr_paths() -> dict[str, Any]:
    base, tag = edr.BASE, edr.COLLECTION
    series_f = _f(["CoverageJSON", "coveragejson", "covjson", "geojson", "html", "json"])
    common = [ref("parameters", "datetime"),
              _query("parameter-name", _names([edr.PARAMETER]), "The parameters wanted (there is one)", array=True),
              _crs("crs", "CRS of coords and of the output coordinates (default CRS84)")]
    series = _ok("The series: a Coverage (one gauge) or a CoverageCollection (radius, area); GeoJSON gives one "
                 "feature per observation", _schema("CoverageJSON"), edr.COVJSON, HTML)
    series["content"][GEOJSON] = {"schema": _schema("FeatureCollectionGeoJSON")}
    answers = {"200": series, **_errors(400, 404)}

    def coords(example: str) -> dict[str, Any]:
        return _query("coords", {"type": "string"}, f"WKT in crs, for example {example}", required=True)

    point = "POINT(105.8542 21.0285)"
    return {
        base: _collection_path(tag, "rainfall"),
        f"{base}/locations": {"get": _op("getRainfallLocations", "The rain gauges", tag,
                                         [_f(["geojson", "html", "json"]), *common],
                                         {"200": _ok("The gauges", _schema("FeatureCollectionGeoJSON"), GEOJSON, HTML),
                                          **_errors(400)})},
        f"{base}/locations/{{locId}}": {"get": _op(
            "getRainfallLocation", "One gauge's series", tag,
            [{"name": "locId", "in": "path", "required": True, "description": "The gauge's code",
              "schema": {"type": "string"}}, series_f, *common], answers)},
        f"{base}/position": {"get": _op("getRainfallPosition", f"The series of the nearest gauge (within "
                                        f"{edr.POSITION_MAX_M / 1000:g} km)", tag, [coords(point), series_f, *common],
                                        answers)},
        f"{base}/radius": {"get": _op(
            "getRainfallRadius", "The series of every gauge within a distance", tag,
            [coords(point), _query("within", {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                                   "The distance", required=True),
             _query("within-units", {"type": "string", "enum": sorted(edr.UNITS_M)}, "Units of within", required=True),
             series_f, *common], answers)},
        f"{base}/area": {"get": _op("getRainfallArea", "The series of every gauge inside a polygon", tag,
                                    [coords("POLYGON((105.80 21.00,105.90 21.00,105.90 21.06,105.80 21.06,"
                                            "105.80 21.00))"), series_f, *common], answers)},
    }


# --- processes ------------------------------------------------------------------------------------

def _oas30(schema: Any) -> Any:
    """A process input's JSON Schema in OpenAPI 3.0's dialect (boolean exclusiveMinimum)."""
    if isinstance(schema, list):
        return [_oas30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _oas30(v) for k, v in schema.items() if k not in ("contentMediaType", "exclusiveMinimum")}
    if isinstance(schema.get("exclusiveMinimum"), (int, float)):
        out.update(minimum=schema["exclusiveMinimum"], exclusiveMinimum=True)
    return out


def _process_paths() -> dict[str, Any]:
    pages = [_f(["json", "html"])]
    paths: dict[str, Any] = {
        "/processes": {"get": _op("getProcesses", "The processes", "processes", pages,
                                  {"200": _ok("The processes", _schema("ProcessList"), JSON, HTML), **_errors(400)})},
    }
    for meta in (processes.REPORT_METADATA, processes.NOWCAST_METADATA):
        pid, name = meta["id"], _camel(meta["id"])
        inputs = {k: {**_oas30(v["schema"]), "description": v.get("description", v["title"])}
                  for k, v in meta["inputs"].items()}
        body = {"type": "object", "required": ["inputs"], "properties": {
            "inputs": {"type": "object", "properties": inputs},
            "outputs": {"type": "object"},
            "response": {"type": "string", "enum": ["raw", "document"], "default": "raw"}}}
        output = next(iter(meta["outputs"].values()))["schema"].get("contentMediaType", JSON)
        paths[f"/processes/{pid}"] = {"get": _op(f"describe{name}", meta["title"]["en"], "processes", pages,
                                                 {"200": _ok("The process description", _schema("Process"), JSON,
                                                             HTML), **_errors(400)})}
        paths[f"/processes/{pid}/execution"] = {"post": _op(
            f"execute{name}", f"{meta['title']['en']} (run synchronously)", "processes", [],
            {"200": _ok("The result (with response=document: {outputs: [...]})", {"type": "object"}, output),
             **_errors(400, 404)},
            requestBody={"required": True, "content": {JSON: {"schema": body, "example": meta["example"]}}})}
    job = [{"name": "jobId", "in": "path", "required": True, "schema": {"type": "string"}}]
    paths.update({
        "/jobs": {"get": _op("getJobs", "Jobs (processes run synchronously, so none are kept)", "processes", pages,
                             {"200": _ok("The jobs", _schema("JobList"), JSON, HTML), **_errors(400)})},
        "/jobs/{jobId}": {"get": _op("getJob", "A job's status", "processes", [*job, *pages],
                                     {"200": _ok("The job", {"type": "object"}, JSON, HTML), **_errors(400, 404)})},
        "/jobs/{jobId}/results": {"get": _op("getJobResults", "A job's results", "processes", [*job, *pages],
                                             {"200": _ok("The results", {"type": "object"}, JSON),
                                              **_errors(400, 404)})},
    })
    return paths


# --- the registry's documents ----------------------------------------------------------------------

def _document_paths() -> dict[str, Any]:
    """The documents of ``ogc_api.documents``: f=html previews (nothing recorded), f=pdf issues a
    numbered document; and the verification of a number."""
    pid = {"name": "parcel_id", "in": "path", "required": True, "description": "'{ward_code}-{map_sheet}-{parcel_no}'",
           "schema": {"type": "string", "pattern": r"^[0-9]{5}-[0-9]{1,5}-[0-9]{1,10}$", "example": "00070-1-1"}}
    fmt = _f(["html", "pdf"], "html")
    scale = _query("scale", {"type": "integer", "enum": list(SCALES)},
                   "The denominator of the map's scale (1:500 is 500); without it, the most detailed that fits")
    doc = {"200": {"description": "f=html: a preview (no number, nothing recorded); f=pdf: the issued document, "
                                  "numbered (header X-Document-Number) and recorded",
                   "headers": {"X-Document-Number": {"description": "With f=pdf: the number printed on it",
                                                     "schema": {"type": "string"}}},
                   "content": {HTML: {"schema": {"type": "string"}},
                               "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
           **_errors(400, 404)}
    tag = "documents"
    number = {"name": "number", "in": "path", "required": True, "description": "As printed, e.g. TL-2026-000045",
              "schema": {"type": "string", "maxLength": 40}}
    verified = {"type": "object", "required": ["number", "kind", "parcel_id", "issued_at", "sha256"], "properties": {
        "number": {"type": "string"}, "kind": {"type": "string", "enum": ["certificate_data", "map_extract",
                                                                           "flood_statement"]},
        "title": {"type": "object"}, "parcel_id": {"type": "string"}, "parcel_version": {"type": "integer"},
        "parcel_version_valid_from": {"type": "string", "format": "date-time"},
        "parcel_changed_since": {"type": "string", "format": "date-time", "nullable": True},
        "audience": {"type": "string", "enum": ["officer", "public"]},
        "issued_at": {"type": "string", "format": "date-time"}, "sha256": {"type": "string"},
        "issued_by": {"type": "string", "description": "Officers only"}}}
    return {
        "/registry/parcels/{parcel_id}/certificate": {"get": _op(
            "getCertificateData", "The parcel's certificate data sheet (officers only: it names the land users)", tag,
            [pid, fmt], {**doc, **_errors(403)}, security=OFFICERS)},
        "/registry/parcels/{parcel_id}/extract": {"get": _op(
            "getMapExtract", "The cadastral map extract (the public's without the land users)", tag,
            [pid, scale, fmt], doc)},
        "/registry/parcels/{parcel_id}/flood-statement": {"get": _op(
            "getFloodStatement", "The parcel's flood-risk statement per modelled scenario", tag, [pid, fmt], doc)},
        "/registry/documents/{number}": {"get": _op(
            "verifyDocument", "What was issued under a document's number (its QR code opens this)", tag,
            [number, _f(["html", "json"], "html")],
            {"200": _ok("The issued document: kind, parcel, date, the PDF's SHA-256", verified, JSON, HTML),
             **_errors(400, 404)})},
    }
# --- the registry's search -----------------------------------------------------------------------

def _search_paths(officer: bool) -> dict[str, Any]:
    """``/registry/search``: what the caller may search by, and the hits it answers (holders only
    in the officers' document)."""
    from landdb import search as search_db
    from ogc_api.search import PATH

    matches = [*search_db.PUBLIC_MATCHES, *(search_db.PEOPLE_MATCHES if officer else ())]
    hit: dict[str, Any] = {"type": "object", "required": ["parcel_id", "matched", "score"], "properties": {
        "parcel_id": {"type": "string"}, "ward_code": {"type": "string"},
        "map_sheet": {"type": "integer"}, "parcel_no": {"type": "integer"},
        "address": {"type": "string", "nullable": True}, "land_use": {"type": "string"},
        "area_m2": {"type": "number"}, "matched": {"type": "string", "enum": matches},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "href": {"type": "string", "description": "The parcel in the Features API"}}}
    what = "a parcel id, a ward (code or name) with a sheet and a number, or an address"
    if officer:
        hit["properties"]["holders"] = {"type": "array", "items": {"type": "string"},
                                        "description": "The current holders' names"}
        what += "; for officers also a holder's name (without diacritics or case), an ID number or a certificate serial"
    answer = {"type": "object", "required": ["query", "numberReturned", "hits"], "properties": {
        "query": {"type": "string"}, "numberReturned": {"type": "integer", "minimum": 0},
        "hits": {"type": "array", "items": hit}}}
    params = [_query("q", {"type": "string", "minLength": 1, "maxLength": search_db.MAX_QUERY_CHARS},
                     f"What to look for: {what}", required=True),
              _query("limit", {"type": "integer", "minimum": 1, "maximum": search_db.MAX_LIMIT,
                               "default": search_db.DEFAULT_LIMIT}, "Most hits"),
              _f(["json"])]
    return {PATH: {"get": _op("searchRegistry", "Find parcels: best matches first", "registry", params,
                              {"200": _ok("The hits, best first", answer, JSON), **_errors(400)},
                              description=f"Searches {what}. Hits are current parcels, ranked by how well "
                                          "they match (1: exactly), then by parcel id.")}}


# --- the document ---------------------------------------------------------------------------------

@cache
def _fixed_components() -> dict[str, Any]:
    return yaml.safe_load((Path(__file__).with_name("openapi.yaml")).read_text(encoding="utf-8"))



def _registry_paths() -> dict[str, Any]:
    """The land registry's application routes (ogc_api/registry.py)."""
    unprocessable = {"422": {"description": "A critical rule of the catalogue fails: 'report' lists each rule, its "
                                            "result and the features at fault", "content": {JSON: {"schema": {
                                                "type": "object"}}}}}
    obj = {"type": "object"}
    number = [{"name": "number", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40},
               "description": "The application's number (số hồ sơ), e.g. HS-2026-000001"}]
    body = {"required": True, "content": {JSON: {"schema": obj}}}
    reg = "registry"
    paths: dict[str, Any] = {
        "/registry/rules": {"get": _op("getRegistryRules", "The registry's rule catalogue", reg, [],
                                       {"200": _ok("Every rule: code, severity, moment, services, messages", obj,
                                                   JSON), **_errors(400)})},
        "/registry/applications": {
            "get": _op("getApplications", "Applications, the soonest due first", reg, [
                {"name": "state", "in": "query", "schema": {"type": "string"},
                 "description": "Comma-separated states: " + ", ".join(APPLICATION_STATES)},
                {"name": "due_before", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}}],
                {"200": _ok("The applications", obj, JSON), **_errors(400, 403)}, security=OFFICERS),
            "post": _op("lodgeApplication", "Lodge an application (Idempotency-Key makes retries safe)", reg, [
                {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200}}],
                {"201": _ok("Lodged", obj, JSON), **_errors(400, 403, 409), **unprocessable},
                security=OFFICERS, requestBody=body)},
        "/registry/applications/{number}": {"get": _op(
            "getApplication", "An application with its sources and transaction", reg, number,
            {"200": _ok("The application", obj, JSON), **_errors(400, 403, 404)}, security=OFFICERS)},
        "/registry/applications/{number}/report": {"get": _op(
            "getApplicationReport", "The last rule check's report (HTML, or JSON with f=json)", reg,
            [*number, _f(["html", "json"])], {"200": _ok("The report", obj, HTML, JSON), **_errors(400, 403, 404)},
            security=OFFICERS)},
        "/registry/applications/{number}/sources": {"post": _op(
            "attachSource", "Attach a source document", reg, number,
            {"201": _ok("Attached", obj, JSON), **_errors(400, 403, 404, 409)}, security=OFFICERS,
            requestBody=body)},
        "/registry/applications/{number}/check": {"post": _op(
            "checkApplication", "Run the rules of the next step", reg, number,
            {"200": _ok("The report", obj, JSON), **_errors(400, 403, 404)}, security=OFFICERS)},
    }
    for step, who in (("approve", "registrars"), ("register", "registrars"), ("reject", "registrars"),
                      ("cancel", "officers"), ("withdraw", "officers")):
        extra = {"requestBody": body} if step in ("reject", "cancel", "withdraw") else {}
        paths[f"/registry/applications/{{number}}/{step}"] = {"post": _op(
            f"{step}Application", f"{step.capitalize()} the application ({who})", reg, number,
            {"200": _ok("The application", obj, JSON), **_errors(400, 403, 404, 409), **unprocessable},
            security=OFFICERS, **extra)}
    return paths

def document(public_url: str, officer: bool = False) -> dict[str, Any]:
    """The whole OpenAPI 3.0 document of the service at ``public_url``, for the public or, with
    owners' fields among the properties, for officers."""
    components = copy.deepcopy(_fixed_components())
    paths: dict[str, Any] = {**_core_paths(), **_tile_matrix_set_paths()}
    for coll in COLLECTIONS.values():
        components["schemas"].update(feature_schemas(coll, officer))
        paths.update(_feature_paths(coll, officer))
        if coll.id in TILED:
            paths.update(_tile_paths(coll, officer))
    components["schemas"].update(parcel_input_schemas())
    _parcel_writes(paths)
    paths.update(_edr_paths())
    paths.update(_process_paths())
    paths.update(_registry_paths())
    paths.update(_document_paths())
    paths.update(_search_paths(officer))
    tags = [{"name": "server", "description": "Landing page, conformance, this document, collections, tile sets"},
            *({"name": c.id, "description": f"{c.title_en} / {c.title_vi}"} for c in COLLECTIONS.values()),
            {"name": edr.COLLECTION, "description": "Rainfall at the gauges / Lượng mưa tại các trạm (EDR)"},
            {"name": "processes", "description": "Flood-risk report and waterlogging nowcast"},
            {"name": "registry", "description": "Land registry applications, their rules, finding parcels / Hồ sơ "
                                                "đăng ký đất đai, tra cứu thửa đất"},
            {"name": "documents", "description": "The registry's documents (certificate data, map extract, flood "
                                                 "statement) and their verification / Tài liệu và xác thực"}]
    return {
        "openapi": "3.0.3",
        "info": {"title": "landflood: Hanoi land registry and waterlogging data / dữ liệu địa chính và úng ngập "
                          "Hà Nội",
                 "version": version("landflood"),
                 "description": "OGC API Features (Parts 1-4, CQL2), Tiles, EDR and Processes. Owners' data exist "
                                "for land registry officers only (bearer token); the public never sees them.",
                 "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"}},
        "servers": [{"url": public_url.rstrip("/")}],
        "tags": tags,
        "paths": paths,
        "components": components,
    }


# --- the routes ----------------------------------------------------------------------------

OAS_JSON = "application/vnd.oai.openapi+json;version=3.0"


def _json_or_html() -> str:
    f = request.args.get("f") or None
    if f not in (None, "json", "html"):
        raise QueryError(f"f={f!r} is not offered here; use f=json or f=html")
    return f or ("html" if request.accept_mimetypes.best_match([JSON, HTML]) == HTML else "json")


@bp.route("/openapi")
def openapi_document() -> Response:
    """The document as JSON (an officer's names owners' fields too; serialised here: pygeoapi's
    encoder would turn '<' into '&lt;'), or pygeoapi's Swagger UI page (ReDoc with ui=redoc) for it."""
    if _json_or_html() == "html":
        template = "openapi/redoc.html" if request.args.get("ui") == "redoc" else "openapi/swagger.html"
        api: Any = context.state().api  # pygeoapi's API
        return _page(template, {"openapi-document-path": f"{api.base_url}/openapi"})
    text = document_json(context.state().settings.public_url, context.is_officer())
    return Response(text, mimetype=OAS_JSON, headers={"Vary": "Accept, Authorization, Cookie"})


@cache
def document_json(public_url: str, officer: bool) -> str:
    return json.dumps(document(public_url, officer), ensure_ascii=False)


@bp.route("/conformance")
def conformance() -> Response:
    doc = {"conformsTo": list(CONFORMANCE)}
    if _json_or_html() == "json":
        return Response(json.dumps(doc), mimetype=JSON)
    return _page("conformance.html", doc)


def _page(template: str, data: dict[str, Any]) -> Response:
    """One of pygeoapi's HTML pages."""
    api: Any = context.state().api
    locale = APIRequest.from_flask(request, api.locales).locale
    return Response(render_j2_template(api.tpl_config, api.config["server"]["templates"], template, data, locale),
                    mimetype=HTML)
