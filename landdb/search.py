"""Every query of the officers' and the public's parcel search.

One text box: ``search(conn, q, include_people=...)`` reads what ``q`` is and answers ranked hits.

- a parcel id, ``00070-12-345`` (the key: the pre-2025 commune of the cadastral map, the sheet,
  the number);
- a ward with a sheet and a number: ``00070 12 345``, ``tờ 12 thửa 345 Hàng Bạc``, ``phường Hàng
  Bạc, tờ bản đồ số 12, thửa đất số 345``. The ward is a code or a name, of a commune before
  1 July 2025 (the key's) or after (``parcel_versions.commune_code``, today's commune, assigned
  spatially). A new commune holds several old ones, whose sheet numbers restart, so one new code
  with a sheet and a number may find several parcels; the key's match ranks first;
- people's data, for officers only (``include_people``): a 9- or 12-digit ID number (CMND,
  CCCD) of a current holder, a certificate serial (``BĐ 123456``: letters, then 5 to 9 digits,
  spaces and dashes as typed), or a holder's name;
- anything else: an address (and, for officers, a holder's name) by trigram word similarity on
  the text folded to lower case without diacritics (``nguyen van an`` finds ``Nguyễn Văn An``;
  đ is d), ranked by similarity, then by parcel id.

The public's search never reads ``parties`` or ``rights``: a query shaped like an ID number or a
certificate is an address to it, and its hits carry no holders.

Folding happens in SQL (``landflood_fold``, migration 0010) on both sides of every comparison, so
the GIN trigram indexes on the folded columns answer it; :func:`fold` is the same rule in Python,
used only to read the query's words (tờ, thửa, phường).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy import Connection, Row, text

from landdb.models import MAX_MAP_SHEET, MAX_PARCEL_NO
from landdb.parcels import ParcelKey
from landflood.errors import QueryError

#: Longest query, in characters (after surrounding spaces are removed).
MAX_QUERY_CHARS = 200
#: Most hits one search answers.
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
#: How much of the query a name or an address must contain (pg_trgm's word similarity). 0.8 keeps
#: "Nguyễn Văn Anh" for "nguyen van an" (13 of its 14 trigrams) but not "Nguyễn Văn Hùng" (11):
#: with pg_trgm's default, 0.6, every "Nguyễn Văn …" (a tenth of Hanoi) would be a candidate.
WORD_SIMILARITY = 0.8
#: Rights whose party is the parcel's holder (a mortgagee or an easement's beneficiary is not).
HOLDER_KINDS = ("ownership", "use_right", "lease")

Matched = Literal["parcel_id", "sheet_number", "address", "holder", "id_number", "certificate"]
#: What the public's hits may have matched; the others need ``include_people``.
PUBLIC_MATCHES = ("parcel_id", "sheet_number", "address")
PEOPLE_MATCHES = ("holder", "id_number", "certificate")


@dataclass(frozen=True)
class SearchHit:
    """A current parcel that matched, how, and how well (1.0: exactly)."""

    parcel_id: str
    ward_code: str
    map_sheet: int
    parcel_no: int
    address: str | None
    land_use_code: str
    area_m2: float
    matched: Matched
    score: float
    #: The current holders' names, when the search included people's data (else None).
    holders: tuple[str, ...] | None = None


#: The combining marks of Vietnamese's letters once decomposed (as migration 0010 lists them).
_MARKS = dict.fromkeys(map(ord, "\u0300\u0301\u0302\u0303\u0306\u0309\u031b\u0323"))


def fold(value: str) -> str:
    """``value`` in lower case without diacritics (đ → d): the rule of SQL's ``landflood_fold``."""
    return unicodedata.normalize("NFD", value).translate({**_MARKS, ord("đ"): "d", ord("Đ"): "d"}).lower()


# --- reading the query -----------------------------------------------------------------------

_PARCEL_ID = re.compile(r"(\d{5})-(\d{1,9})-(\d{1,10})")
_TRIPLE = re.compile(r"(\d{5})[\s,;/.-]+(\d{1,9})[\s,;/.-]+(\d{1,10})")
_ID_NUMBER = re.compile(r"\d{9}|\d{12}")
_CERTIFICATE = re.compile(r"[a-z]{1,3}[\s.-]*\d{5,9}")
# On the folded query: "tờ (bản đồ) (số) 12", "thửa (đất) (số) 345", and their English words.
_SHEET = re.compile(r"\b(?:to(?:\s+ban\s+do)?|sheet|tbd)\s*(?:so\s*|no\.?\s*)?[:.]?\s*(\d{1,9})\b")
_NUMBER = re.compile(r"\b(?:thua(?:\s+dat)?|parcel|plot|ts)\s*(?:so\s*|no\.?\s*)?[:.]?\s*(\d{1,10})\b")
_UNIT_WORDS = re.compile(r"^(?:phuong|xa|thi\s+tran|ward|commune|p\.|x\.)\s*")


@dataclass(frozen=True)
class _SheetQuery:
    ward: str  # a 5-digit code, or a commune's name folded without its kind
    sheet: int
    number: int


def _sheet_query(folded: str) -> _SheetQuery | None:
    """A ward with a sheet and a number, in any of the forms the module's docstring lists."""
    m = _TRIPLE.fullmatch(folded)
    if m:
        return _SheetQuery(m.group(1), int(m.group(2)), int(m.group(3)))
    sheet, number = _SHEET.search(folded), _NUMBER.search(folded)
    if not (sheet and number):
        return None
    rest = _SHEET.sub(" ", _NUMBER.sub(" ", folded))
    ward = " ".join(re.sub(r"[,;:()]", " ", rest).split())
    ward = _UNIT_WORDS.sub("", ward).strip()
    if not ward:
        raise QueryError(f"{folded!r} names a sheet and a parcel number but no ward: add the ward's 5-digit code "
                         "or its name, as 'tờ 12 thửa 345 Hàng Bạc' or '00070 12 345'")
    return _SheetQuery(ward, int(sheet.group(1)), int(number.group(1)))


def _checked(q: str, limit: int) -> str:
    if not isinstance(q, str):
        raise QueryError("the search text must be text")
    q = " ".join(unicodedata.normalize("NFC", q).split())
    if not q:
        raise QueryError("the search text is empty: give a parcel id (00070-12-345), a ward with a sheet and a "
                         "number (00070 12 345), or an address")
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError(f"the search text has {len(q)} characters; at most {MAX_QUERY_CHARS} are searched")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit {limit!r} is not a whole number from 1 to {MAX_LIMIT}")
    return q


def search(conn: Connection, q: str, *, limit: int = DEFAULT_LIMIT, include_people: bool) -> list[SearchHit]:
    """The current parcels ``q`` finds, best first (at most ``limit``).

    ``include_people`` (officers only) searches holders' names, ID numbers and certificates too,
    and gives each hit its holders; without it nothing of ``parties`` or ``rights`` is read.
    Raises QueryError for an empty or too long ``q``, a bad ``limit``, or a sheet and number
    without a ward.
    """
    q = _checked(q, limit)
    folded = fold(q)
    m = _PARCEL_ID.fullmatch(folded)
    if m:
        hits = _by_keys(conn, [ParcelKey(m.group(1), int(m.group(2)), int(m.group(3)))], "parcel_id")
    elif (sheet := _sheet_query(folded)) is not None:
        hits = _by_sheet(conn, sheet, limit)
    elif include_people and _ID_NUMBER.fullmatch(folded):
        hits = _by_id_number(conn, folded, limit)
    elif include_people and _CERTIFICATE.fullmatch(folded):
        hits = _by_certificate(conn, q, limit)
    else:
        # For the rest of the caller's transaction (a connection in autocommit keeps the default, 0.6:
        # the same hits and more candidates to check).
        conn.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"),
                     {"t": str(WORD_SIMILARITY)})
        hits = _by_address(conn, q, limit)
        if include_people:
            hits = _merged(hits, _by_holder_name(conn, q, limit), limit)
    hits = hits[:limit]
    return _with_holders(conn, hits) if include_people else hits


# --- the queries --------------------------------------------------------------------------------

_HIT_COLUMNS = ("v.parcel_id, v.ward_code, v.map_sheet, v.parcel_no, v.address, v.land_use_code, v.area_m2, "
                "v.parcel_key")
_HOLDER_KINDS_SQL = "(" + ", ".join(f"'{k}'" for k in HOLDER_KINDS) + ")"


def _hits(rows: Iterable[Row], matched: Matched) -> list[SearchHit]:
    return [SearchHit(parcel_id=r.parcel_id, ward_code=r.ward_code, map_sheet=r.map_sheet, parcel_no=r.parcel_no,
                      address=r.address, land_use_code=r.land_use_code, area_m2=float(r.area_m2), matched=matched,
                      score=round(float(r.score), 4)) for r in rows]


def _by_keys(conn: Connection, keys: list[ParcelKey], matched: Matched) -> list[SearchHit]:
    packed = [k.packed for k in keys if k.problem() is None]
    if not packed:
        return []
    rows = conn.execute(text(
        f"SELECT {_HIT_COLUMNS}, 1.0 AS score FROM parcel_versions v "
        "WHERE v.valid_to IS NULL AND v.parcel_key = ANY(:keys) ORDER BY v.parcel_id"), {"keys": packed})
    return _hits(rows, matched)


def _ward_codes(conn: Connection, ward: str) -> tuple[list[str], list[str]]:
    """(codes a parcel's key may have, codes of today's communes) that a code or a name designates.

    A code is both. A name designates the communes that have (or had) it; only those of today
    hold parcels by ``commune_code``, so an old ward's name whose code a new commune reuses does
    not bring in the new commune's parcels.
    """
    if re.fullmatch(r"\d{5}", ward):
        return [ward], [ward]
    rows = conn.execute(text(
        "SELECT code, bool_or(valid_to IS NULL) AS current FROM admin_units WHERE level = 'commune' AND "
        "regexp_replace(landflood_fold(name), '^(phuong|xa|thi tran|dac khu) ', '') = landflood_fold(:name) "
        "GROUP BY code ORDER BY code"), {"name": ward}).all()
    return [r.code for r in rows], [r.code for r in rows if r.current]


def _by_sheet(conn: Connection, query: _SheetQuery, limit: int) -> list[SearchHit]:
    """By the key (the old commune's code), or by today's commune with the sheet and number (0.9)."""
    if not (0 < query.sheet <= MAX_MAP_SHEET and 0 < query.number <= MAX_PARCEL_NO):
        return []  # no parcel has such a key; the numbers would not even fit the columns
    key_codes, communes = _ward_codes(conn, query.ward)
    if not key_codes:
        raise QueryError(f"no commune is called {query.ward!r}: give its 5-digit code or its name as the "
                         "administrative units list it (as 'Hàng Bạc' or 'phường Hàng Bạc')")
    keys = [k.packed for k in (ParcelKey(c, query.sheet, query.number) for c in key_codes) if k.problem() is None]
    rows = conn.execute(text(
        f"SELECT {_HIT_COLUMNS}, CASE WHEN v.parcel_key = ANY(:keys) THEN 1.0 ELSE 0.9 END AS score "
        "FROM parcel_versions v WHERE v.valid_to IS NULL AND (v.parcel_key = ANY(:keys) OR "
        "(v.commune_code = ANY(:codes) AND v.map_sheet = :sheet AND v.parcel_no = :number)) "
        "ORDER BY score DESC, v.parcel_id LIMIT :limit"),
        {"keys": keys, "codes": communes, "sheet": query.sheet, "number": query.number, "limit": limit})
    return _hits(rows, "sheet_number")


def _by_holders(conn: Connection, parties_sql: str, params: dict, matched: Matched, limit: int) -> list[SearchHit]:
    """The current parcels of the parties ``parties_sql`` selects (id, score), best first."""
    rows = conn.execute(text(f"""
        WITH p AS MATERIALIZED ({parties_sql})
        SELECT {_HIT_COLUMNS}, max(p.score) AS score
        FROM p JOIN rights r ON r.party_id = p.id AND r.valid_to IS NULL AND r.kind IN {_HOLDER_KINDS_SQL}
        JOIN parcel_versions v ON v.parcel_key = r.parcel_key AND v.valid_to IS NULL
        GROUP BY v.id ORDER BY score DESC, v.parcel_id LIMIT :limit"""), {**params, "limit": limit})
    return _hits(rows, matched)


def _by_id_number(conn: Connection, number: str, limit: int) -> list[SearchHit]:
    return _by_holders(conn, "SELECT id, 1.0 AS score FROM parties WHERE id_number = :number",
                       {"number": number}, "id_number", limit)


def _by_certificate(conn: Connection, serial: str, limit: int) -> list[SearchHit]:
    """The parcels whose right (current or past) carries this certificate; a past one ranks 0.9."""
    rows = conn.execute(text(f"""
        SELECT {_HIT_COLUMNS}, max(CASE WHEN r.valid_to IS NULL THEN 1.0 ELSE 0.9 END) AS score
        FROM rights r JOIN parcel_versions v ON v.parcel_key = r.parcel_key AND v.valid_to IS NULL
        WHERE landflood_code_key(r.certificate_no) = landflood_code_key(:serial)
        GROUP BY v.id ORDER BY score DESC, v.parcel_id LIMIT :limit"""), {"serial": serial, "limit": limit})
    return _hits(rows, "certificate")


def _similar(column: str) -> tuple[str, str]:
    """(condition, score) of a trigram match of the folded query on the folded ``column``.

    ``<%`` (word similarity above pg_trgm.word_similarity_threshold: WORD_SIMILARITY) is what the
    GIN index answers; the score weighs the best matching extent (word similarity) and the whole
    text's similarity, so that an exact text (1.0) ranks above a longer one that contains it.
    """
    folded = f"landflood_fold({column})"
    return (f"landflood_fold(:q) <% {folded}",
            f"0.8 * word_similarity(landflood_fold(:q), {folded}) + 0.2 * similarity(landflood_fold(:q), {folded})")


def _by_address(conn: Connection, q: str, limit: int) -> list[SearchHit]:
    condition, score = _similar("v.address")
    rows = conn.execute(text(
        f"SELECT {_HIT_COLUMNS}, {score} AS score FROM parcel_versions v "
        f"WHERE v.valid_to IS NULL AND {condition} ORDER BY score DESC, v.parcel_id LIMIT :limit"),
        {"q": q, "limit": limit})
    return _hits(rows, "address")


def _by_holder_name(conn: Connection, q: str, limit: int) -> list[SearchHit]:
    condition, score = _similar("full_name")
    return _by_holders(conn, f"SELECT id, {score} AS score FROM parties WHERE {condition}", {"q": q}, "holder",
                       limit)


def _merged(first: list[SearchHit], second: list[SearchHit], limit: int) -> list[SearchHit]:
    """Both lists' hits, each parcel once (its better match), best first, then by parcel id."""
    best: dict[str, SearchHit] = {}
    for hit in [*first, *second]:
        kept = best.get(hit.parcel_id)
        if kept is None or hit.score > kept.score:
            best[hit.parcel_id] = hit
    return sorted(best.values(), key=lambda h: (-h.score, h.parcel_id))[:limit]


def _with_holders(conn: Connection, hits: list[SearchHit]) -> list[SearchHit]:
    """Each hit with the names of its current holders (officers only)."""
    if not hits:
        return hits
    keys = [ParcelKey(h.ward_code, h.map_sheet, h.parcel_no).packed for h in hits]
    rows = conn.execute(text(f"""
        SELECT r.parcel_key, array_agg(DISTINCT p.full_name ORDER BY p.full_name) AS names
        FROM rights r JOIN parties p ON p.id = r.party_id
        WHERE r.parcel_key = ANY(:keys) AND r.valid_to IS NULL AND r.kind IN {_HOLDER_KINDS_SQL}
        GROUP BY r.parcel_key"""), {"keys": keys})
    names = {r.parcel_key: tuple(r.names) for r in rows}
    return [replace(h, holders=names.get(k, ())) for h, k in zip(hits, keys, strict=True)]
