"""The registry's procedure on the real PostGIS: lodge, approve, register each service; every rule's
failure leaves the register as it was; lineage and history afterwards."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from shapely.geometry import mapping
from sqlalchemy import text

from landdb import parcels as parcel_db
from landdb import parties as party_db
from landdb import registry as registry_db
from landflood.errors import ConflictError, PermissionDeniedError, RulesConflictError, RulesNotMetError
from registry import workflow
from registry.applications import SourceData
from tests.registry.conftest import AN, BINH, City, lot

OFFICER, REGISTRAR = "api:officer#1", "api:registrar#2"
SURVEY = [{"kind": "application_form", "number": "01/ĐK", "issued_on": "2026-11-30"},
          {"kind": "cadastral_survey", "number": "TĐ-12", "issued_on": "2026-11-20"}]


def feature(geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": mapping(geom), "properties": props}


def split_doc(city: City, halves: list[Any] | None = None, **props: Any) -> dict[str, Any]:
    halves = halves or [lot(0, 0, 10), lot(10, 0, 10)]
    return {"service": "split", "parcels": [city.a.parcel_id], "applicant": AN, "sources": SURVEY,
            "split": {"new_parcels": {"type": "FeatureCollection",
                                      "features": [feature(g, **props) for g in halves]}}}


def snapshot(city: City) -> dict[str, int]:
    """Row counts of everything a registration changes."""
    with city.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("parcel_versions", "rights", "applications", "transactions", "parcel_lineage",
                          "sources", "parties")}


def approve_and_register(city: City, number: str) -> registry_db.Application:
    workflow.approve(city.engine, number, REGISTRAR, "registrar")
    return workflow.register(city.engine, number, REGISTRAR, "registrar")


def test_a_split_is_registered_with_new_numbers_rights_and_lineage(city: City) -> None:
    app = workflow.lodge(city.engine, split_doc(city), OFFICER)
    assert app.state == "lodged" and app.number.startswith("HS-") and app.due_on > dt.date(2026, 1, 1)
    before_split = dt.datetime.now(dt.UTC)
    done = approve_and_register(city, app.number)
    assert done.state == "registered" and done.registered_by == REGISTRAR
    assert done.check_report is not None
    children = done.check_report["registered"]["parcels"]
    assert children == ["00031-12-48", "00031-12-49"]  # the sheet's next free numbers
    with city.engine.connect() as conn:
        kids = [parcel_db.get(conn, parcel_db.ParcelKey.parse(p)) for p in children]
        assert [k.area_m2 for k in kids] == [100.0, 100.0]
        rights = party_db.current_rights(conn, [k.key for k in kids])
        assert sorted((r.key.parcel_no, r.party_name, str(r.share)) for r in rights) == [
            (48, "Nguyễn Văn An", "1/2"), (48, "Trần Thị Bình", "1/2"),
            (49, "Nguyễn Văn An", "1/2"), (49, "Trần Thị Bình", "1/2")]
        assert party_db.current_rights(conn, [city.a]) == []
        # datetime before the split: the parent; after it: the children, each linked to it.
        assert parcel_db.get(conn, city.a, at=before_split).area_m2 == 200.0
        parents, _ = registry_db.lineage(conn, [kids[0].id])
        assert [(p.parcel_id, p.kind, p.application_number) for p in parents] == \
            [(city.a.parcel_id, "split", app.number)]
        parent_version = parcel_db.history(conn, city.a)[-1]
        _, children_links = registry_db.lineage(conn, [parent_version.id])
        assert sorted(c.parcel_id for c in children_links) == children
        assert registry_db.transaction_of(conn, done.id)["changes"]["parcel_versions.opened"] == [k.id for k in kids]


def test_split_by_heirs_with_their_own_shares(city: City) -> None:
    doc = split_doc(city)
    feats = doc["split"]["new_parcels"]["features"]
    feats[0]["properties"]["holders"] = [{"party": AN, "share": "1"}]
    feats[1]["properties"]["holders"] = [{"party": BINH, "share": "2/3"},
                                         {"party": {"name": "Lê Văn Cường", "id_number": "001200011111"},
                                          "share": "1/3"}]
    app = workflow.lodge(city.engine, doc, OFFICER)
    approve_and_register(city, app.number)
    with city.engine.connect() as conn:
        rights = party_db.current_rights(conn, [parcel_db.ParcelKey("00031", 12, 49)])
        assert sorted((r.party_name, str(r.share)) for r in rights) == [("Lê Văn Cường", "1/3"),
                                                                        ("Trần Thị Bình", "2/3")]


def test_merge_of_two_adjacent_parcels_of_the_same_holders(city: City) -> None:
    doc = {"service": "merge", "parcels": [city.a.parcel_id, city.b.parcel_id], "applicant": AN, "sources": SURVEY,
           "merge": {"new_parcel": feature(lot(0, 0, 40))}}
    app = approve_and_register(city, workflow.lodge(city.engine, doc, OFFICER).number)
    [merged] = app.check_report["registered"]["parcels"]  # type: ignore[index]
    with city.engine.connect() as conn:
        v = parcel_db.get(conn, parcel_db.ParcelKey.parse(merged))
        assert v.area_m2 == 400.0
        parents, _ = registry_db.lineage(conn, [v.id])
        assert sorted(p.parcel_id for p in parents) == [city.a.parcel_id, city.b.parcel_id]


def test_boundary_correction_keeps_the_number_and_adds_a_version(city: City) -> None:
    doc = {"service": "boundary_correction", "parcels": [city.b.parcel_id], "applicant": AN, "sources": SURVEY,
           "boundary_correction": {"new_parcel": feature(lot(20, 0, 21), area_legal_m2=210)}}
    approve_and_register(city, workflow.lodge(city.engine, doc, OFFICER).number)
    with city.engine.connect() as conn:
        versions = parcel_db.history(conn, city.b)
        assert [v.area_m2 for v in versions] == [200.0, 210.0]
        assert float(versions[-1].area_legal_m2 or 0) == 210.0


def test_transfer_by_sale_and_mortgage_then_cancellation(city: City) -> None:
    buyer = {"name": "Phạm Thị Dung", "id_number": "001195022222"}
    sale = {"service": "transfer", "parcels": [city.c.parcel_id], "applicant": BINH,
            "sources": [SURVEY[0], {"kind": "contract", "number": "HĐ 15/2026", "issued_on": "2026-11-25"}],
            "transfer": {"kind": "sale", "to": [{"party": buyer, "share": "1"}], "certificate_no": "DA 123456"}}
    approve_and_register(city, workflow.lodge(city.engine, sale, OFFICER).number)
    loan = {"service": "mortgage", "parcels": [city.c.parcel_id], "applicant": buyer,
            "sources": [SURVEY[0], {"kind": "mortgage_contract", "number": "TC-1", "issued_on": "2026-11-28"}],
            "mortgage": {"mortgagee": {"name": "Ngân hàng Vietcombank", "kind": "organization",
                                       "id_number": "0100112437"}, "contract_no": "TC-1", "amount_vnd": 2_000_000_000}}
    approve_and_register(city, workflow.lodge(city.engine, loan, OFFICER).number)
    with city.engine.connect() as conn:
        rights = party_db.current_rights(conn, [city.c])
        assert [(r.kind, r.party_name, r.rank) for r in rights] == [
            ("use_right", "Phạm Thị Dung", None), ("mortgage", "Ngân hàng Vietcombank", 1)]
        assert rights[0].certificate_no == "DA 123456"
    release = {"service": "mortgage_cancellation", "parcels": [city.c.parcel_id], "applicant": buyer,
               "sources": [SURVEY[0], {"kind": "mortgage_release", "issued_on": "2026-12-01"}],
               "mortgage_cancellation": {"rank": 1}}
    approve_and_register(city, workflow.lodge(city.engine, release, OFFICER).number)
    with city.engine.connect() as conn:
        assert [r.kind for r in party_db.current_rights(conn, [city.c])] == ["use_right"]
        history = party_db.rights_history(conn, city.c)
        assert [r.party_name for r in history if r.valid_to is not None][:1] == ["Trần Thị Bình"]


# --- each rule's failure, with nothing changed ---------------------------------------------------

def _bad(city: City, code: str) -> dict[str, Any]:
    doc = split_doc(city)
    feats = doc["split"]["new_parcels"]["features"]
    if code == "LF-R0101":
        feats[0]["geometry"] = {"type": "Polygon", "coordinates": [[
            [585000, 2326000], [585010, 2326010], [585010, 2326000], [585000, 2326010], [585000, 2326000]]]}
    elif code == "LF-R0102":
        feats[0]["geometry"] = {"type": "MultiPolygon", "coordinates": [
            mapping(lot(0, 0, 5))["coordinates"], mapping(lot(6, 0, 4))["coordinates"]]}
    elif code == "LF-R0103":
        feats[1]["geometry"] = mapping(lot(10, 0, 9))
    elif code == "LF-R0104":
        feats[0]["geometry"] = mapping(lot(0, 0, 11))
    elif code == "LF-R0106":
        doc = split_doc(city, [lot(0, 0, 19.96), lot(19.96, 0, 0.04)])
    elif code == "LF-R0108":
        doc = split_doc(city, area_legal_m2=100.5)
    elif code == "LF-R0109":
        doc = split_doc(city, area_legal_m2=103)
    elif code == "LF-R0111":
        feats[0]["properties"]["parcel_no"] = 46
    elif code == "LF-R0201":
        feats[0]["properties"]["holders"] = [{"party": AN, "share": "1/2"}]
    elif code == "LF-R0202":
        feats[0]["properties"]["holders"] = [{"party": {"name": "Người Lạ"}, "share": "1"}]
    elif code == "LF-R0301":
        doc["parcels"] = ["00031-12-999"]
    elif code == "LF-R0304":
        doc["sources"] = [{"kind": "application_form", "issued_on": "2099-01-01"}]
    elif code == "LF-R0110":
        doc = {"service": "merge", "parcels": [city.b.parcel_id, city.c.parcel_id], "applicant": BINH,
               "sources": SURVEY, "merge": {"new_parcel": feature(lot(0, 10, 40))}}
    elif code == "LF-R0204":
        doc = {"service": "merge", "parcels": [city.a.parcel_id, city.c.parcel_id], "applicant": BINH,
               "sources": SURVEY, "merge": {"new_parcel": feature(lot(0, 0, 20, 20))}}
    elif code == "LF-R0205":
        doc = {"service": "transfer", "parcels": [city.c.parcel_id], "applicant": BINH, "sources": SURVEY,
               "transfer": {"kind": "gift", "from": [AN["id_number"]], "to": [{"party": AN, "share": "1"}]}}
    elif code == "LF-R0207":
        doc = {"service": "mortgage_cancellation", "parcels": [city.c.parcel_id], "applicant": BINH,
               "mortgage_cancellation": {"rank": 3}}
    elif code == "LF-R0203":
        with city.engine.begin() as conn:
            party_db.close_rights(conn, [r.id for r in party_db.current_rights(conn, [city.a])])
    return doc


LODGE_RULES = ["LF-R0101", "LF-R0102", "LF-R0103", "LF-R0104", "LF-R0106", "LF-R0108", "LF-R0109", "LF-R0110",
               "LF-R0111", "LF-R0201", "LF-R0202", "LF-R0203", "LF-R0204", "LF-R0205", "LF-R0207", "LF-R0301",
               "LF-R0304"]


@pytest.mark.parametrize("code", LODGE_RULES)
def test_each_lodge_rule_refuses_and_stores_nothing(city: City, code: str) -> None:
    doc = _bad(city, code)
    before = snapshot(city)
    with pytest.raises(RulesNotMetError) as caught:
        workflow.lodge(city.engine, doc, OFFICER)
    assert code in caught.value.report["critical_failures"]  # type: ignore[index]
    assert code in str(caught.value)
    assert snapshot(city) == before


def test_a_sliver_report_locates_the_fault_in_crs84(city: City) -> None:
    with pytest.raises(RulesNotMetError) as caught:
        workflow.lodge(city.engine, _bad(city, "LF-R0104"), OFFICER)
    [result] = [r for r in caught.value.report["results"] if r["code"] == "LF-R0104"]  # type: ignore[index]
    [feat] = result["features"]["features"]
    lon, lat = feat["geometry"]["coordinates"][0][0]
    assert 105.5 < lon < 106.0 and 20.8 < lat < 21.3
    assert result["fix"]["vi"] and result["fix"]["en"]


def test_another_open_application_is_a_conflict(city: City) -> None:
    workflow.lodge(city.engine, split_doc(city), OFFICER)
    with pytest.raises(RulesConflictError, match="LF-R0302"):
        workflow.lodge(city.engine, split_doc(city), OFFICER)


def test_a_neighbour_overlap_blocks_approval_and_the_report_is_kept(city: City) -> None:
    doc = {"service": "boundary_correction", "parcels": [city.b.parcel_id], "applicant": AN, "sources": SURVEY,
           "boundary_correction": {"new_parcel": feature(lot(19, 0, 21))}}  # 1 m into parcel a
    app = workflow.lodge(city.engine, doc, OFFICER)
    with pytest.raises(RulesNotMetError, match="LF-R0105"):
        workflow.approve(city.engine, app.number, REGISTRAR, "registrar")
    with city.engine.connect() as conn:
        kept = registry_db.get(conn, app.number)
    assert kept.state == "lodged" and kept.check_report is not None
    assert "LF-R0105" in kept.check_report["critical_failures"]


def test_required_documents_and_four_eyes_at_approval(city: City) -> None:
    doc = split_doc(city)
    doc["sources"] = SURVEY[:1]
    app = workflow.lodge(city.engine, doc, OFFICER)
    with pytest.raises(RulesNotMetError, match="LF-R0303"):
        workflow.approve(city.engine, app.number, REGISTRAR, "registrar")
    workflow.attach_source(city.engine, app.number, SourceData("cadastral_survey", "TĐ-12"), OFFICER)
    with pytest.raises(RulesNotMetError, match="LF-R0305"):
        workflow.approve(city.engine, app.number, OFFICER, "registrar")
    with pytest.raises(PermissionDeniedError, match="registrar"):
        workflow.approve(city.engine, app.number, "api:clerk#3", "officer")
    assert workflow.approve(city.engine, app.number, REGISTRAR, "registrar").state == "approved"


def test_a_parcel_changed_since_lodging_is_a_conflict_at_registration(city: City) -> None:
    app = workflow.lodge(city.engine, split_doc(city), OFFICER)
    workflow.approve(city.engine, app.number, REGISTRAR, "registrar")
    with city.engine.begin() as conn:
        now = parcel_db.get(conn, city.a)
        parcel_db.save(conn, parcel_db.ParcelData(city.a, "TMD", now.geom, address=now.address))
    before = snapshot(city)
    with pytest.raises(RulesConflictError, match="LF-R0306"):
        workflow.register(city.engine, app.number, REGISTRAR, "registrar")
    after = snapshot(city)
    assert after == before


def test_idempotent_lodging_and_registration(city: City) -> None:
    doc = split_doc(city)
    first = workflow.lodge(city.engine, doc, OFFICER, idempotency_key="k-1")
    assert workflow.lodge(city.engine, copy.deepcopy(doc), OFFICER, idempotency_key="k-1").number == first.number
    other = split_doc(city, [lot(0, 0, 5), lot(5, 0, 15)])
    with pytest.raises(ConflictError, match="another request"):
        workflow.lodge(city.engine, other, OFFICER, idempotency_key="k-1")
    done = approve_and_register(city, first.number)
    again = workflow.register(city.engine, first.number, REGISTRAR, "registrar")
    assert again.registered_at == done.registered_at
    with pytest.raises(ConflictError, match="already registered by"):
        workflow.register(city.engine, first.number, "api:other#9", "registrar")


def test_closed_applications_stay_closed(city: City) -> None:
    app = workflow.lodge(city.engine, split_doc(city), OFFICER)
    workflow.close(city.engine, app.number, "withdrawn", OFFICER, "officer", "the applicant asked")
    with pytest.raises(ConflictError, match="withdrawn"):
        workflow.approve(city.engine, app.number, REGISTRAR, "registrar")
    # The parcel is free again for a new application.
    assert workflow.lodge(city.engine, split_doc(city), OFFICER).state == "lodged"
