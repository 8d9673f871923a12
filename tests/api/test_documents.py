"""The registry's documents on the web: who may ask for which, the formats (an HTML preview, a
PDF issued), the verification page a QR code opens, and the refusals (403, 404, 400)."""

from __future__ import annotations

import hashlib
import io

from pypdf import PdfReader

from tests.api.conftest import OWNER_ID, OWNER_NAME

OWNED = "00070-1-1"


def _pdf_text(data: bytes) -> str:
    return " ".join("\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages).split())


def test_the_public_may_not_have_the_certificate_data(client) -> None:
    for f in ("html", "pdf"):
        resp = client.get(f"/registry/parcels/{OWNED}/certificate?f={f}")
        assert resp.status_code == 403
        assert "only land registry officers" in resp.get_json()["description"]


def test_an_officer_gets_the_certificate_data_as_preview_and_as_issued_pdf(client, officer) -> None:
    page = client.get(f"/registry/parcels/{OWNED}/certificate", headers=officer)
    assert page.status_code == 200 and page.mimetype == "text/html"
    body = page.get_data(as_text=True)
    assert OWNER_NAME in body and "BẢN XEM TRƯỚC" in body and "no-store" in page.headers["Cache-Control"]
    resp = client.get(f"/registry/parcels/{OWNED}/certificate?f=pdf", headers=officer)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    number = resp.headers["X-Document-Number"]
    assert number.startswith("DL-") and number in _pdf_text(resp.data) and OWNER_ID in _pdf_text(resp.data)
    check = client.get(f"/registry/documents/{number}?f=json", headers=officer).get_json()
    assert check["kind"] == "certificate_data" and check["parcel_id"] == OWNED
    assert check["sha256"] == hashlib.sha256(resp.data).hexdigest() and check["issued_by"].startswith("api:officer")


def test_the_public_extract_has_no_holders_and_verifies_without_the_issuer(client) -> None:
    resp = client.get(f"/registry/parcels/{OWNED}/extract?scale=500&f=pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = _pdf_text(resp.data)
    assert "1:500" in text and OWNER_NAME not in text and OWNER_ID not in text
    number = resp.headers["X-Document-Number"]
    doc = client.get(f"/registry/documents/{number}?f=json").get_json()
    assert doc["audience"] == "public" and "issued_by" not in doc
    assert doc["sha256"] == hashlib.sha256(resp.data).hexdigest()
    html = client.get(f"/registry/documents/{number}").get_data(as_text=True)
    assert number in html and doc["sha256"] in html


def test_the_flood_statement_is_public(client) -> None:
    resp = client.get(f"/registry/parcels/{OWNED}/flood-statement?f=pdf")
    assert resp.status_code == 200 and "design-100mm-2h" in _pdf_text(resp.data)
    assert resp.headers["X-Document-Number"].startswith("NN-")


def test_refusals_name_the_problem(client, officer) -> None:
    cases = [
        ("/registry/parcels/00070-1-9999/extract", 404, "no version"),
        ("/registry/parcels/00070-1-9999/certificate", 404, "no version"),
        ("/registry/parcels/not-a-parcel/flood-statement", 400, "not a parcel id"),
        (f"/registry/parcels/{OWNED}/extract?scale=750", 400, "not offered"),
        (f"/registry/parcels/{OWNED}/extract?scale=abc", 400, "not a scale"),
        (f"/registry/parcels/{OWNED}/extract?scale=99999999999999999999", 400, "not a scale"),
        (f"/registry/parcels/{OWNED}/extract?f=docx", 400, "f=html or f=pdf"),
        ("/registry/documents/TL-2026-999999", 404, "no document numbered"),
        ("/registry/documents/TL-2026-000001?f=pdf", 400, "f=html or f=json"),
    ]
    for url, status, says in cases:
        resp = client.get(url, headers=officer)
        assert resp.status_code == status, (url, resp.get_data(as_text=True))
        assert says in resp.get_json()["description"], (url, resp.get_json())


def test_the_openapi_document_describes_the_documents(client) -> None:
    paths = client.get("/openapi?f=json").get_json()["paths"]
    assert paths["/registry/parcels/{parcel_id}/certificate"]["get"]["security"] == [{"bearerAuth": []}]
    assert "403" in paths["/registry/parcels/{parcel_id}/certificate"]["get"]["responses"]
    scale = next(p for p in paths["/registry/parcels/{parcel_id}/extract"]["get"]["parameters"]
                 if p.get("name") == "scale")
    assert scale["schema"]["enum"] == [200, 500, 1000, 2000]
    assert "/registry/documents/{number}" in paths
