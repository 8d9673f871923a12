"""The maps' sign-in session: kept in the database, read-only, and proof against cross-site forms
(issue 17, item 1); If-Match is required (item 2); audit actors stay unambiguous after a revoke."""

from __future__ import annotations

import json
import re
import threading

import pytest
from sqlalchemy import create_engine, text

from landdb import api_users
from ogc_api.auth import CSRF_COOKIE, SESSION_COOKIE
from tests.api.conftest import KNOWN_E, KNOWN_N

PARCEL = "/collections/parcels/items/00070-1-2"


def _csrf(client) -> str:
    """Open a map page, as a browser does before signing in; returns the form's CSRF token."""
    html = client.get("/maps/land-use").get_data(as_text=True)
    token = re.search(r'"csrf":\s*"([^"]+)"', html).group(1)
    assert client.get_cookie(CSRF_COOKIE, path="/maps").value == token
    return token


def _sign_in(client, token: str, **headers: str):
    return client.post("/maps/sign-in", data={"token": token, "next": "/maps/land-use", "csrf": _csrf(client)},
                       headers=headers)


@pytest.fixture
def browser(app):
    """A fresh browser: its own cookie jar."""
    return app.test_client()


def test_the_cookie_holds_a_session_secret_not_the_token(browser, officer_token, api_db) -> None:
    resp = _sign_in(browser, officer_token)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/maps/land-use")
    cookie = browser.get_cookie(SESSION_COOKIE)
    assert cookie.http_only and cookie.same_site == "Lax"
    assert officer_token not in cookie.value
    eng = create_engine(api_db)
    with eng.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM api_sessions WHERE secret_hash = :h"),
                              {"h": api_users.secret_hash(cookie.value)}).scalar()
    eng.dispose()
    assert stored == 1  # the cookie is only a key to a session kept (as a hash) in the database
    # The session reads as the officer: owners are visible.
    assert "owner_names" in browser.get(f"{PARCEL}").get_json()["properties"]


def test_the_cookie_never_authorises_a_write(browser, officer_token, client, officer) -> None:
    _sign_in(browser, officer_token)
    etag = client.get(PARCEL).headers["ETag"]
    evil = {"Origin": "http://evil.example", "If-Match": etag, "Content-Type": "application/json"}
    patched = browser.patch(PARCEL, data=json.dumps({"properties": {"address": "hacked"}}), headers=evil)
    assert patched.status_code == 401 and "only reads" in patched.get_json()["description"]
    put = browser.put(PARCEL, data=json.dumps({"type": "Feature", "properties": {}, "geometry": None}),
                      headers=evil)
    assert put.status_code == 401
    ring = [[KNOWN_E + 900, KNOWN_N + 900], [KNOWN_E + 910, KNOWN_N + 900], [KNOWN_E + 910, KNOWN_N + 910],
            [KNOWN_E + 900, KNOWN_N + 900]]
    created = browser.post("/collections/parcels/items", headers={**evil, "Content-Type": "application/geo+json"},
                           data=json.dumps({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                                            "properties": {"ward_code": "00070", "map_sheet": 40, "parcel_no": 1,
                                                           "land_use": "ODT"}}))
    assert created.status_code == 401
    assert browser.delete(PARCEL, headers=evil).status_code == 401
    assert client.get(PARCEL).headers["ETag"] == etag  # nothing changed
    assert client.get("/collections/parcels/items/00070-40-1").status_code == 404


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Referer": "http://evil.example/page.html"},
    {"Sec-Fetch-Site": "cross-site"},
])
def test_cross_site_sign_in_and_sign_out_are_refused(browser, officer_token, headers) -> None:
    resp = _sign_in(browser, officer_token, **headers)
    assert resp.status_code == 403 and "another site" in resp.get_json()["description"]
    assert browser.get_cookie(SESSION_COOKIE) is None
    _sign_in(browser, officer_token)
    out = browser.post("/maps/sign-out", data={"csrf": _csrf(browser)}, headers=headers)
    assert out.status_code == 403
    assert "owner_names" in browser.get(PARCEL).get_json()["properties"]  # still signed in


def test_sign_in_without_the_pages_token_is_refused(browser, officer_token) -> None:
    _csrf(browser)
    resp = browser.post("/maps/sign-in", data={"token": officer_token, "csrf": "guessed"})
    assert resp.status_code == 403 and "reload the page" in resp.get_json()["description"]
    fresh = browser.application.test_client()  # no CSRF cookie at all, as a forged form would be
    assert fresh.post("/maps/sign-in", data={"token": officer_token, "csrf": ""}).status_code == 403


def test_sign_out_ends_the_session_on_the_server(browser, officer_token, app) -> None:
    _sign_in(browser, officer_token)
    secret = browser.get_cookie(SESSION_COOKIE).value
    assert browser.post("/maps/sign-out", data={"csrf": _csrf(browser), "next": "/maps"}).status_code == 303
    assert browser.get_cookie(SESSION_COOKIE) is None
    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, secret)  # a copy of the old cookie no longer signs anyone in
    assert "owner_names" not in replay.get(PARCEL).get_json()["properties"]


def test_revoking_a_user_ends_their_sessions_and_the_name_can_be_reused_unambiguously(app, api_db) -> None:
    eng = create_engine(api_db)
    with eng.begin() as conn:
        token = api_users.add(conn, "officer-temp", "officer")
    browser = app.test_client()
    _sign_in(browser, token)
    assert "owner_names" in browser.get(PARCEL).get_json()["properties"]
    with eng.begin() as conn:
        api_users.revoke(conn, "officer-temp")
        second = api_users.add(conn, "officer-temp", "officer")  # the name is free again
    assert "owner_names" not in browser.get(PARCEL).get_json()["properties"]
    assert app.test_client().get(PARCEL, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with eng.connect() as conn:
        ids = conn.execute(text("SELECT id FROM api_users WHERE name = 'officer-temp' ORDER BY id")).scalars().all()
        actors = [api_users.ApiUser(i, "officer-temp", "officer").actor for i in ids]
        listed = api_users.list_users(conn, revoked=True)
    eng.dispose()
    assert len(ids) == 2 and actors[0] != actors[1]  # the audit log tells the two apart
    assert [r[3] != "" for r in listed if r[0] == "officer-temp"] == [True, False]
    assert second != token


@pytest.mark.parametrize("if_match", [None, "*"])
def test_a_change_without_a_real_etag_is_428(client, officer, if_match) -> None:
    headers = {**officer, **({"If-Match": if_match} if if_match else {})}
    for method in (client.patch, client.delete):
        resp = method(PARCEL, json={"properties": {"address": "x"}}, headers=headers)
        assert resp.status_code == 428 and "If-Match" in resp.get_json()["description"]


def _race(app, method: str, url: str, headers: dict, body: dict | None, n: int = 10) -> list[int]:
    """``n`` clients send the same request at the same moment; their status codes."""
    barrier, codes = threading.Barrier(n), []

    def one() -> None:
        client = app.test_client()
        barrier.wait()
        codes.append(client.open(url, method=method, json=body, headers=headers).status_code)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(codes)


def test_concurrent_writes_with_one_etag_one_wins_the_others_get_412(app, client, officer) -> None:
    url = "/collections/parcels/items/00070-1-3"
    etag = client.get(url).headers["ETag"]
    codes = _race(app, "PATCH", url, {**officer, "If-Match": etag}, {"properties": {"address": "Số 3 Hàng Bạc"}})
    assert codes == [200] + [412] * 9
    etag = client.get(url).headers["ETag"]
    codes = _race(app, "DELETE", url, {**officer, "If-Match": etag}, None)
    assert codes == [204] + [412] * 9
