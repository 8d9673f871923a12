"""The registry's documents on the web (``registry.documents`` makes them):

- ``GET /registry/parcels/{parcel_id}/certificate`` — the certificate data sheet; officers only
  (403 for the public: it names the holders);
- ``GET /registry/parcels/{parcel_id}/extract?scale=500`` — the cadastral map extract; an
  officer's names the holders, the public's does not;
- ``GET /registry/parcels/{parcel_id}/flood-statement`` — the flood-risk statement; public;
- ``GET /registry/documents/{number}`` — what was issued under a number (what its QR code opens).

Each document is ``?f=html`` (the default: a **preview**, marked so, with no number; nothing is
recorded) or ``?f=pdf`` (the document is **issued**: numbered, its QR code and verification URL
printed on it, and recorded in ``issued_documents`` with its SHA-256 and who asked — the
officer, or ``public``).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, g, request

from landdb.audit import set_actor
from landflood.errors import PermissionDeniedError, QueryError
from ogc_api import context
from registry import documents
from registry.drawing import SCALES

bp = Blueprint("documents", __name__)

HTML, PDF, JSON = "text/html", "application/pdf", "application/json"
_VARY = "Accept, Authorization, Cookie"


def _format(offered: tuple[str, ...]) -> str:
    f = request.args.get("f") or None
    if f is not None and f not in offered:
        raise QueryError(f"f={f[:20]!r} is not offered here; use {' or '.join('f=' + o for o in offered)}")
    if f:
        return f
    types = {"html": HTML, "pdf": PDF, "json": JSON}
    best = request.accept_mimetypes.best_match([types[o] for o in offered], default=types[offered[0]])
    return next(o for o in offered if types[o] == best)


def _scale() -> int | None:
    raw = request.args.get("scale") or None
    if raw is None:
        return None
    digits = raw.removeprefix("1:")
    if not digits.isdigit() or len(digits) > 6:
        raise QueryError(f"scale={raw[:20]!r} is not a scale; use one of {', '.join(map(str, SCALES))} "
                         "(the denominator, as scale=500 for 1:500), or leave it out to fit the parcel")
    return int(digits)


def _actor() -> str:
    user = getattr(g, "user", None)
    return user.actor if user is not None else "public"


def _serve(build: documents.Builder, parcel_id: str) -> Response:
    """The document ``build`` makes, previewed as HTML or issued as a PDF."""
    fmt = _format(("html", "pdf"))
    state = context.state()
    private = "private, no-store" if context.is_officer() else "no-store"
    if fmt == "html":
        with state.read_engine.connect() as conn:
            page = documents.preview(conn, build(conn, parcel_id), by=_actor())
        return Response(page, mimetype=HTML, headers={"Vary": _VARY, "Cache-Control": private})
    with state.engine.begin() as conn:
        set_actor(conn, _actor())
        issued = documents.issue(conn, build(conn, parcel_id), issued_by=_actor(),
                                 public_url=state.settings.public_url)
    return Response(issued.pdf, mimetype=PDF, headers={
        "Content-Disposition": f'inline; filename="{issued.number}.pdf"', "X-Document-Number": issued.number,
        "Link": f'<{issued.verify_url}>; rel="describedby"', "Vary": _VARY, "Cache-Control": private})


@bp.route("/registry/parcels/<parcel_id>/certificate")
def certificate(parcel_id: str) -> Response:
    if not context.is_officer():
        raise PermissionDeniedError("the certificate data sheet names the land users: only land registry officers "
                                    "may ask for it (send an officer's token); anyone may ask for the map extract "
                                    "(/extract, without the land users) or the flood statement (/flood-statement)")
    return _serve(documents.certificate, parcel_id)


@bp.route("/registry/parcels/<parcel_id>/extract")
def extract(parcel_id: str) -> Response:
    scale, officer = _scale(), context.is_officer()
    return _serve(lambda conn, pid: documents.extract(conn, pid, scale=scale, officer=officer), parcel_id)


@bp.route("/registry/parcels/<parcel_id>/flood-statement")
def flood_statement(parcel_id: str) -> Response:
    return _serve(documents.flood_statement, parcel_id)


@bp.route("/registry/documents/<number>")
def verify(number: str) -> Response:
    fmt = _format(("html", "json"))
    officer = context.is_officer()
    with context.state().read_engine.connect() as conn:
        found = documents.verify(conn, number)
    headers = {"Vary": _VARY, "Cache-Control": "private, no-store" if officer else "public, max-age=60"}
    if fmt == "html":
        return Response(documents.verification_html(found, officer=officer), mimetype=HTML, headers=headers)
    return Response(json.dumps(documents.verification(found, officer=officer), ensure_ascii=False), mimetype=JSON,
                    headers=headers)
