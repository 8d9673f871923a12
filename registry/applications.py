"""What an application asks for, read from its JSON request (as lodged through the API or from a
file with ``landflood registry lodge``) into typed values; anything malformed is a DataError that
names the field. Whether the request can be granted is the rules' business (``registry.rules``).

A request::

    {"service": "split", "parcels": ["00031-12-45"],
     "applicant": {"name": "Nguyễn Văn An", "id_number": "001085012345", "birth_year": 1985},
     "sources": [{"kind": "application_form", "number": "01/ĐK", "issued_on": "2026-11-30"}],
     "crs": "EPSG:5897",
     "split": {"new_parcels": {"type": "FeatureCollection", "features": [...]}}}

Shares are exact fractions written as strings ("1/3"); a float share is refused, since 0.3333
three times is not 1.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from landdb.codes import SERVICES, SOURCE_KINDS
from landdb.models import CITY_SRID
from landdb.parcels import ParcelKey
from landdb.parties import PartyData
from landflood.errors import DataError

PARTY_KINDS = ("person", "household", "organization", "state")
ID_TYPES = ("CCCD", "CMND", "passport", "business_registration", "other")
TRANSFER_KINDS = ("sale", "gift", "inheritance")
PARCELS_PER_SERVICE = {"split": (1, 1), "merge": (2, 20), "transfer": (1, 1), "mortgage": (1, 1),
                       "mortgage_cancellation": (1, 1), "boundary_correction": (1, 1)}
MAX_NEW_PARCELS = 100


@dataclass(frozen=True)
class Holder:
    party: PartyData
    share: Fraction


@dataclass(frozen=True)
class NewParcel:
    """A parcel the application creates or reshapes (geometry in the city CRS)."""

    geom: BaseGeometry
    parcel_no: int | None = None
    land_use: str | None = None
    area_legal_m2: Decimal | None = None
    address: str | None = None
    holders: tuple[Holder, ...] | None = None  # None: the parent's holders carry over


@dataclass(frozen=True)
class SourceData:
    kind: str
    number: str | None = None
    issued_on: dt.date | None = None
    issued_by: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Transfer:
    kind: str
    to: tuple[Holder, ...]
    #: ID numbers of the holders who transfer their shares; empty: all of them.
    from_ids: tuple[str, ...] = ()
    certificate_no: str | None = None


@dataclass(frozen=True)
class Mortgage:
    mortgagee: PartyData
    contract_no: str
    amount_vnd: int | None = None
    until: dt.date | None = None
    rank: int | None = None


@dataclass(frozen=True)
class Cancellation:
    rank: int | None = None
    mortgagee_id: str | None = None


@dataclass(frozen=True)
class Request:
    service: str
    parcels: tuple[ParcelKey, ...]
    applicant: PartyData
    sources: tuple[SourceData, ...] = ()
    new_parcels: tuple[NewParcel, ...] = ()
    transfer: Transfer | None = None
    mortgage: Mortgage | None = None
    cancellation: Cancellation | None = None


def _text(doc: dict[str, Any], key: str, where: str, required: bool = False, limit: int = 500) -> str | None:
    value = doc.get(key)
    if value is None or value == "":
        if required:
            raise DataError(f"{where}: '{key}' is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise DataError(f"{where}: '{key}' must be text of at most {limit} characters")
    return unicodedata.normalize("NFC", value.strip())


def _date(doc: dict[str, Any], key: str, where: str) -> dt.date | None:
    raw = _text(doc, key, where, limit=10)
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        raise DataError(f"{where}: '{key}' must be a date as YYYY-MM-DD, not {raw!r}") from None


def _whole(doc: dict[str, Any], key: str, where: str, low: int = 1, high: int = 10**15) -> int | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DataError(f"{where}: '{key}' must be a whole number from {low} to {high}")
    return value


def _object(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise DataError(f"{where} must be a JSON object")
    return doc


def share(value: Any, where: str) -> Fraction:
    """An exact share from "1/3", "1" or a whole number; floats are refused."""
    if isinstance(value, bool) or isinstance(value, float) or not isinstance(value, str | int):
        raise DataError(f"{where}: give the share as an exact fraction in a string, e.g. \"1/3\", not {value!r}")
    try:
        result = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        raise DataError(f"{where}: {value!r} is not a fraction like \"1/3\"") from None
    if not 0 < result <= 1:
        raise DataError(f"{where}: a share is more than 0 and at most 1, not {result}")
    return result


def party(doc: Any, where: str) -> PartyData:
    d = _object(doc, where)
    kind = _text(d, "kind", where) or "person"
    if kind not in PARTY_KINDS:
        raise DataError(f"{where}: 'kind' must be one of {', '.join(PARTY_KINDS)}, not {kind!r}")
    id_number = _text(d, "id_number", where, limit=20)
    id_type = _text(d, "id_type", where, limit=20)
    if id_number and not id_type:
        id_type = "business_registration" if kind in ("organization", "state") else \
            {12: "CCCD", 9: "CMND"}.get(len(id_number), "other")
    if id_type not in (None, *ID_TYPES):
        raise DataError(f"{where}: 'id_type' must be one of {', '.join(ID_TYPES)}, not {id_type!r}")
    return PartyData(full_name=_text(d, "name", where, required=True, limit=200) or "", kind=kind,
                     id_type=id_type, id_number=id_number,
                     birth_year=_whole(d, "birth_year", where, 1880, dt.date.today().year),
                     address=_text(d, "address", where))


def holders(items: Any, where: str) -> tuple[Holder, ...]:
    if not isinstance(items, list) or not items:
        raise DataError(f"{where} must be a list of {{'party': {{...}}, 'share': \"1/2\"}}")
    out = []
    for i, item in enumerate(items):
        d = _object(item, f"{where}[{i}]")
        out.append(Holder(party(d.get("party"), f"{where}[{i}].party"), share(d.get("share", "1"), f"{where}[{i}]")))
    return tuple(out)


def _to_city(crs: str) -> pyproj.Transformer | None:
    try:
        source = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise DataError(f"'crs' {crs!r} is not a CRS; give an EPSG code such as \"EPSG:5897\" (VN-2000, Hanoi)") \
            from None
    if source.to_epsg() == CITY_SRID:
        return None
    return pyproj.Transformer.from_crs(source, CITY_SRID, always_xy=True)


def _geometry(doc: Any, where: str, to_city: pyproj.Transformer | None) -> BaseGeometry:
    try:
        geom = shape(doc)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
        raise DataError(f"{where}: not a GeoJSON geometry ({exc})") from None
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise DataError(f"{where}: a parcel is a Polygon, not {geom.geom_type}")
    if to_city is not None:
        geom = shapely.transform(geom, lambda xy: _apply(to_city, xy))
    return geom


def _apply(t: pyproj.Transformer, xy: Any) -> Any:
    x, y = t.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _new_parcels(doc: Any, where: str, to_city: pyproj.Transformer | None) -> tuple[NewParcel, ...]:
    d = _object(doc, where)
    features = d.get("features") if d.get("type") == "FeatureCollection" else [d] if d.get("type") == "Feature" \
        else None
    if not isinstance(features, list) or not features or len(features) > MAX_NEW_PARCELS:
        raise DataError(f"{where} must be a GeoJSON Feature or FeatureCollection of 1 to {MAX_NEW_PARCELS} parcels")
    out = []
    for i, f in enumerate(features):
        fw = f"{where}.features[{i}]"
        props = _object(_object(f, fw).get("properties") or {}, f"{fw}.properties")
        area = props.get("area_legal_m2")
        try:
            area_legal = Decimal(str(area)).quantize(Decimal("0.1")) if area is not None else None
        except InvalidOperation:
            raise DataError(f"{fw}: 'area_legal_m2' must be a number of square metres") from None
        out.append(NewParcel(
            geom=_geometry(f.get("geometry"), f"{fw}.geometry", to_city),
            parcel_no=_whole(props, "parcel_no", fw, 1, 99_999), land_use=_text(props, "land_use", fw, limit=10),
            area_legal_m2=area_legal, address=_text(props, "address", fw),
            holders=holders(props["holders"], f"{fw}.holders") if props.get("holders") else None))
    return tuple(out)


def parse(doc: Any) -> Request:
    """The request in ``doc`` (a decoded JSON object)."""
    d = _object(doc, "the application")
    service = d.get("service")
    if service not in SERVICES:
        raise DataError(f"'service' must be one of {', '.join(SERVICES)}, not {service!r}")
    raw_parcels = d.get("parcels")
    low, high = PARCELS_PER_SERVICE[service]
    if not isinstance(raw_parcels, list) or not low <= len(raw_parcels) <= high:
        raise DataError(f"'parcels': a {service} names {low}{'' if low == high else f' to {high}'} parcel id(s), "
                        "e.g. [\"00031-12-45\"]")
    keys = tuple(ParcelKey.parse(str(p)) for p in raw_parcels)
    if len(set(keys)) != len(keys):
        raise DataError("'parcels' names a parcel twice")
    sources = []
    for i, s in enumerate(d.get("sources") or []):
        sd = _object(s, f"sources[{i}]")
        kind = _text(sd, "kind", f"sources[{i}]", required=True)
        if kind not in SOURCE_KINDS:
            raise DataError(f"sources[{i}]: 'kind' must be one of {', '.join(SOURCE_KINDS)}, not {kind!r}")
        sources.append(SourceData(kind, _text(sd, "number", f"sources[{i}]"), _date(sd, "issued_on", f"sources[{i}]"),
                                  _text(sd, "issued_by", f"sources[{i}]"), _text(sd, "description", f"sources[{i}]")))
    request = Request(service=service, parcels=keys, applicant=party(d.get("applicant"), "'applicant'"),
                      sources=tuple(sources))
    to_city = _to_city(_text(d, "crs", "the application") or f"EPSG:{CITY_SRID}")
    body = _object(d.get(service) or {}, f"'{service}'")
    if service == "split":
        new = _new_parcels(body.get("new_parcels"), "'split.new_parcels'", to_city)
        if len(new) < 2:
            raise DataError("'split.new_parcels': a split makes at least two parcels")
        return _with(request, new_parcels=new)
    if service in ("merge", "boundary_correction"):
        new = _new_parcels(body.get("new_parcel"), f"'{service}.new_parcel'", to_city)
        if len(new) != 1:
            raise DataError(f"'{service}.new_parcel' is one GeoJSON Feature")
        return _with(request, new_parcels=new)
    if service == "transfer":
        kind = _text(body, "kind", "'transfer'", required=True)
        if kind not in TRANSFER_KINDS:
            raise DataError(f"'transfer.kind' must be one of {', '.join(TRANSFER_KINDS)}, not {kind!r}")
        from_ids = body.get("from") or []
        if not isinstance(from_ids, list) or not all(isinstance(x, str) for x in from_ids):
            raise DataError("'transfer.from' lists the ID numbers of the holders who transfer, e.g. [\"001085012345\"]")
        return _with(request, transfer=Transfer(kind or "", holders(body.get("to"), "'transfer.to'"), tuple(from_ids),
                                                _text(body, "certificate_no", "'transfer'", limit=30)))
    if service == "mortgage":
        return _with(request, mortgage=Mortgage(
            party(body.get("mortgagee"), "'mortgage.mortgagee'"),
            _text(body, "contract_no", "'mortgage'", required=True, limit=60) or "",
            _whole(body, "amount_vnd", "'mortgage'"), _date(body, "until", "'mortgage'"),
            _whole(body, "rank", "'mortgage'", 1, 99)))
    cancel = Cancellation(_whole(body, "rank", "'mortgage_cancellation'", 1, 99),
                          _text(body, "mortgagee_id", "'mortgage_cancellation'", limit=20))
    if cancel.rank is None and cancel.mortgagee_id is None:
        raise DataError("'mortgage_cancellation' names the mortgage by 'rank' or 'mortgagee_id'")
    return _with(request, cancellation=cancel)


def _with(request: Request, **changes: Any) -> Request:
    return replace(request, **changes)
