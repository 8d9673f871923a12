"""The registry's documents (issue 11, item 7) on the known city of tests/api/conftest.py: the PDFs'
text (read back with pypdf) states the parcel, its area, its holders in Vietnamese and its
corners; the extract is drawn at the scale it states; the public's extract names no holder;
issued documents are numbered in sequence and verify. Each PDF's first page is rendered to PNG
in var/test-artifacts/documents/ to look at."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, text

from landdb import documents as document_db
from landflood.errors import DataError, NotFoundError
from landflood.settings import Settings
from registry import documents, drawing
from tests.api.conftest import KNOWN_E, KNOWN_N, OWNER_ID, OWNER_NAME, load_city

OWNED = "00070-1-1"  # OWNER_NAME's, 11.987 m × 19.991 m, legal area 239.5 m²
SHARED = "00070-1-30"  # held in common by two (added below)
CO_OWNERS = ("Trần Văn Đức", "Lê Thị Hoa")
PUBLIC_URL = "http://127.0.0.1:5000"
ARTIFACTS = Settings().var_dir / "test-artifacts" / "documents"


@pytest.fixture(scope="module")
def doc_url(databases, migrated_template) -> str:
    url = databases.create("landflood_docs", template=migrated_template)
    load_city(url)
    return url


@pytest.fixture(scope="module")
def doc_engine(doc_url):
    url = doc_url
    eng = create_engine(url)
    with eng.begin() as conn:
        ids = [conn.execute(text("INSERT INTO parties (kind, full_name, id_type, id_number, birth_year, address) "
                                 "VALUES ('person', :n, 'CCCD', :i, :y, 'Số 5 phố Hàng Đào, Hoàn Kiếm') RETURNING id"),
                            {"n": n, "i": f"00118500000{k}", "y": 1985 + k}).scalar() for k, n in enumerate(CO_OWNERS)]
        for pid in ids:
            conn.execute(text("INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, share_numerator, "
                              "share_denominator, valid_from) VALUES ('00070', 1, 30, :p, 'use_right', 1, 2, "
                              "'2024-01-01')"), {"p": pid})
    yield eng
    eng.dispose()


def _text(pdf: bytes) -> str:
    """The PDF's text, NFC, with its line breaks (a table cell wraps) as plain spaces."""
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(unicodedata.normalize("NFC", text).split())


def _png(pdf: bytes, name: str) -> Path:
    """The first page as PNG in the artifacts folder (poppler's pdftoppm)."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: run `make setup` (poppler-utils)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(ARTIFACTS / f"{name}.pdf"),
                    str(ARTIFACTS / name)], check=True)
    out = ARTIFACTS / f"{name}.png"
    assert out.stat().st_size > 10_000  # a drawn page, not a blank one
    return out


def _issue(engine, build, *args, by="api:officer-lan#1", **kw) -> documents.Issued:
    with engine.begin() as conn:
        return documents.issue(conn, build(conn, *args, **kw), issued_by=by, public_url=PUBLIC_URL)


def test_the_certificate_data_sheet_states_the_parcel_its_holder_and_its_corners(doc_engine) -> None:
    issued = _issue(doc_engine, documents.certificate, OWNED)
    _png(issued.pdf, "certificate")
    body = _text(issued.pdf)
    assert issued.number.startswith("DL-") and issued.number in body
    assert "Thửa đất số" in body and "Tờ bản đồ số" in body
    assert "Thửa đất số / parcel no. 1 Tờ bản đồ số / map sheet 1 " in body
    assert "239,5 m²" in body
    assert OWNER_NAME in body and OWNER_ID in body and "1990" in body
    assert "Sử dụng riêng" in body and "Lâu dài" in body
    assert "Đất ở tại đô thị (ODT)" in body  # land_use_types' name, with its code
    # Corner 1 is the north-west one: X (northing) first, to the centimetre, with a decimal comma.
    assert f"{KNOWN_N + 19.991:.2f}".replace(".", ",") in body and f"{KNOWN_E:.2f}".replace(".", ",") in body
    assert "11,99" in body and "19,99" in body  # edge lengths
    assert issued.verify_url in body


def test_shared_holders_have_their_shares(doc_engine) -> None:
    with doc_engine.connect() as conn:
        doc = documents.certificate(conn, SHARED)
    assert [h.share for h in doc.holders] == ["1/2", "1/2"]
    assert doc.form_of_use.startswith("Sử dụng chung")
    issued = _issue(doc_engine, documents.certificate, SHARED)
    body = _text(issued.pdf)
    assert all(n in body for n in CO_OWNERS) and "1/2" in body and "Sử dụng chung" in body


def test_corners_are_numbered_clockwise_from_the_north_west() -> None:
    from shapely.geometry import Polygon
    ccw = Polygon([(0, 0), (10, 0), (10, 20), (0, 20)])  # anticlockwise as written
    rings, edges = drawing.vertices(ccw)
    assert [(v.no, v.x, v.y) for v in rings[0]] == [(1, 20, 0), (2, 20, 10), (3, 0, 10), (4, 0, 0)]
    assert [(e.start, e.end, e.length) for e in edges] == [(1, 2, 10), (2, 3, 20), (3, 4, 10), (4, 1, 20)]


def _parcel_width_mm(svg: str) -> tuple[float, float]:
    """Width and height on paper (mm) of the parcel's path in the extract's SVG."""
    root = ET.fromstring(svg)
    path = next(e for e in root.iter() if e.get("id") == "parcel")
    nums = [float(v) for v in re.findall(r"-?\d+\.\d+", path.get("d"))]
    xs, ys = nums[0::2], nums[1::2]
    return max(xs) - min(xs), max(ys) - min(ys)


@pytest.mark.parametrize("scale", [200, 500, 1000, 2000])
def test_the_extract_is_drawn_at_the_scale_it_states(doc_engine, scale: int) -> None:
    with doc_engine.connect() as conn:
        doc = documents.extract(conn, OWNED, scale=scale)
    root = ET.fromstring(doc.map_svg)
    # One user unit is a millimetre: the SVG's size in mm equals its view box.
    assert root.get("width") == f"{float(root.get('viewBox').split()[2]):.1f}mm"
    w, h = _parcel_width_mm(doc.map_svg)
    assert w == pytest.approx(11.987 * 1000 / scale, abs=0.002)
    assert h == pytest.approx(19.991 * 1000 / scale, abs=0.002)
    bar = next(e for e in root.iter() if e.get("class") == "scale-bar")
    assert float(bar.get("data-mm")) == pytest.approx(int(bar.get("data-metres")) * 1000 / scale)
    assert doc.neighbours > 0 and f"1:{scale}" in doc.map_svg


def test_the_extract_picks_the_most_detailed_scale_that_fits(doc_engine) -> None:
    with doc_engine.connect() as conn:
        assert documents.extract(conn, OWNED).scale == 200
        with pytest.raises(DataError, match="not offered"):
            documents.extract(conn, OWNED, scale=750)
        with pytest.raises(NotFoundError):
            documents.extract(conn, "00070-1-9999")


def test_a_large_parcel_does_not_fit_a_detailed_scale() -> None:
    from shapely.geometry import box
    big = box(0, 0, 200, 100)  # 200 m: 1000 mm at 1:200
    assert drawing.choose_scale(big) == 2000
    with pytest.raises(DataError, match="fits at 1:2000"):
        drawing.choose_scale(big, 500)
    with pytest.raises(DataError, match="too large"):
        drawing.choose_scale(box(0, 0, 2000, 100))


def test_the_public_extract_names_no_holder_and_the_officers_does(doc_engine) -> None:
    public = _issue(doc_engine, documents.extract, OWNED, scale=500, by="public")
    body = _text(public.pdf)
    assert public.number.startswith("TL-") and "Tỷ lệ 1:500" in body
    assert "Thửa đất số" in body and "239,5 m²" in body and "Số 1 phố Hàng Bạc" in body
    assert OWNER_NAME not in body and OWNER_ID not in body
    officers = _issue(doc_engine, documents.extract, OWNED, scale=500, officer=True)
    assert OWNER_NAME in _text(officers.pdf)
    with doc_engine.connect() as conn:
        assert document_db.get(conn, public.number).audience == "public"
        assert document_db.get(conn, officers.number).audience == "officer"
    _png(public.pdf, "extract-public")


def test_the_flood_statement_states_each_scenario(doc_engine) -> None:
    issued = _issue(doc_engine, documents.flood_statement, OWNED, by="public")
    body = _text(issued.pdf)
    assert issued.number.startswith("NN-")
    assert "design-100mm-2h" in body and "Cao" in body and "0,42" in body
    assert "UN001" in body  # an event recorded within 200 m
    assert OWNER_NAME not in body
    with doc_engine.connect() as conn:
        unmodelled = documents.flood_statement(conn, "00070-1-40")
    assert unmodelled.scenarios[0].risk_class is None
    _png(issued.pdf, "flood-statement")


def test_issued_documents_are_numbered_in_sequence_and_verify(doc_engine) -> None:
    first = _issue(doc_engine, documents.flood_statement, OWNED, by="public")
    second = _issue(doc_engine, documents.extract, OWNED, by="public")
    n1, n2 = (int(d.number.rsplit("-", 1)[1]) for d in (first, second))
    assert n2 == n1 + 1
    import hashlib
    with doc_engine.connect() as conn:
        found = documents.verify(conn, second.number)
        assert found.kind == "map_extract" and found.parcel_id == OWNED
        assert found.content_sha256 == hashlib.sha256(second.pdf).hexdigest()
        with pytest.raises(NotFoundError, match="no document numbered"):
            documents.verify(conn, "TL-2026-999999")


def test_a_preview_is_marked_and_records_nothing(doc_engine) -> None:
    with doc_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM issued_documents")).scalar()
        page = documents.preview(conn, documents.flood_statement(conn, OWNED), by="public")
        assert conn.execute(text("SELECT count(*) FROM issued_documents")).scalar() == before
    assert "BẢN XEM TRƯỚC" in page and "file:" not in page and "/usr/share" not in page


def test_the_cli_issues_and_verifies(doc_url, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from landflood.cli import main

    env = {"LANDFLOOD_DATABASE_URL": doc_url}
    out = tmp_path / "extract.pdf"
    run = CliRunner().invoke(main, ["documents", "extract", OWNED, "--out", str(out), "--scale", "1000"], env=env)
    assert run.exit_code == 0, run.output
    number = re.search(r"TL-\d{4}-\d{6}", run.output).group(0)
    assert OWNER_NAME not in _text(out.read_bytes()) and "1:1000" in _text(out.read_bytes())
    again = CliRunner().invoke(main, ["documents", "extract", OWNED, "--out", str(out)], env=env)
    assert again.exit_code == 2 and "--overwrite" in again.output
    no_officer = CliRunner().invoke(main, ["documents", "certificate", OWNED, "--out", str(tmp_path / "c.pdf")],
                                    env=env)
    assert no_officer.exit_code == 2 and "--officer" in no_officer.output
    check = CliRunner().invoke(main, ["documents", "verify", number, "--file", str(out)], env=env)
    assert check.exit_code == 0 and "map_extract" in check.output and "the PDF issued as" in check.output
    other = tmp_path / "other.pdf"
    other.write_bytes(out.read_bytes() + b"\n")
    wrong = CliRunner().invoke(main, ["documents", "verify", number, "--file", str(other)], env=env)
    assert wrong.exit_code == 1 and "is not the PDF issued" in wrong.output
    unknown = CliRunner().invoke(main, ["documents", "verify", "TL-2026-999999"], env=env)
    assert unknown.exit_code == 1 and "no document numbered" in unknown.output
    missing = CliRunner().invoke(main, ["documents", "flood-statement", "00070-1-9999", "--out",
                                        str(tmp_path / "f.pdf")], env=env)
    assert missing.exit_code == 1 and "no version" in missing.output
