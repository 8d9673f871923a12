"""The OpenAPI document and the conformance classes say what the service really does, and an
offline client can follow the whole document."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_30

from ogc_api.collections import COLLECTIONS

CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf"
PART3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf"


@pytest.fixture(scope="module")
def doc(app) -> dict:
    resp = app.test_client().get("/openapi")
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.oai.openapi+json"
    return json.loads(resp.get_data(as_text=True))


def _resolve(doc: dict, pointer: str) -> object:
    node: object = doc
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]  # type: ignore[index]
    return node


def test_the_document_is_valid_openapi_3_0(doc) -> None:
    jsonschema.Draft4Validator(OPENAPI_30).validate(doc)
    assert doc["openapi"].startswith("3.0")


def test_every_reference_is_local_and_resolves(doc) -> None:
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(doc))
    assert refs and all(r.startswith("#/components/") for r in refs)
    for r in set(refs):
        assert _resolve(doc, r) is not None, r


def test_every_route_the_app_serves_is_documented(app, doc) -> None:
    documented = {(method, re.sub(r"\{[^}]+\}", "{}", path)) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/maps", "/static")):  # the planners' web maps, not the OGC API
            continue
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "{}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            concrete = {p for m, p in documented if m == method.lower() and re.fullmatch(
                re.escape(path).replace(r"\{\}", "[^/]+"), p.replace("{}", "x"))}
            assert concrete, f"{method} {rule.rule} is served but not documented"


def _params(doc: dict, path: str, method: str = "get") -> dict[str, dict]:
    out = {}
    for p in doc["paths"][path][method]["parameters"]:
        p = _resolve(doc, p["$ref"]) if "$ref" in p else p
        out[p["name"]] = p
    return out


def test_items_document_each_collections_own_parameters(doc) -> None:
    parcels = _params(doc, "/collections/parcels/items")
    assert parcels["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}
    assert "ward_code" in parcels and "datetime" in parcels
    assert re.fullmatch(parcels["sortby"]["schema"]["items"]["pattern"], "-area_m2")
    assert not re.fullmatch(parcels["sortby"]["schema"]["items"]["pattern"], "owner_names")
    assert "http://www.opengis.net/def/crs/EPSG/0/5897" in parcels["crs"]["schema"]["enum"]
    gauges = _params(doc, "/collections/rain-gauges/items")
    assert "datetime" not in gauges and "elevation_m" in gauges  # no time, other properties
    assert gauges["properties"]["schema"]["items"]["enum"] == [*(p.name for p in COLLECTIONS["rain-gauges"].props), ""]


def test_an_officer_reads_owners_fields_in_the_document(client, officer, doc) -> None:
    theirs = client.get("/openapi", headers=officer).get_json()
    names = _params(theirs, "/collections/parcels/items")["properties"]["schema"]["items"]["enum"]
    assert {"owner_names", "owner_id_numbers", "owners"} <= set(names)
    assert "owner_id_numbers" in _params(theirs, "/collections/parcels/items")  # queryable: name=value
    assert "owner_names" not in json.dumps(doc) and "owner_id" not in json.dumps(doc)  # the public's has none


def test_parcel_writes_are_documented_for_officers(doc) -> None:
    item = doc["paths"]["/collections/parcels/items/{featureId}"]
    for method, ok in (("put", "200"), ("patch", "200"), ("delete", "204")):
        op = item[method]
        assert op["security"] == [{"bearerAuth": []}]
        assert {ok, "400", "401", "403", "404", "412", "428"} <= set(op["responses"]), method
        assert _params(doc, "/collections/parcels/items/{featureId}", method)["If-Match"]["required"]
    create = doc["paths"]["/collections/parcels/items"]["post"]
    assert "201" in create["responses"] and "application/geo+json" in create["requestBody"]["content"]
    assert "put" not in doc["paths"]["/collections/admin-units/items/{featureId}"]
    assert "413" in item["put"]["responses"] and "413" not in item["delete"]["responses"]
    assert {"414", "503", "504"} <= set(item["delete"]["responses"])
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {**doc["components"]["securitySchemes"][
        "bearerAuth"], "type": "http", "scheme": "bearer"}


def test_swagger_ui_shows_the_document(client) -> None:
    html = client.get("/openapi?f=html").get_data(as_text=True)
    assert "swagger" in html.lower() and "/openapi" in html
    assert client.get("/openapi?f=xml").status_code == 400


def test_conformance_declares_the_filter_classes(client) -> None:
    classes = client.get("/conformance").get_json()["conformsTo"]
    for c in (f"{PART3}/filter", f"{PART3}/features-filter", f"{PART3}/queryables", f"{CQL2}/cql2-text",
              f"{CQL2}/cql2-json", f"{CQL2}/basic-cql2", f"{CQL2}/advanced-comparison-operators",
              f"{CQL2}/case-insensitive-comparison", f"{CQL2}/spatial-functions", f"{CQL2}/temporal-functions",
              "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete"):
        assert c in classes, c
    # Not implemented, so not declared: accents, arrays, arithmetic, functions, async jobs.
    for c in (f"{CQL2}/accent-insensitive-comparison", f"{CQL2}/array-functions", f"{CQL2}/arithmetic",
              f"{CQL2}/functions", "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list"):
        assert c not in classes, c
    assert len(classes) == len(set(classes))
    page = client.get("/conformance?f=html")
    assert page.status_code == 200 and f"{PART3}/filter" in page.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/?f=png", "/collections?f=mvt", "/collections/parcels/schema?f=jsonld",
                                 "/TileMatrixSets?f=jsonld", "/processes?f=jsonld", "/jobs?f=png",
                                 "/conformance?f=png", "/processes?f=%0C", "/collections/rain-gauges?f=%1Ejson"])
def test_a_format_the_document_does_not_offer_is_a_400(client, url) -> None:
    resp = client.get(url)
    assert resp.status_code == 400 and resp.get_json()["code"] == "InvalidParameterValue", url


def test_the_links_of_the_collections_lead_to_what_they_announce(client) -> None:
    """Every link in /collections to this server answers 200 with the media type it announces."""
    links = [link for c in client.get("/collections").get_json()["collections"] for link in c["links"]]
    checked = 0
    for link in links:
        href = link["href"].removeprefix("http://127.0.0.1:5000")
        if href.startswith("http") or "{" in href or not link.get("type"):
            continue
        if "/rainfall/" in href and "locations" not in href:  # the EDR queries need coords
            continue
        resp = client.get(href)
        assert resp.status_code == 200, href
        assert resp.mimetype == link["type"].split(";")[0], href
        checked += 1
    assert checked > 50
