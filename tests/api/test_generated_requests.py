"""Generated requests against the app's own ``/openapi``: every operation, anonymous and as an
officer, valid and invalid inputs (schemathesis, in-process through WSGI).

Each response must come without a 5xx, with a status code, content type, headers and body the
document declares for it, and an input the document calls invalid must be refused. The app runs
on its own copy of the test city, so generated writes never touch the database other tests read.

Each role gets schemathesis' coverage phase (about 7,000 deterministic cases: boundary values,
wrong types, missing parameters, unspecified methods) and ``FUZZ_CASES`` random ones spread over
the operations (500 by default, the same each run; ``make fuzz`` sends 50,000 fresh ones). The
number of requests, their statuses and the slowest are reported at the end of the run and in
``var/test-artifacts/generated-requests.json``; no wall-clock time is asserted.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine

from landdb import api_users
from tests.api.conftest import GENERATED_LOG, PUBLIC_URL, load_city, make_settings

CASES = int(os.environ.get("FUZZ_CASES", "500"))
RANDOM = "FUZZ_CASES" in os.environ  # make fuzz: new inputs each run; the normal run repeats the same ones
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


@pytest.fixture(scope="module")
def fuzz_db(databases, migrated_template) -> str:
    url = databases.create("landflood_fuzz", template=migrated_template)
    load_city(url)
    return url


@pytest.fixture(scope="module")
def fuzz_app(fuzz_db) -> Iterator:
    from landflood.app import create_app
    application = create_app(make_settings(fuzz_db))
    yield application
    application.extensions["landflood"].pools.close()


@pytest.fixture(scope="module")
def fuzz_officer(fuzz_db) -> dict[str, str]:
    eng = create_engine(fuzz_db)
    with eng.begin() as conn:
        token = api_users.add(conn, "officer-fuzz", "officer")
    eng.dispose()
    return {"Authorization": f"Bearer {token}"}


def _schema(officer: bool) -> schemathesis.BaseSchema:
    """The document the app serves to the public or to an officer (test_the_harness_tests_the_served_document
    checks that they are the same)."""
    from ogc_api.openapi import document

    doc = document(PUBLIC_URL, officer)
    operations = sum(len(ops) for ops in doc["paths"].values())
    config = schemathesis.Config.from_dict({
        "generation": {"mode": "all", "max-examples": math.ceil(CASES / operations), "database": "none",
                       "deterministic": not RANDOM},
        "phases": {"stateful": {"enabled": False}},
    })
    return schemathesis.openapi.from_dict(doc, config=config)


schemathesis.serializer.alias("application/query-cql-json", "application/json")
public_schema, officer_schema = _schema(officer=False), _schema(officer=True)
QUIET = settings(deadline=None, suppress_health_check=list(HealthCheck))


def test_the_harness_tests_the_served_document(fuzz_app, fuzz_officer) -> None:
    client = fuzz_app.test_client()
    assert client.get("/openapi?f=json").get_json() == public_schema.raw_schema
    assert client.get("/openapi?f=json", headers=fuzz_officer).get_json() == officer_schema.raw_schema
    assert public_schema.raw_schema != officer_schema.raw_schema


def _check(case, app, log: list, role: str, headers: dict[str, str] | None = None) -> None:
    response = case.call(headers=headers, app=app)
    log.append((role, case.operation.label, response.status_code, response.elapsed, response.request.url))
    case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs={"app": app})


@public_schema.parametrize()
@QUIET
def test_anonymous(case, fuzz_app, request) -> None:
    _check(case, fuzz_app, request.config.stash.setdefault(GENERATED_LOG, []), "anonymous")


@officer_schema.parametrize()
@QUIET
def test_as_officer(case, fuzz_app, fuzz_officer, request) -> None:
    _check(case, fuzz_app, request.config.stash.setdefault(GENERATED_LOG, []), "officer", fuzz_officer)
