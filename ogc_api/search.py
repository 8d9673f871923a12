"""``GET /registry/search?q=…&limit=…``: the parcel search box (``landdb.search``) as JSON.

Anyone may search by parcel id, by ward with sheet and number, and by address; officers (every
role of ``landdb.codes.ROLES``) also by a holder's name, ID number or certificate serial, and
only their hits carry the holders' names. An officer's search is logged with who asked and what
kind of thing matched, never with the text asked (it may be a person's name or ID number).
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, g, request

from landdb import search as search_db
from landflood.errors import QueryError
from ogc_api import context

log = logging.getLogger(__name__)
bp = Blueprint("search", __name__)
PATH = "/registry/search"


def _limit() -> int:
    raw = request.args.get("limit") or None
    if raw is None:
        return search_db.DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= search_db.MAX_LIMIT:
        raise QueryError(f"limit={raw[:20]!r} is not a whole number from 1 to {search_db.MAX_LIMIT}")
    return int(raw)


@bp.route(PATH)
def search() -> Response:
    f = request.args.get("f") or "json"
    if f != "json":
        raise QueryError(f"f={f[:20]!r} is not offered here; use f=json")
    q = request.args.get("q")
    if q is None:
        raise QueryError("q is missing: give a parcel id (00070-12-345), a ward with a sheet and a number "
                         "(00070 12 345), or an address")
    if len(q) > search_db.MAX_QUERY_CHARS:  # as sent: the document's maxLength
        raise QueryError(f"q has {len(q)} characters; at most {search_db.MAX_QUERY_CHARS} are searched")
    limit, officer = _limit(), context.is_officer()
    with context.state().read_engine.connect() as conn:
        hits = search_db.search(conn, q, limit=limit, include_people=officer)
    if officer:
        kinds = sorted({h.matched for h in hits})
        log.info("registry search by %s: %d hits (%s)", g.user.actor, len(hits), ", ".join(kinds) or "none")
    doc = {"query": " ".join(q.split()), "numberReturned": len(hits),
           "hits": [_hit(h, officer) for h in hits]}
    return Response(json.dumps(doc, ensure_ascii=False), mimetype="application/json",
                    headers={"Vary": "Authorization, Cookie", "Cache-Control": "private, no-store" if officer
                             else "public, max-age=60"})


def _hit(hit: search_db.SearchHit, officer: bool) -> dict:
    out = {"parcel_id": hit.parcel_id, "ward_code": hit.ward_code, "map_sheet": hit.map_sheet,
           "parcel_no": hit.parcel_no, "address": hit.address, "land_use": hit.land_use_code,
           "area_m2": round(hit.area_m2, 2), "matched": hit.matched, "score": hit.score,
           "href": f"{context.state().settings.public_url.rstrip('/')}/collections/parcels/items/{hit.parcel_id}"}
    if officer:
        out["holders"] = list(hit.holders or ())
    return out
