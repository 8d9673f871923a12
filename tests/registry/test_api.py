"""The registry's routes: officers lodge, registrars approve and register, the public is refused;
retries are idempotent; failures carry the report; the OpenAPI document lists every route."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from shapely.geometry import mapping

from landdb import api_users
from tests.api.conftest import make_settings
from tests.registry.conftest import City, lot
from tests.registry.test_workflow import split_doc


@pytest.fixture
def web(city: City, fresh_db: str) -> Iterator[tuple[FlaskClient, dict[str, dict[str, str]]]]:
    from landflood.app import create_app

    with city.engine.begin() as conn:
        tokens = {role: api_users.add(conn, f"{role}-a", role) for role in ("officer", "registrar")}
    app = create_app(make_settings(fresh_db))
    yield app.test_client(), {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}
    app.extensions["landflood"].pools.close()


def test_lodge_approve_register_through_the_api(web, city: City) -> None:  # type: ignore[no-untyped-def]
    client, who = web
    doc = split_doc(city)
    lodged = client.post("/registry/applications", json=doc, headers={**who["officer"], "Idempotency-Key": "abc"})
    assert lodged.status_code == 201, lodged.get_data(as_text=True)
    number = lodged.json["number"]
    retry = client.post("/registry/applications", json=doc, headers={**who["officer"], "Idempotency-Key": "abc"})
    assert retry.status_code == 201 and retry.json["number"] == number
    assert client.post(f"/registry/applications/{number}/approve", headers=who["officer"]).status_code == 403
    assert client.post(f"/registry/applications/{number}/approve", headers=who["registrar"]).status_code == 200
    done = client.post(f"/registry/applications/{number}/register", headers=who["registrar"])
    assert done.status_code == 200 and done.json["state"] == "registered"
    again = client.post(f"/registry/applications/{number}/register", headers=who["registrar"])
    assert again.status_code == 200  # a retry by the same registrar
    shown = client.get(f"/registry/applications/{number}", headers=who["officer"]).json
    assert shown["transaction"]["registered_by"].startswith("api:registrar-a#")
    listed = client.get("/registry/applications?state=registered", headers=who["officer"]).json
    assert [a["number"] for a in listed["applications"]] == [number]
    page = client.get(f"/registry/applications/{number}/report", headers=who["officer"])
    assert page.status_code == 200 and "LF-R0101" in page.get_data(as_text=True)
    # The children are what the features API serves.
    for pid in done.json["check_report"]["registered"]["parcels"]:
        assert client.get(f"/collections/parcels/items/{pid}?f=json").status_code == 200
    assert client.get(f"/collections/parcels/items/{city.a.parcel_id}?f=json").status_code == 404


def test_a_failed_rule_is_422_with_the_report_and_a_conflict_409(web, city: City) -> None:  # type: ignore[no-untyped-def]
    client, who = web
    doc = split_doc(city)
    doc["split"]["new_parcels"]["features"][1]["geometry"] = mapping(lot(10, 0, 9))  # leaves a 1 m strip out
    bad = client.post("/registry/applications", json=doc, headers=who["officer"])
    assert bad.status_code == 422
    assert "LF-R0103" in bad.json["report"]["critical_failures"]
    assert client.post("/registry/applications", json=split_doc(city), headers=who["officer"]).status_code == 201
    clash = client.post("/registry/applications", json=split_doc(city), headers=who["officer"])
    assert clash.status_code == 409 and "LF-R0302" in clash.json["description"]


@pytest.mark.parametrize(("method", "path"), [("get", "/registry/applications"),
                                              ("post", "/registry/applications"),
                                              ("post", "/registry/applications/HS-2026-000001/register")])
def test_the_public_is_refused(web, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = web
    assert getattr(client, method)(path, json={}).status_code == 401


def test_malformed_input_is_400_with_a_message(web, city: City) -> None:  # type: ignore[no-untyped-def]
    client, who = web
    for body in (b"[", b"[]", json.dumps({"service": "split"}).encode()):
        r = client.post("/registry/applications", data=body, headers={**who["officer"],
                                                                     "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json["description"]
    assert client.get("/registry/applications?state=nope", headers=who["officer"]).status_code == 400
    assert client.get("/registry/applications/HS-0000-000000", headers=who["officer"]).status_code == 404


def test_the_rules_are_public_and_the_openapi_lists_the_routes(web) -> None:  # type: ignore[no-untyped-def]
    client, _ = web
    codes = [r["code"] for r in client.get("/registry/rules").json["rules"]]
    assert "LF-R0306" in codes
    paths = client.get("/openapi?f=json").json["paths"]
    for p in ("/registry/applications", "/registry/applications/{number}/register", "/registry/rules"):
        assert p in paths


def test_a_parcel_with_an_open_application_is_not_patched_around_it(web, city: City) -> None:  # type: ignore[no-untyped-def]
    client, who = web
    item = f"/collections/parcels/items/{city.a.parcel_id}"
    etag = client.get(f"{item}?f=json").headers["ETag"]
    assert client.post("/registry/applications", json=split_doc(city), headers=who["officer"]).status_code == 201
    refused = client.patch(item, json={"properties": {"address": "Số 2 phố Hàng Bạc"}},
                           headers={**who["officer"], "If-Match": etag})
    assert refused.status_code == 409 and "HS-" in refused.json["description"]
    assert client.get(f"{item}?f=json").headers["ETag"] == etag
