"""OGC API Features Part 4 on ``parcels``: create, replace (PUT), update (PATCH), delete.

Only officers write. A change never overwrites: it closes the current version and opens a
new one (a delete only closes it), checked against the ETag the client read (``If-Match``),
validated like a row of the ETL, and recorded in the audit log with the officer's name.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import shapely
from flask import Response, request
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from landdb import land_use
from landdb import parcels as parcel_db
from landdb import registry as registry_db
from landdb.api_users import ApiUser
from landdb.audit import set_actor
from landdb.codes import ROLES
from landdb.models import CITY_SRID
from landflood.errors import (
    ConflictError,
    DataError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    PreconditionRequiredError,
)
from ogc_api import auth, context, geometries, limits
from ogc_api import crs as crsmod
from ogc_api.collections import Collection

EDITABLE = ("ward_code", "map_sheet", "parcel_no", "land_use", "area_legal_m2", "address")
#: parcel_versions.area_legal_m2 is numeric(14, 2).
MAX_AREA_M2 = 10**12


def _officer(coll: Collection) -> ApiUser:
    user = auth.require(*ROLES)
    if coll.id != "parcels":
        raise PermissionDeniedError(f"{coll.id} is read-only through the API; load it with `landflood etl`")
    return user


def _body(what: str = "the body") -> dict[str, Any]:
    doc = limits.load_json(request.get_data() or b"null", what)
    if not isinstance(doc, dict) or doc.get("type") != "Feature":
        raise DataError("send one GeoJSON Feature with 'geometry' and 'properties'")
    return doc


def _content_crs() -> crsmod.Crs:
    raw = request.headers.get("Content-Crs", "").strip().strip("<>")
    return crsmod.parse(raw or None, "Content-Crs")


def _geometry(doc: dict[str, Any], in_crs: crsmod.Crs) -> BaseGeometry:
    geom = geometries.from_geojson(doc.get("geometry"), "geometry")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise DataError(f"a parcel is a Polygon or MultiPolygon, not {geom.geom_type}")
    geom = geometries.in_crs_domain(geom, in_crs, "geometry")  # x is the longitude from here on
    if in_crs.srid != CITY_SRID:
        t = Transformer.from_crs(in_crs.srid, CITY_SRID, always_xy=True)
        geom = shapely.transform(geom, lambda xy: _transform(t, xy))
        if not np.isfinite(shapely.get_coordinates(geom)).all():
            raise DataError(f"the geometry cannot be transformed from {in_crs.uri} to VN-2000; check Content-Crs")
    if not geom.is_valid:
        raise DataError(f"invalid geometry: {shapely.is_valid_reason(geom)}; repair it (for example "
                        "ST_MakeValid, or QGIS 'Fix geometries') and send it again")
    return MultiPolygon([geom]) if isinstance(geom, Polygon) else geom


def _whole(value: Any) -> int | None:
    """A JSON whole number (9 or 9.0, as JSON Schema's integer), or None for anything else (9.9, true, "9")."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def _transform(t: Transformer, xy: np.ndarray) -> np.ndarray:
    x, y = t.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _parcel_data(conn: Connection, props: dict[str, Any], geom: BaseGeometry, user: ApiUser) -> parcel_db.ParcelData:
    unknown = sorted(set(props) - set(EDITABLE) - {"parcel_id"})
    if unknown:
        raise DataError(f"properties {', '.join(unknown)} cannot be written; writable: {', '.join(EDITABLE)}")
    ward, sheet, number = props.get("ward_code"), _whole(props.get("map_sheet")), _whole(props.get("parcel_no"))
    if not isinstance(ward, str) or sheet is None or number is None:
        raise DataError("ward_code (text of 5 digits, such as \"00070\"), map_sheet and parcel_no (whole numbers) "
                        "are required")
    key = parcel_db.ParcelKey(ward, sheet, number)
    if why := key.problem():
        raise DataError(f"{key.parcel_id[:40]!r} is not a valid key: {why}")
    code = props.get("land_use")
    current = land_use.resolve(conn, code) if isinstance(code, str) else None
    if current is None:
        raise DataError(f"land_use {str(code)[:20]!r} is not a code of Circular 08/2024 (or a known 27/2018 code)")
    area = props.get("area_legal_m2")
    if isinstance(area, bool) or not isinstance(area, (int, float, Decimal, type(None))):
        raise DataError(f"area_legal_m2 must be a number (of square metres), not {json.dumps(area)[:40]}")
    try:
        area = None if area is None else Decimal(str(area))
    except InvalidOperation as exc:
        raise DataError(f"area_legal_m2 {str(area)[:40]!r} is not a number") from exc
    if area is not None and not (area.is_finite() and 0 < area < MAX_AREA_M2):
        raise DataError(f"area_legal_m2 must be a positive number of square metres below {MAX_AREA_M2:,}")
    address = props.get("address")
    if address is not None and (not isinstance(address, str) or "\x00" in address):
        raise DataError("address must be text without NUL characters")
    outside = conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM admin_units) AND NOT EXISTS (SELECT 1 FROM admin_units "
        "WHERE ST_Intersects(geom, ST_GeomFromWKB(:g, :srid)))"), {"g": geom.wkb, "srid": CITY_SRID}).scalar()
    if outside:
        raise DataError("the geometry lies outside the city; check its CRS (send Content-Crs) and coordinates")
    return parcel_db.ParcelData(key=key, land_use_code=current, geom=geom, area_legal_m2=area,
                                address=address, source=user.actor)


def _check_if_match(conn: Connection, key: parcel_db.ParcelKey) -> None:
    """Lock the parcel and check that the client's If-Match names its current version.

    Without If-Match, or with ``*``, a change could overwrite one its sender never saw: 428. A
    parcel changed or retired since the client read it: 412 (also for the losers of concurrent
    writes sent with the same ETag, who wait for the winner's lock and then see its version).
    """
    sent = request.headers.get("If-Match", "").strip()
    if not sent or sent == "*":
        raise PreconditionRequiredError("send If-Match with the ETag you read (GET the parcel first); '*' is "
                                        "not accepted, so that you never overwrite a change you have not seen")
    if not parcel_db.lock(conn, key):
        raise NotFoundError(f"parcels has no parcel {key.parcel_id!r}")
    current = parcel_db.etag(conn, key)
    if current is None:
        raise PreconditionFailedError(f"parcel {key.parcel_id} was retired since you read it")
    if current not in [t.strip() for t in sent.split(",")]:
        raise PreconditionFailedError(f"parcel {key.parcel_id} changed since you read it; GET it again and "
                                      "reapply your change")
    # An application lodged on the parcel was checked against this version: it changes through
    # the registry (or after that application is closed), not around it.
    pending = registry_db.open_on(conn, [key])
    if pending:
        raise ConflictError(f"parcel {key.parcel_id} has open application {pending[0][0]} ({pending[0][1]}); "
                            "change it through that application, or close the application first")


def _saved(key: parcel_db.ParcelKey, status: int) -> Response:
    pid = key.parcel_id
    with context.state().engine.connect() as conn:
        etag = parcel_db.etag(conn, key)
    url = f"{context.state().settings.public_url.rstrip('/')}/collections/parcels/items/{pid}"
    resp = Response(status=status, headers={"Location": url})
    if etag:
        resp.headers["ETag"] = etag
    return resp


def create(coll: Collection) -> Response:
    user = _officer(coll)
    doc = _body()
    geom = _geometry(doc, _content_crs())
    with context.state().engine.begin() as conn:
        set_actor(conn, user.actor)
        data = _parcel_data(conn, doc.get("properties") or {}, geom, user)
        parcel_db.lock(conn, data.key, register=True)
        if parcel_db.etag(conn, data.key):
            raise ConflictError(f"parcel {data.key.parcel_id} exists; change it with PUT or PATCH "
                                f"/collections/parcels/items/{data.key.parcel_id}")
        parcel_db.save(conn, data)
    return _saved(data.key, 201)


def replace(coll: Collection, fid: str, patch: bool) -> Response:
    user = _officer(coll)
    doc = limits.load_json(request.get_data() or b"null", "the body") if patch else _body()
    if not isinstance(doc, dict):
        raise DataError("send a JSON object: a GeoJSON Feature, or for PATCH the properties/geometry to change")
    key = parcel_db.ParcelKey.parse(fid)
    with context.state().engine.begin() as conn:
        set_actor(conn, user.actor)
        _check_if_match(conn, key)
        now = parcel_db.get(conn, key)
        props = {"ward_code": key.ward_code, "map_sheet": key.map_sheet, "parcel_no": key.parcel_no}
        if patch:
            props.update(land_use=now.land_use_code, area_legal_m2=now.area_legal_m2, address=now.address)
        props.update(doc.get("properties") or {})
        if doc.get("geometry"):
            geom = _geometry(doc, _content_crs())
        elif patch:
            geom = now.geom
        else:
            raise DataError("PUT replaces the whole parcel: send its geometry too (or use PATCH)")
        data = _parcel_data(conn, props, geom, user)
        if data.key != key:
            raise DataError(f"the body's key {data.key.parcel_id} differs from the URL's {key.parcel_id}")
        parcel_db.save(conn, data)
    return _saved(key, 200)


def delete(coll: Collection, fid: str) -> Response:
    user = _officer(coll)
    key = parcel_db.ParcelKey.parse(fid)
    with context.state().engine.begin() as conn:
        set_actor(conn, user.actor)
        _check_if_match(conn, key)
        parcel_db.close(conn, key)
    return Response(status=204)
