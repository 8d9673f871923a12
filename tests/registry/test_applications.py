"""Reading an application's request (no database)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from shapely.geometry import box, mapping

from landdb.parcels import ParcelKey
from landflood.errors import DataError
from registry.applications import parse

APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001085012345", "birth_year": 1985}


def _split(**over: Any) -> dict[str, Any]:
    halves = [box(585000, 2326000, 585010, 2326010), box(585010, 2326000, 585020, 2326010)]
    doc = {"service": "split", "parcels": ["00031-12-45"], "applicant": APPLICANT,
           "sources": [{"kind": "application_form", "number": "01/ĐK", "issued_on": "2026-11-30"}],
           "split": {"new_parcels": {"type": "FeatureCollection", "features": [
               {"type": "Feature", "geometry": mapping(g), "properties": {"area_legal_m2": 100}} for g in halves]}}}
    doc.update(over)
    return doc


def test_a_split_request_is_read_with_its_parts() -> None:
    req = parse(_split())
    assert req.parcels == (ParcelKey("00031", 12, 45),)
    assert req.applicant.full_name == "Nguyễn Văn An" and req.applicant.id_type == "CCCD"
    assert [p.geom.area for p in req.new_parcels] == [100.0, 100.0]
    assert req.sources[0].issued_on is not None and req.sources[0].issued_on.isoformat() == "2026-11-30"


def test_geometries_in_wgs84_are_brought_to_vn2000() -> None:
    lonlat = box(105.85, 21.02, 105.8501, 21.0201)
    doc = _split(crs="EPSG:4326")
    doc["split"]["new_parcels"]["features"][0]["geometry"] = mapping(lonlat)
    geom = parse(doc).new_parcels[0].geom
    assert 580_000 < geom.bounds[0] < 600_000 and 2_320_000 < geom.bounds[1] < 2_330_000  # metres, EPSG:5897


def test_names_are_stored_as_nfc() -> None:
    decomposed = "Nguye\u0302\u0303n Va\u0306n An"
    assert parse(_split(applicant={**APPLICANT, "name": decomposed})).applicant.full_name == "Nguyễn Văn An"


def test_shares_are_exact_and_floats_are_refused() -> None:
    doc = {"service": "transfer", "parcels": ["00031-12-45"], "applicant": APPLICANT,
           "transfer": {"kind": "inheritance", "to": [{"party": APPLICANT, "share": "1/3"},
                                                      {"party": {"name": "Trần Thị Bình"}, "share": "2/3"}]}}
    req = parse(doc)
    assert req.transfer is not None and [h.share for h in req.transfer.to] == [Fraction(1, 3), Fraction(2, 3)]
    doc["transfer"]["to"][0]["share"] = 0.3333
    with pytest.raises(DataError, match="exact fraction"):
        parse(doc)


@pytest.mark.parametrize(("change", "message"), [
    ({"service": "demolish"}, "'service' must be one of"),
    ({"parcels": ["00031-12-45", "00031-12-46"]}, "a split names 1 parcel"),
    ({"parcels": ["nonsense"]}, "is not a parcel id"),
    ({"applicant": {"id_number": "001085012345"}}, "'name' is required"),
    ({"crs": "EPSG:999999"}, "is not a CRS"),
    ({"sources": [{"kind": "selfie"}]}, "'kind' must be one of"),
    ({"sources": [{"kind": "contract", "issued_on": "30/11/2026"}]}, "YYYY-MM-DD"),
])
def test_malformed_requests_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse(_split(**change))


def test_a_split_into_one_parcel_is_refused() -> None:
    doc = _split()
    doc["split"]["new_parcels"]["features"] = doc["split"]["new_parcels"]["features"][:1]
    with pytest.raises(DataError, match="at least two"):
        parse(doc)
