"""The privacy sweep (issue 13, item 3): every route the app registers, asked as the public in
every format it offers, answers without an owner's name, ID number or the names of the fields that
hold them — JSON, HTML, GeoJSON-LD, schemas, queryables, the OpenAPI document, tiles (decoded
from gzip), process outputs, the maps' routes and error messages alike. A route added later
fails this test until it is listed here."""

from __future__ import annotations

import gzip
import io
import math

import pytest
from pypdf import PdfReader

from ogc_api.collections import COLLECTIONS
from tests.api.conftest import OWNER_ID, OWNER_NAME

SECRETS = (OWNER_NAME, OWNER_ID, "owner_names", "owner_id_numbers", "id_number", "full_name", "birth_year")
OWNED = "00070-1-1"  # a parcel whose right holder is OWNER_NAME
LON, LAT = 105.8542, 21.0285  # its corner
FORMATS = ("", "?f=json", "?f=html", "?f=jsonld")
#: Routes that answer nothing of the register, each with the reason it is left out.
NOT_SWEPT = {
    "static": "pygeoapi's own CSS and images",
    "maps.static": "the maps' script, style and vendored libraries",
    "maps.sign_in": "a form that answers a redirect (tested in test_sessions)",
    "maps.sign_out": "a form that answers a redirect (tested in test_sessions)",
    "items.change_item": "writes: officers only, 401 for the public (the corpus in test_hostile sends them)",
    **{f"registry.{e}": "the registry's steps: officers only, 401 for the public (tests/registry/test_api.py)"
       for e in ("lodge", "attach", "check", "step")},
}


def _tile(z: int) -> tuple[int, int]:
    """(y, x) of the WebMercatorQuad tile holding the owned parcel at zoom z."""
    n = 2**z
    x = int((LON + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(LAT))) / math.pi) / 2 * n)
    return y, x


def _urls() -> dict[str, list[str]]:
    """For each endpoint, the URLs that exercise it with what exists in the test city."""
    colls = [*COLLECTIONS, "rainfall"]
    tiled = ("parcels", "flood-risk-zones", "waterlogging-points")
    tiles = [f"/collections/{c}/tiles/WebMercatorQuad/{z}/{_tile(z)[0]}/{_tile(z)[1]}" for c in tiled
             for z in (14, 16, 18, 20)]
    return {
        "landing": ["/"],
        "openapi.openapi_document": ["/openapi?f=json", "/openapi?f=html"],
        "openapi.conformance": ["/conformance"],
        "collections": ["/collections"],
        "collection": [f"/collections/{c}" for c in colls],
        "schema": [f"/collections/{c}/schema" for c in COLLECTIONS],
        "items.queryables": [f"/collections/{c}/queryables" for c in COLLECTIONS],
        "items.items": [f"/collections/{c}/items" for c in COLLECTIONS]
        + [f"/collections/parcels/items?filter=parcel_id='{OWNED}'", "/collections/parcels/items?datetime=../..",
           f"/collections/parcels/items?filter=owner_names='{OWNER_NAME}'",
           "/collections/parcels/items?properties=owners", "/collections/parcels/items?sortby=owner_id_numbers"],
        "items.item": [f"/collections/parcels/items/{OWNED}", "/collections/parcels/items/00070-1-7",
                       "/collections/waterlogging-points/items/UN001", "/collections/admin-units/items/00070"],
        "tilematrixsets": ["/TileMatrixSets"],
        "tilematrixset": ["/TileMatrixSets/WebMercatorQuad"],
        "tilesets": [f"/collections/{c}/tiles" for c in tiled],
        "tileset": [f"/collections/{c}/tiles/WebMercatorQuad" for c in tiled],
        "tileset_metadata": [f"/collections/{c}/tiles/WebMercatorQuad/metadata" for c in tiled],
        "tiles.tile": tiles + [tiles[2] + "?properties=owner_names"],
        "edr.locations": ["/collections/rainfall/locations"],
        "edr.location": ["/collections/rainfall/locations/HN-RG01"],
        "edr.position": [f"/collections/rainfall/position?coords=POINT({LON} {LAT})"],
        "edr.radius": [f"/collections/rainfall/radius?coords=POINT({LON} {LAT})&within=5&within-units=km"],
        "edr.area": ["/collections/rainfall/area?coords=POLYGON((105.8 21,105.9 21,105.9 21.1,105.8 21.1,105.8 21))"],
        "processes.describe": ["/processes", "/processes/flood-risk-report", "/processes/waterlogging-nowcast"],
        "processes.jobs": ["/jobs", "/jobs/none"],
        "processes.job_results": ["/jobs/none/results"],
        "processes.execute": [],  # POSTed below
        "registry.rules": ["/registry/rules"],
        "registry.listing": ["/registry/applications", "/registry/applications?state=lodged"],
        "registry.show": ["/registry/applications/HS-2026-000001"],
        "registry.report": ["/registry/applications/HS-2026-000001/report"],
        "maps.home": ["/maps/"],
        "maps.map_page": ["/maps/flood-risk", "/maps/land-use"],
        "maps.admin_units": ["/maps/api/admin-units"],
        "maps.parcel_risk": [f"/maps/api/parcels/{OWNED}/risk"],
        "maps.flood_depth": ["/maps/api/flood-depth/design-100mm-2h"],
        "maps.flood_depth_png": ["/maps/api/flood-depth/design-100mm-2h.png"],
        # The registry's documents: the public's previews and issued PDFs (their text read back), the
        # certificate's refusal, the verification page.
        "documents.certificate": [f"/registry/parcels/{OWNED}/certificate?f={f}" for f in ("html", "pdf")],
        "documents.extract": [f"/registry/parcels/{OWNED}/extract?f={f}" for f in ("html", "pdf")]
        + [f"/registry/parcels/{OWNED}/extract?scale=2000&f=pdf", "/registry/parcels/00070-1-999/extract?f=pdf"],
        "documents.flood_statement": [f"/registry/parcels/{OWNED}/flood-statement?f={f}" for f in ("html", "pdf")],
        "documents.verify": ["/registry/documents/TL-2026-999999?f=json", "/registry/documents/TL-2026-999999?f=html"],
        # The owner's name folded, their ID number, their parcel by id and by sheet and number, an
        # address of theirs, and an error: none may answer with the owner.
        "search.search": [f"/registry/search?q={q}" for q in (
            "nguyen thi bich ngoc", "Nguyen Thi Bich Ngoc", OWNER_ID, OWNER_NAME, OWNED, "00070 1 1",
            "tờ 1 thửa 1 Hoàn Kiếm", "so 1 pho hang bac", "hang bac&limit=100", "tờ 1 thửa 1")],
    }


def _body(resp) -> str:
    data = resp.get_data()
    if resp.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    if resp.mimetype == "application/pdf":  # its text is compressed: read it as a reader would
        text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
        return " ".join(text.split())
    return data.decode("utf-8", errors="replace")


def test_every_route_is_swept(app) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(_urls()) - set(NOT_SWEPT) == set(), "a new route: add it to the sweep"


@pytest.mark.parametrize("endpoint", sorted(_urls()))
def test_the_public_sees_no_owner_anywhere(client, endpoint: str) -> None:
    for url in _urls()[endpoint]:
        variants = [url] if "?" in url or "/tiles/" in url or "/maps/" in url else [url + f for f in FORMATS]
        for variant in variants:
            resp = client.get(variant, headers={"Accept-Encoding": "gzip"})
            assert resp.status_code < 500, (variant, resp.status_code)
            # A name the client itself sent may come back in the 400 that refuses it.
            leaked = [s for s in SECRETS if s in _body(resp) and s not in variant]
            assert not leaked, (variant, resp.status_code, leaked)


@pytest.mark.parametrize("inputs", [
    {"parcel_id": OWNED},
    {"geometry": {"type": "Point", "coordinates": [LON + 0.0001, LAT + 0.0001]}},
    {"parcel_id": "00070-1-999"},  # an error message
])
def test_process_outputs_and_errors_carry_no_owner(client, inputs: dict) -> None:
    resp = client.post("/processes/flood-risk-report/execution", json={"inputs": inputs})
    assert resp.status_code < 500
    assert not [s for s in SECRETS if s in _body(resp)]


def test_the_officer_does_see_them(client, officer) -> None:
    """The sweep's check can fail: the same requests as an officer show the owner."""
    body = _body(client.get(f"/collections/parcels/items/{OWNED}", headers=officer))
    assert OWNER_NAME in body and OWNER_ID in body
    assert OWNER_NAME in _body(client.get("/registry/search?q=nguyen thi bich ngoc", headers=officer))
    for kind in ("certificate", "extract"):
        pdf = client.get(f"/registry/parcels/{OWNED}/{kind}?f=pdf", headers=officer)
        assert OWNER_NAME in _body(pdf) and OWNER_ID in _body(pdf)


def test_the_verification_of_an_officers_document_shows_the_public_no_holder(client, officer) -> None:
    number = client.get(f"/registry/parcels/{OWNED}/certificate?f=pdf", headers=officer).headers["X-Document-Number"]
    for f in ("json", "html"):
        resp = client.get(f"/registry/documents/{number}?f={f}")
        assert resp.status_code == 200 and number in _body(resp)
        assert not [s for s in (*SECRETS, "officer-lan") if s in _body(resp)]
