"""The registry's JSON routes under /registry: applications lodged, documented, checked, approved,
registered or closed (``registry.workflow``), the rule catalogue, a check report as HTML.

Officers only (approving and registering: registrars and admins); every step is audited under
the caller's ``api:<name>#<id>``. ``Idempotency-Key`` on POST /registry/applications makes a
retried lodging return the application lodged the first time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from flask import Blueprint, Response, render_template_string, request

from landdb import registry as registry_db
from landdb.codes import APPLICATION_STATES, ROLES, SOURCE_KINDS
from landflood.errors import DataError, QueryError
from ogc_api import auth, context, limits
from registry import workflow
from registry.applications import SourceData
from registry.rules import CATALOGUE

bp = Blueprint("registry", __name__)
JSON = "application/json"
MAX_KEY = 200


def _json(doc: Any, status: int = 200, **headers: str) -> Response:
    return Response(json.dumps(doc, ensure_ascii=False, default=str), status=status, mimetype=JSON, headers=headers)


def application_doc(app: registry_db.Application) -> dict[str, Any]:
    """An application as the API shows it (officers only: it names the applicant)."""
    doc = {f.name: getattr(app, f.name) for f in dataclasses.fields(app) if f.name not in ("id", "request")}
    doc["request"] = {k: v for k, v in app.request.items() if k != "_fingerprint"}
    doc["links"] = [{"rel": "self", "href": f"/registry/applications/{app.number}", "type": JSON},
                    {"rel": "report", "href": f"/registry/applications/{app.number}/report", "type": "text/html"}]
    return doc


def _body() -> dict[str, Any]:
    doc = limits.load_json(request.get_data() or b"null", "the body")
    if not isinstance(doc, dict):
        raise DataError("send a JSON object")
    return doc


@bp.get("/registry/rules")
def rules() -> Response:
    """The rule catalogue (public: it is the law the register follows)."""
    return _json({"rules": [dataclasses.asdict(r) for r in CATALOGUE]})


@bp.post("/registry/applications")
def lodge() -> Response:
    user = auth.require(*ROLES)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_KEY:
        raise DataError(f"Idempotency-Key is 1 to {MAX_KEY} characters")
    app = workflow.lodge(context.state().engine, _body(), user.actor, key)
    return _json(application_doc(app), 201, Location=f"/registry/applications/{app.number}")


@bp.get("/registry/applications")
def listing() -> Response:
    auth.require(*ROLES)
    states = tuple(s for s in request.args.get("state", "").split(",") if s)
    if any(s not in APPLICATION_STATES for s in states):
        raise QueryError(f"'state' is a comma-separated list of {', '.join(APPLICATION_STATES)}")
    due = request.args.get("due_before")
    try:
        due_before = dt.date.fromisoformat(due) if due is not None else None
        limit = int(request.args.get("limit", 50))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        raise QueryError("'due_before' is a date (YYYY-MM-DD); 'limit' and 'offset' whole numbers") from None
    if not 1 <= limit <= 1000 or not 0 <= offset <= 10**7:
        raise QueryError("'limit' is 1 to 1000 and 'offset' 0 to 10,000,000")
    with context.state().engine.connect() as conn:
        apps, total = registry_db.listing(conn, states=states or None, due_before=due_before, limit=limit,
                                          offset=offset)
    return _json({"applications": [application_doc(a) for a in apps], "numberMatched": total,
                  "numberReturned": len(apps)})


@bp.get("/registry/applications/<number>")
def show(number: str) -> Response:
    auth.require(*ROLES)
    with context.state().engine.connect() as conn:
        app = registry_db.get(conn, number[:40])
        doc = application_doc(app)
        doc["sources"] = [dataclasses.asdict(s) for s in registry_db.sources_of(conn, app.id)]
        doc["transaction"] = registry_db.transaction_of(conn, app.id)
    return _json(doc)


@bp.post("/registry/applications/<number>/sources")
def attach(number: str) -> Response:
    user = auth.require(*ROLES)
    doc = _body()
    kind = doc.get("kind")
    if kind not in SOURCE_KINDS:
        raise DataError(f"'kind' must be one of {', '.join(SOURCE_KINDS)}")
    issued = doc.get("issued_on")
    try:
        issued_on = dt.date.fromisoformat(issued) if isinstance(issued, str) else None
    except ValueError:
        raise DataError("'issued_on' is a date as YYYY-MM-DD") from None
    texts = {k: doc.get(k) if isinstance(doc.get(k), str) else None for k in ("number", "issued_by", "description")}
    source = workflow.attach_source(context.state().engine, number[:40], SourceData(
        kind, texts["number"], issued_on, texts["issued_by"], texts["description"]), user.actor)
    return _json(dataclasses.asdict(source), 201)


@bp.post("/registry/applications/<number>/check")
def check(number: str) -> Response:
    user = auth.require(*ROLES)
    return _json(workflow.check(context.state().engine, number[:40], user.actor))


@bp.post("/registry/applications/<number>/<step>")
def step(number: str, step: str) -> Response:
    user = auth.require(*ROLES)
    engine = context.state().engine
    if step == "approve":
        app = workflow.approve(engine, number[:40], user.actor, user.role)
    elif step == "register":
        app = workflow.register(engine, number[:40], user.actor, user.role)
    elif step in ("reject", "cancel", "withdraw"):
        reason = _body().get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
            raise DataError("send {\"reason\": \"...\"}: why the application is closed")
        state = {"reject": "rejected", "cancel": "cancelled", "withdraw": "withdrawn"}[step]
        app = workflow.close(engine, number[:40], state, user.actor, user.role, reason)  # type: ignore[arg-type]
    else:
        raise QueryError(f"{step!r} is not a step: approve, register, reject, cancel or withdraw")
    return _json(application_doc(app))


_REPORT = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>Kết quả kiểm tra hồ sơ {{ r.application }} / Rule check</title>
<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}
table{border-collapse:collapse}.failed td{background:#fdd}.warning.failed td{background:#ffe9b0}</style></head>
<body><h1>Kết quả kiểm tra hồ sơ {{ r.application }} <small>/ Rule check report</small></h1>
<p>Bước / step: {{ r.step }} · {{ r.checked_at }} ·
<strong>{{ "Đạt / passed" if r.passed else "Không đạt / not passed" }}</strong></p>
<table><tr><th>Mã / code</th><th>Mức / severity</th><th>Quy tắc / rule</th><th>Kết quả / result</th>
<th>Vị trí lỗi / at fault</th><th>Cách sửa / fix</th></tr>
{% for x in r.results %}<tr class="{{ x.severity }} {{ x.status }}"><td>{{ x.code }}</td><td>{{ x.severity }}</td>
<td>{{ x.title.vi }}<br><small>{{ x.title.en }}</small></td><td>{{ x.status }}</td>
<td>{% for f in x.features.features %}{{ f.properties.message }}<br>{% endfor %}</td>
<td>{% if x.fix %}{{ x.fix.vi }}<br><small>{{ x.fix.en }}</small>{% endif %}</td></tr>{% endfor %}
</table></body></html>"""


@bp.get("/registry/applications/<number>/report")
def report(number: str) -> Response:
    """The last rule check's report: HTML (default) or JSON (?f=json)."""
    auth.require(*ROLES)
    with context.state().engine.connect() as conn:
        app = registry_db.get(conn, number[:40])
    rep = app.check_report or {}
    if request.args.get("f") == "json":
        return _json(rep)
    return Response(render_template_string(_REPORT, r=rep), mimetype="text/html")
