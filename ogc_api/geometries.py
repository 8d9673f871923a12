"""Geometries that come with a request (a filter, a bbox, EDR coords, a process input), checked
before any SQL sees them: a known type, at most ``limits.MAX_VERTICES`` finite coordinates in the
range of their CRS, valid; and, where a predicate allows it exactly, cut to the region the city's
CRS can express.

The city's CRS (VN-2000 / TM-3 105°) transforms well only around Vietnam: ``DOMAIN`` (lon 95–115°,
lat 0–30°) holds every point PostGIS transforms to it without error, and reaches at least 900 km
beyond Hanoi on every side. Every stored feature lies in Hanoi, so for the predicates that only ask
*where* a feature is — intersects, disjoint, within, within a distance (of at most
``MAX_DISTANCE_M``) — a geometry reaching beyond the domain gives the same answer cut to it. For
the others (contains, equals, crosses, touches, overlaps) cutting could change the answer, so such
a geometry is refused with a message that says so.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from pyproj import Transformer
from shapely.errors import GeometryTypeError, ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from landflood.errors import QueryError
from ogc_api import crs as crsmod
from ogc_api.limits import MAX_VERTICES

TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")
#: lon/lat box in which the city's CRS (and UTM 48N) transform without error, around Hanoi.
DOMAIN = (95.0, 0.0, 115.0, 30.0)
#: The largest distance of a distance predicate (S_DWITHIN, EDR radius), in metres.
MAX_DISTANCE_M = 100_000.0
#: Web Mercator's valid square (metres).
_MERCATOR_MAX = 20_037_508.342789244
_WEB_MERCATOR = 3857


def from_geojson(obj: object, what: str) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry object; a QueryError naming ``what`` otherwise."""
    if not isinstance(obj, dict) or obj.get("type") not in TYPES:
        kind = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
        raise QueryError(f"{what}: {kind!r} is not a GeoJSON geometry type; use one of {', '.join(TYPES)}")
    _check_rings(obj, what)
    try:
        geom = shape(obj)
    except (GeometryTypeError, ShapelyError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise QueryError(f"{what}: the {obj['type']} cannot be read ({exc})") from None
    return check(geom, what)


def _check_rings(obj: dict, what: str) -> None:
    """Refuse polygon rings that do not end where they start (shapely would close them silently)."""
    kind, coords = obj.get("type"), obj.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    if kind == "GeometryCollection":
        for part in obj.get("geometries") or []:
            if isinstance(part, dict):
                _check_rings(part, what)
        return
    for polygon in polygons if isinstance(polygons, list) else []:
        for ring in polygon if isinstance(polygon, list) else []:
            ends = (ring[0], ring[-1]) if isinstance(ring, list) and len(ring) > 1 else (None, None)
            if isinstance(ends[0], list) and isinstance(ends[1], list) and ends[0] != ends[1]:
                raise QueryError(f"{what}: a polygon ring must end at the point where it starts (it is not closed)")


def check(geom: BaseGeometry, what: str) -> BaseGeometry:
    """``geom`` if it has coordinates, all finite, and not too many of them, and is valid."""
    coords = shapely.get_coordinates(geom)
    if geom.is_empty or not len(coords):
        raise QueryError(f"{what}: the geometry is empty")
    if len(coords) > MAX_VERTICES:
        raise QueryError(f"{what}: the geometry has {len(coords):,} vertices; at most {MAX_VERTICES:,} are "
                         "accepted (simplify it first)")
    if not np.isfinite(coords).all():
        raise QueryError(f"{what}: every coordinate must be a finite number (not NaN or infinity)")
    if not geom.is_valid:
        raise QueryError(f"{what}: the geometry is not valid ({explain_validity(geom)}); repair it (for example "
                         "ST_MakeValid, or QGIS 'Fix geometries') and send it again")
    return geom


def check_lon_lat(geom: BaseGeometry, what: str) -> None:
    """Refuse longitudes outside ±180° and latitudes outside ±90° (x is longitude)."""
    coords = shapely.get_coordinates(geom)
    if np.abs(coords[:, 0]).max() > 180 or np.abs(coords[:, 1]).max() > 90:
        raise QueryError(f"{what}: the coordinates are not longitude, latitude (CRS84): longitude must be within "
                         "±180° and latitude within ±90°")


def in_request_crs(geom: BaseGeometry, crs: crsmod.Crs, what: str, cut: bool) -> BaseGeometry | None:
    """``geom`` (x, y in the order of ``crs``'s axes) ready for ``ST_Transform`` from ``crs``: flipped
    to x = longitude for EPSG:4326, range-checked, and cut to ``DOMAIN`` when ``cut`` allows.

    Returns None when nothing of it lies in the domain (so nothing stored can match).
    """
    if crs.flip:
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
        order = "latitude, longitude (EPSG:4326's order; CRS84 is longitude, latitude)"
    else:
        order = "longitude, latitude"
    if crs.srid == 4326:
        coords = shapely.get_coordinates(geom)
        if np.abs(coords[:, 0]).max() > 180 or np.abs(coords[:, 1]).max() > 90:
            raise QueryError(f"{what}: coordinates out of range for {crs.uri}, whose axis order is {order}: "
                             "longitude must be within ±180° and latitude within ±90°")
        domain = shapely.box(*DOMAIN)
    elif crs.srid == _WEB_MERCATOR:
        if np.abs(shapely.get_coordinates(geom)).max() > _MERCATOR_MAX * 1.0001:
            raise QueryError(f"{what}: coordinates out of range for {crs.uri} (within ±{_MERCATOR_MAX:,.0f} m)")
        to_merc = Transformer.from_crs(4326, _WEB_MERCATOR, always_xy=True)
        domain = shapely.box(*to_merc.transform_bounds(*DOMAIN))
    else:  # a projected CRS of Vietnam: every vertex must lie in the domain
        to_lonlat = Transformer.from_crs(crs.srid, 4326, always_xy=True)
        lon, lat = to_lonlat.transform(*shapely.get_coordinates(geom).T)
        x0, y0, x1, y1 = DOMAIN
        if not (np.isfinite(lon).all() and (lon >= x0).all() and (lon <= x1).all()
                and (lat >= y0).all() and (lat <= y1).all()):
            raise QueryError(f"{what}: coordinates outside the region {crs.uri} covers (around Vietnam); check "
                             "the CRS (bbox-crs, filter-crs, crs) and the axis order")
        return geom
    if domain.contains(geom):
        return geom
    if not cut:
        raise QueryError(f"{what}: the geometry reaches beyond the region the city's CRS covers (lon "
                         f"{DOMAIN[0]:g}–{DOMAIN[2]:g}°, lat {DOMAIN[1]:g}–{DOMAIN[3]:g}°), where this predicate "
                         "cannot be evaluated; cut it to that region")
    part = shapely.intersection(geom, domain)
    return None if part.is_empty else part


def in_crs_domain(geom: BaseGeometry, crs: crsmod.Crs, what: str) -> BaseGeometry:
    """:func:`in_request_crs` for a geometry that must lie wholly in the domain (never cut)."""
    checked = in_request_crs(geom, crs, what, cut=False)
    assert checked is not None  # refused, not cut, when it reaches beyond the domain
    return checked


def parse_bbox(raw: str, crs: crsmod.Crs) -> list[float]:
    """``minx,miny,maxx,maxy`` (or the 6-number 3D form) in the axis order of ``crs``, as finite numbers."""
    shown = raw if len(raw) <= 80 else raw[:80] + "…"
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise QueryError(f"bbox={shown!r} must be four numbers: minx,miny,maxx,maxy") from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise QueryError(f"bbox={shown!r} must be four numbers: minx,miny,maxx,maxy")
    if not all(math.isfinite(v) for v in values):
        raise QueryError(f"bbox={shown!r}: every number must be finite (not NaN or infinity)")
    lower, upper = (values[0], values[2]) if crs.flip else (values[1], values[3])
    if lower > upper or (crs.srid != 4326 and values[0] > values[2]):
        raise QueryError(f"bbox={shown!r}: the lower corner comes first (minx,miny,maxx,maxy in the axis order "
                         f"of {crs.uri})")
    return values


def bbox_geometry(values: list[float], crs: crsmod.Crs) -> BaseGeometry:
    """The bbox as a geometry in ``crs``'s axis order; in degrees a west edge east of the east edge
    crosses the antimeridian (OGC API Features, 7.15.3)."""
    x1, y1, x2, y2 = values
    if crs.srid == 4326:
        lon1, lon2 = (y1, y2) if crs.flip else (x1, x2)
        if lon1 > lon2:
            halves = [(lon1, 180.0), (-180.0, lon2)]
            boxes = [shapely.box(a, y1, b, y2) if not crs.flip else shapely.box(x1, a, x2, b) for a, b in halves]
            return shapely.union_all(boxes)
    return shapely.envelope(shapely.multipoints([(x1, y1), (x2, y2)]))
