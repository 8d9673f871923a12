"""OGC API EDR for the ``rainfall`` collection: rain-gauge time series as CoverageJSON.

Routes (all under ``/collections/rainfall``):

- ``/locations``: the gauges as GeoJSON (ids are the gauge codes) or HTML;
- ``/locations/<code>``: one gauge's series (a CoverageJSON ``Coverage``);
- ``/position?coords=POINT(lon lat)``: the series of the nearest gauge within
  ``POSITION_MAX_M`` (a ``Coverage``; a 404 naming the nearest gauge and its distance when it
  is farther: a gauge measures rain where it stands, and /radius searches wider on purpose);
- ``/radius?coords=POINT(..)&within=N&within-units=km|m`` and ``/area?coords=POLYGON((..))``:
  the series of every gauge found, nearest first (radius) or by code (area); always a
  ``CoverageCollection``, even of one gauge, so a client gets one shape per query.

Each takes ``datetime`` (an instant or an interval, ``..`` for an open end; bounds inclusive),
``parameter-name`` (only ``rain_mm``), ``crs`` (of ``coords`` and of the output coordinates;
CRS84 by default) and ``f``: CoverageJSON (default), GeoJSON (one feature per observation) or
HTML. A series steps through the window at the gauge's usual interval (cut to the gauge's first
and last observation ever), with null where an observation is missing; a gauge without any
observation in the window is left out. A query that finds no gauge, or no observation in the
window, is a 404 that says why (and when there are observations). The SQL is in
:mod:`landdb.rainfall`.

pygeoapi describes the collection (data queries, parameter names, OpenAPI) from
:class:`RainfallProvider`; the queries themselves are answered here.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import psycopg
import shapely
import shapely.wkt
from flask import Blueprint, Response, request
from pygeoapi.api import APIRequest
from pygeoapi.provider.base import ProviderQueryError
from pygeoapi.provider.base_edr import BaseEDRProvider
from pygeoapi.util import render_j2_template
from shapely.errors import ShapelyError

from landdb import rainfall as rdb
from landflood.errors import NotFoundError, QueryError
from ogc_api import context, geometries
from ogc_api import crs as crsmod
from ogc_api.features import parse_datetime

bp = Blueprint("edr", __name__)
COLLECTION = "rainfall"
BASE = f"/collections/{COLLECTION}"
COVJSON = "application/prs.coverage+json"
GEOJSON = "application/geo+json"
PARAMETER = "rain_mm"
POSITION_MAX_M = 5_000.0
#: Time steps (or GeoJSON observations) one response carries at most.
MAX_VALUES = 500_000
UNITS_M = {"km": 1000.0, "m": 1.0}

RAIN_MM: dict[str, Any] = {
    "type": "Parameter",
    "label": {"en": "Rainfall", "vi": "Lượng mưa"},
    "description": {"en": "Rain measured at the gauge over the interval that ends at each time (mm).",
                    "vi": "Lượng mưa đo tại trạm trong khoảng thời gian kết thúc tại mỗi thời điểm (mm)."},
    "observedProperty": {"id": "http://vocab.nerc.ac.uk/standard_name/thickness_of_rainfall_amount/",
                         "label": {"en": "Rainfall", "vi": "Lượng mưa"}},
    "unit": {"label": {"en": "millimetre", "vi": "milimét"},
             "symbol": {"value": "mm", "type": "http://www.opengis.net/def/uom/UCUM/"}},
}


class RainfallProvider(BaseEDRProvider):
    """Describes the rainfall collection to pygeoapi: its query types and its one parameter.

    The queries are served by this module's blueprint; the methods below only name them.
    """

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self._fields = self.get_fields()

    def get_fields(self) -> dict[str, dict[str, str]]:
        return {PARAMETER: {"type": "number", "title": "Rainfall (mm) / Lượng mưa (mm)", "x-ogc-unit": "mm"}}

    def get_parameters(self, parameters: Any = (), as_list: bool = False) -> dict | list:
        params = {PARAMETER: {**RAIN_MM, "id": PARAMETER, "measurementType": {"method": "sum"}}}
        return list(params.values()) if as_list else params

    def position(self, **kwargs: Any) -> dict:
        raise ProviderQueryError(f"served at {BASE}/position")

    def radius(self, **kwargs: Any) -> dict:
        raise ProviderQueryError(f"served at {BASE}/radius")

    def area(self, **kwargs: Any) -> dict:
        raise ProviderQueryError(f"served at {BASE}/area")

    def locations(self, **kwargs: Any) -> dict:
        raise ProviderQueryError(f"served at {BASE}/locations")


def type_data_links(links: list[dict]) -> None:
    """Give the links to the queries the media type they answer with (pygeoapi says
    application/vnd.cov+json for all, /locations included)."""
    for link in links:
        if link.get("rel") == "data" and link.get("type") != "text/html":
            link["type"] = GEOJSON if "/locations" in link["href"] else COVJSON


# --- request parameters -----------------------------------------------------------------------

@dataclass
class EdrArgs:
    """The parameters every query takes."""

    start: dt.datetime | None
    end: dt.datetime | None
    crs: crsmod.Crs
    fmt: str  # covjson, geojson or html


_FORMATS = {"coveragejson": "covjson", "covjson": "covjson", "geojson": "geojson", "html": "html"}


def _format(offered: tuple[str, ...]) -> str:
    """The output format from ``f`` (or the Accept header); the first offered is the default."""
    raw = request.args.get("f")
    if raw:
        # f=json (pygeoapi's links use it) is the JSON flavour offered: CoverageJSON, else GeoJSON.
        fmt = offered[0] if raw.lower() == "json" else _FORMATS.get(raw.lower())
        if fmt not in offered:
            names = {"covjson": "CoverageJSON", "geojson": "GeoJSON", "html": "html"}
            raise QueryError(f"f={raw!r} is not offered here; use f={' or f='.join(names[o] for o in offered)}")
        return fmt
    mimes = {"covjson": COVJSON, "geojson": GEOJSON, "html": "text/html"}
    best = request.accept_mimetypes.best_match([mimes[o] for o in offered] + ["application/json"])
    return "html" if best == "text/html" else offered[0]


def edr_args(offered: tuple[str, ...] = ("covjson", "geojson", "html")) -> EdrArgs:
    """``datetime``, ``parameter-name``, ``crs`` and ``f``, checked; a QueryError names the bad one."""
    window = parse_datetime(request.args.get("datetime")) or (None, None)
    names = [n.strip() for n in request.args.get("parameter-name", "").split(",") if n.strip()]
    unknown = [n for n in names if n != PARAMETER]
    if unknown:
        raise QueryError(f"parameter-name: {', '.join(map(repr, unknown))} is not a parameter of {COLLECTION}; "
                         f"the only one is {PARAMETER}")
    crs = crsmod.parse(request.args.get("crs"), "crs")
    return EdrArgs(start=window[0], end=window[1], crs=crs, fmt=_format(offered))


def parse_coords(crs: crsmod.Crs, kinds: tuple[str, ...], example: str, cut: bool = False) -> str | None:
    """The ``coords`` WKT, checked (``ogc_api.geometries``) to be a valid geometry of one of ``kinds``
    in range for ``crs``; returned as 2D WKT with x the easting or longitude (flipped from
    EPSG:4326's order). None when ``cut`` allows and nothing of it lies where gauges can be."""
    raw = request.args.get("coords", "").strip()
    shown = raw if len(raw) <= 80 else raw[:80] + "…"
    if not raw:
        raise QueryError(f"coords is required, for example coords={example}")
    try:
        geom = shapely.force_2d(shapely.wkt.loads(raw))
    except (ShapelyError, ValueError) as exc:
        raise QueryError(f"coords={shown!r} is not valid WKT ({str(exc)[:120]})") from None
    if geom.geom_type.upper() not in kinds:
        raise QueryError(f"coords: a {geom.geom_type.upper()} is not accepted here; give a {' or '.join(kinds)}, "
                         f"for example coords={example}")
    geometries.check(geom, "coords")
    part = geometries.in_request_crs(geom, crs, "coords", cut)
    return None if part is None else part.wkt


def parse_within() -> float:
    """``within`` with ``within-units`` (km or m), in metres."""
    raw, units = request.args.get("within", "").strip(), request.args.get("within-units", "").strip()
    if not raw:
        raise QueryError("within is required, for example within=2&within-units=km")
    try:
        value = float(raw)
    except ValueError:
        raise QueryError(f"within={raw!r} is not a number") from None
    if not units:
        raise QueryError("within-units is required: km or m")
    if units.lower() not in UNITS_M:
        raise QueryError(f"within-units={units[:20]!r} is not supported; use km or m")
    metres = value * UNITS_M[units.lower()]
    if not math.isfinite(value) or value <= 0 or metres > geometries.MAX_DISTANCE_M:
        raise QueryError(f"within={raw[:20]!r} must be a positive distance of at most "
                         f"{geometries.MAX_DISTANCE_M / 1000:g} km")
    return metres


# --- routes -----------------------------------------------------------------------------------

@bp.route(f"{BASE}/locations")
def locations() -> Response:
    args = edr_args(("geojson", "html"))
    with context.state().pools.read() as conn:
        rows = rdb.gauge_locations(conn, args.crs.srid, args.crs.flip, args.start, args.end)
    features = [{"type": "Feature", "id": code, "geometry": geometry,
                 "properties": {"name": name, "elevation_m": elev, "operator": operator,
                                "first_observation_at": t0, "last_observation_at": t1,
                                "parameter-name": [PARAMETER]}}
                for code, name, elev, operator, t0, t1, geometry in rows]
    doc = {"type": "FeatureCollection", "features": features, "numberReturned": len(features),
           "links": [{"rel": "self", "type": GEOJSON, "href": _url("locations")}]}
    if args.fmt == "html":
        return _html(doc, "locations")
    return _json(doc, GEOJSON, args.crs)


@bp.route(f"{BASE}/locations/<code>")
def location(code: str) -> Response:
    args = edr_args()
    with context.state().pools.read() as conn:
        gid = rdb.gauge_id(conn, code)
        if gid is None:
            raise NotFoundError(f"locations: there is no rain gauge {code!r}; {_url('locations')} lists them")
        return _series(conn, [gid], args, "locations", single=True)


@bp.route(f"{BASE}/position")
def position() -> Response:
    args = edr_args()
    wkt = parse_coords(args.crs, ("POINT",), "POINT(105.8542 21.0285)")
    assert wkt is not None  # never cut
    with context.state().pools.read() as conn:
        nearest = _spatial(rdb.nearest_gauge, conn, wkt, args.crs)
        if nearest is None:
            raise NotFoundError("position: there are no rain gauges")
        gid, code, distance = nearest
        if distance > POSITION_MAX_M:
            raise NotFoundError(f"position: no rain gauge within {POSITION_MAX_M / 1000:g} km of {wkt} (the nearest, "
                                f"{code}, is {distance / 1000:.1f} km away); {_url('radius')} searches farther")
        return _series(conn, [gid], args, "position", single=True, extra={"distance_m": round(distance, 1)})


@bp.route(f"{BASE}/radius")
def radius() -> Response:
    args = edr_args()
    wkt = parse_coords(args.crs, ("POINT", "MULTIPOINT"), "POINT(105.8542 21.0285)")
    assert wkt is not None  # never cut
    within_m = parse_within()
    with context.state().pools.read() as conn:
        ids = _spatial(rdb.gauges_within, conn, wkt, args.crs, within_m)
        if not ids:
            raise NotFoundError(f"radius: no rain gauge within {within_m / 1000:g} km of {wkt}")
        return _series(conn, ids, args, "radius", single=False)


@bp.route(f"{BASE}/area")
def area() -> Response:
    args = edr_args()
    wkt = parse_coords(args.crs, ("POLYGON", "MULTIPOLYGON"), "POLYGON((105.80 21.00,105.90 21.00,105.90 21.06,"
                                                             "105.80 21.06,105.80 21.00))", cut=True)
    with context.state().pools.read() as conn:
        ids = _spatial(rdb.gauges_in_area, conn, wkt, args.crs) if wkt else []
        if not ids:
            raise NotFoundError(f"area: no rain gauge inside {wkt}")
        return _series(conn, ids, args, "area", single=False)


def _spatial(fn: Any, conn: psycopg.Connection, wkt: str, crs: crsmod.Crs, *more: Any) -> Any:
    """Run a gauge search; coordinates PostGIS cannot transform are the client's error."""
    # parse_coords has put x first (longitude for EPSG:4326): nothing to flip any more.
    try:
        return fn(conn, wkt, crs.srid, False, *more)
    except (psycopg.DataError, psycopg.InternalError) as exc:
        raise QueryError(f"coords cannot be used in {crs.uri} ({str(exc).strip().splitlines()[0][:120]})") from None


# --- responses --------------------------------------------------------------------------------

def _series(conn: psycopg.Connection, ids: list[int], args: EdrArgs, query: str, single: bool,
            extra: dict | None = None) -> Response:
    """The series of some gauges as CoverageJSON, GeoJSON or HTML."""
    if args.fmt == "geojson":
        rows = rdb.rain_observations_of(conn, ids, args.start, args.end, args.crs.srid, args.crs.flip,
                                        MAX_VALUES + 1)
        _check_size(len(rows), query)
        if not rows:
            _no_observations(conn, ids, query)
        return _json(_observations_geojson(rows), GEOJSON, args.crs)
    _check_size(rdb.series_size(conn, ids, args.start, args.end), query)
    rows = rdb.rain_series(conn, ids, args.start, args.end, args.crs.srid)
    if not rows:
        _no_observations(conn, ids, query)
    if single:
        doc = coverage(rows[0], args.crs, standalone=True, extra=extra)
    else:
        doc = {"type": "CoverageCollection", "domainType": "PointSeries", "parameters": {PARAMETER: RAIN_MM},
               "referencing": referencing(args.crs),
               "coverages": [coverage(row, args.crs, standalone=False) for row in rows]}
    if args.fmt == "html":
        return _html(doc, query)
    return _json(doc, COVJSON, args.crs)


def _check_size(n: int, query: str) -> None:
    if n > MAX_VALUES:
        raise QueryError(f"{query}: the answer would hold more than {MAX_VALUES:,} values; "
                         "narrow datetime (or the area searched)")


def _no_observations(conn: psycopg.Connection, ids: list[int], query: str) -> None:
    codes = ", ".join(rdb.gauge_codes(conn, ids))
    window = request.args.get("datetime")
    span = rdb.observation_span(conn, ids)
    if span is None:
        raise NotFoundError(f"{query}: rain gauge(s) {codes} have no observations")
    raise NotFoundError(f"{query}: rain gauge(s) {codes} have no observations for datetime={window}; "
                        f"they have observations from {span[0]} to {span[1]}")


def referencing(crs: crsmod.Crs) -> list[dict]:
    """CoverageJSON referencing: x is easting or longitude, y northing or latitude, in the CRS's axis order."""
    kind = "GeographicCRS" if crs.srid == 4326 else "ProjectedCRS"
    return [{"coordinates": ["y", "x"] if crs.flip else ["x", "y"], "system": {"type": kind, "id": crs.uri}},
            {"coordinates": ["t"], "system": {"type": "TemporalRS", "calendar": "Gregorian"}}]


def coverage(row: tuple, crs: crsmod.Crs, standalone: bool, extra: dict | None = None) -> dict:
    """One gauge's series (a row of :func:`landdb.rainfall.rain_series`) as a PointSeries Coverage."""
    code, name, x, y, times, values = row
    digits = 9 if crs.srid == 4326 else 4
    domain: dict[str, Any] = {"type": "Domain", "domainType": "PointSeries",
                              "axes": {"x": {"values": [round(x, digits)]}, "y": {"values": [round(y, digits)]},
                                       "t": {"values": times}}}
    cov: dict[str, Any] = {"type": "Coverage", "id": code, "domain": domain,
                           "landflood:gauge": {"code": code, "name": name, **(extra or {})}}
    if standalone:
        domain["referencing"] = referencing(crs)
        cov["parameters"] = {PARAMETER: RAIN_MM}
    cov["ranges"] = {PARAMETER: {"type": "NdArray", "dataType": "float", "axisNames": ["t"],
                                 "shape": [len(values)], "values": values}}
    return cov


def _observations_geojson(rows: list[tuple]) -> dict:
    features = [{"type": "Feature", "id": f"{code}@{at}", "geometry": geometry,
                 "properties": {"gauge": code, "name": name, "datetime": at, "interval_min": interval,
                                PARAMETER: value}}
                for code, name, at, interval, value, geometry in rows]
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}


def _url(path: str = "") -> str:
    """The public URL of the collection, or of one of its queries."""
    base = f"{context.state().settings.public_url.rstrip('/')}{BASE}"
    return f"{base}/{path}" if path else base


def _json(doc: dict, mimetype: str, crs: crsmod.Crs) -> Response:
    resp = Response(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), mimetype=mimetype)
    resp.headers["Content-Crs"] = f"<{crs.uri}>"
    resp.headers["Vary"] = "Accept, Accept-Language"
    return resp


def _html(doc: dict, query: str) -> Response:
    """pygeoapi's EDR page (a map of the coverages or features) for a response document."""
    api = context.state().api
    locale = APIRequest.from_flask(request, api.locales).locale
    title = "Lượng mưa tại các trạm" if context.lang() == "vi" else "Rainfall at the gauges"
    params = {k: v for k, v in request.args.items() if k != "f"}
    json_href = f"{_url().rsplit(BASE, 1)[0]}{request.path}?{urlencode({**params, 'f': 'json'})}"
    data = {**doc, "query_type": query.capitalize(), "query_path": _url(query), "title": title,
            "dataset_path": _url(), "collections_path": _url().rsplit("/", 1)[0],
            "links": [{"rel": "collection", "title": title, "href": _url()},
                      {"rel": "alternate", "type": COVJSON if doc["type"].startswith("Coverage") else GEOJSON,
                       "title": "JSON", "href": json_href}]}
    html = render_j2_template(api.tpl_config, api.get_dataset_templates(COLLECTION),
                              "collections/edr/query.html", data, locale)
    return Response(html, mimetype="text/html")
