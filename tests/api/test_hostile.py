"""The hostile-request corpus (``data/hostile_requests.json``): every case is a 4xx OGC exception
that names the problem, leaks no SQL, stack trace or file path, and changes nothing stored."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ogc_api.collections import COLLECTIONS

CORPUS = json.loads((Path(__file__).parent / "data" / "hostile_requests.json").read_text(encoding="utf-8"))
_REPEAT = re.compile(r"\$\{repeat:(.*?):(\d+)\}", re.DOTALL)
#: What must never reach a client: SQL, Python's tracebacks, paths of the installation.
LEAKS = re.compile(r"\bSELECT\b|\bFROM\s+\w+\s+(?:WHERE|JOIN)\b|\bST_\w+\(|psycopg|sqlalchemy|Traceback|"
                   r"File \"|site-packages|/work/|\.py\b|LINE \d+:", re.IGNORECASE)


def _expand(value: str) -> str:
    return _REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), value)


def _cases() -> list[pytest.param]:
    out = []
    for i, case in enumerate(CORPUS["cases"]):
        colls = COLLECTIONS if "{coll}" in case["url"] else [None]
        for coll in colls:
            url = case["url"].replace("{coll}", coll or "")
            name = f"{i:03d}-{case.get('method', 'GET')}-{url[:60]}"
            out.append(pytest.param({**case, "url": url}, id=name))
    return out


def _fingerprint(url: str) -> dict[str, str]:
    """A hash of every row of every table: equal before and after means nothing changed."""
    eng = create_engine(url)
    with eng.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                   "AND tablename <> 'spatial_ref_sys' ORDER BY 1")).scalars().all()
        out = {t: conn.execute(text(f'SELECT md5(coalesce(string_agg(t::text, \',\' ORDER BY t::text), \'\')) '
                                    f'FROM "{t}" t')).scalar() for t in tables}
    eng.dispose()
    return out


@pytest.fixture(scope="module")
def before(api_db) -> dict[str, str]:
    return _fingerprint(api_db)


def test_the_corpus_is_large_enough() -> None:
    assert len(_cases()) >= 200


@pytest.mark.parametrize("case", _cases())
def test_a_hostile_request_is_a_clear_4xx(client, officer, before, case) -> None:
    headers = dict(case.get("headers", {}))
    if case.get("as") == "officer":
        headers.update(officer)
    body = bytes.fromhex(case["body_hex"]) if "body_hex" in case else _expand(case.get("body", "")).encode()
    resp = client.open(_expand(case["url"]), method=case.get("method", "GET"), headers=headers,
                       data=body or None)
    expected = case.get("status")
    if expected == 200:  # odd but legal: it must simply work
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        return
    assert 400 <= resp.status_code < 500, resp.get_data(as_text=True)[:500]
    if expected:
        assert resp.status_code == expected, resp.get_data(as_text=True)[:500]
    doc = resp.get_json(silent=True)
    assert isinstance(doc, dict) and doc.get("code") and doc.get("description"), resp.get_data(as_text=True)[:300]
    # What the client sent may be quoted back ('...'); nothing else may look like SQL or code.
    assert not LEAKS.search(re.sub(r"'[^']*'", "''", doc["description"])), doc["description"]
    assert len(doc["description"]) < 600  # it names the problem; it does not echo the request
    if case.get("says"):
        assert case["says"] in doc["description"], doc["description"]


def test_the_database_is_unchanged_by_the_corpus(api_db, before) -> None:
    assert _fingerprint(api_db) == before
