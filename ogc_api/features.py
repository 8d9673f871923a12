"""Feature queries: request parameters to one SQL statement that returns the page as GeoJSON.

The page is built in PostgreSQL (``json_build_object``/``ST_AsGeoJSON``) and passed through
as text: no feature is parsed or serialised in Python. Paging follows the sort key (keyset)
when the client follows our ``next`` links, so deep pages cost as little as the first.
``numberMatched`` is exact when the planner expects few rows and the planner's estimate
otherwise (the response then says ``numberMatchedIsEstimate``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import psycopg

from landdb.models import CITY_SRID
from landflood.errors import NotFoundError, QueryError
from ogc_api import cql, geometries, limits
from ogc_api import crs as crsmod
from ogc_api.collections import Collection, Prop
from ogc_api.db import Pools

RESERVED = {"f", "lang", "limit", "offset", "cursor", "bbox", "bbox-crs", "crs", "datetime", "properties",
            "sortby", "skipGeometry", "filter", "filter-lang", "filter-crs", "resulttype", "q"}
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
EXACT_COUNT_BELOW = 50_000  # planner estimate under which numberMatched is counted exactly
_OPEN = ("..", "")


@dataclass
class ItemsQuery:
    coll: Collection
    officer: bool = False
    lang: str = "vi"
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    cursor: int | None = None
    bbox: list[float] | None = None
    bbox_crs: crsmod.Crs = crsmod.SUPPORTED[0]
    datetime: tuple[dt.datetime | None, dt.datetime | None] | None = None
    equals: list[tuple[str, str]] = field(default_factory=list)
    properties: list[str] | None = None
    sortby: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    skip_geometry: bool = False
    filter: Any = None
    filter_crs: crsmod.Crs = crsmod.SUPPORTED[0]
    out_crs: crsmod.Crs = crsmod.SUPPORTED[0]


def _int(args: dict, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise QueryError(f"{name}={raw!r} is not an integer") from None
    if value < low or (high is not None and value > high):
        raise QueryError(f"{name}={value} is out of range ({low}..{high if high is not None else ''})")
    return value


def parse_datetime(raw: str | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """An instant (start == end) or an interval with open ends as None, from RFC 3339 text."""
    if raw in (None, ""):
        return None

    def one(text: str) -> dt.datetime | None:
        if text in _OPEN:
            return None
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise QueryError(f"datetime={raw!r}: {text!r} is not an RFC 3339 date or date-time "
                             "(for example 2025-09-30T08:00:00Z, or an interval start/end with .. for open)") from None
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

    if "/" in raw:
        start, end = raw.split("/", 1)
        interval = (one(start), one(end))
        if interval[0] and interval[1] and interval[0] > interval[1]:
            raise QueryError(f"datetime={raw!r}: the interval ends before it starts")
        return interval
    instant = one(raw)
    return (instant, instant)


def parse_items_args(coll: Collection, args: dict[str, str], officer: bool, lang: str,
                     body: bytes | None = None) -> ItemsQuery:
    """Validate the query parameters of ``/items``; a :class:`QueryError` names the bad one."""
    q = ItemsQuery(coll=coll, officer=officer, lang=lang)
    q.limit = _int(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    q.offset = _int(args, "offset", 0, 0, limits.MAX_OFFSET)
    if args.get("cursor"):
        q.cursor = _int(args, "cursor", 0, -2**63, 2**63 - 1)
    q.out_crs = crsmod.parse(args.get("crs"), "crs")
    q.bbox_crs = crsmod.parse(args.get("bbox-crs"), "bbox-crs")
    q.filter_crs = crsmod.parse(args.get("filter-crs"), "filter-crs")
    if args.get("bbox"):
        q.bbox = geometries.parse_bbox(args["bbox"], q.bbox_crs)
    elif "bbox-crs" in args:
        raise QueryError("bbox-crs was given without bbox")
    q.datetime = parse_datetime(args.get("datetime"))
    if q.datetime and not coll.time_start:
        raise QueryError(f"datetime: {coll.id} has no time; leave datetime out")
    visible = {p.name for p in coll.visible(officer)}
    if args.get("properties"):
        q.properties = [p.strip() for p in args["properties"].split(",") if p.strip()]
        unknown = [p for p in q.properties if p not in visible]
        if unknown:
            raise QueryError(f"properties: {coll.id} has no property {', '.join(map(repr, unknown))}; "
                             f"use some of: {', '.join(sorted(visible))}")
    for item in filter(None, (s.strip() for s in args.get("sortby", "").split(","))):
        name = item.lstrip("+-")
        q.sortby.append((name, item.startswith("-")))
    skip = str(args.get("skipGeometry") or "false").lower()
    if skip not in ("true", "false"):
        raise QueryError(f"skipGeometry={args['skipGeometry']!r} must be true or false")
    q.skip_geometry = skip == "true"
    lang_filter = (args.get("filter-lang") or "").lower()
    if lang_filter not in ("", "cql2-text", "cql2-json", "cql-text", "cql-json"):
        raise QueryError(f"filter-lang={args['filter-lang']!r} is not supported; use cql2-text or cql2-json")
    if args.get("filter"):
        q.filter = cql.parse(body=args["filter"]) if "json" in lang_filter else cql.parse(text=args["filter"])
    elif body:
        q.filter = cql.parse(body=body)
    for name, value in args.items():
        if name not in RESERVED:
            q.equals.append((name, value))
    return q


def _where(q: ItemsQuery, params: dict[str, Any]) -> list[str]:
    coll, tr = q.coll, cql.Translator(q.coll, q.officer, q.lang, q.filter_crs, params)
    where: list[str] = []
    if q.datetime is not None and coll.time_start:
        start, end = q.datetime
        end_sql = coll.time_end or coll.time_start
        if start is not None and start == end:  # an instant: what was valid then
            where.append(f"{coll.time_start} <= {tr.bind(start)} "
                         f"AND ({end_sql} IS NULL OR {end_sql} > {tr.bind(start)})"
                         if coll.time_end else f"{coll.time_start} = {tr.bind(start)}")
        else:
            if start is not None:
                where.append(f"({end_sql} IS NULL OR {end_sql} >= {tr.bind(start)})")
            if end is not None:
                where.append(f"{coll.time_start} <= {tr.bind(end)}")
    elif coll.current:
        where.append(coll.current)
    if q.bbox:
        box = geometries.in_request_crs(geometries.bbox_geometry(q.bbox, q.bbox_crs), q.bbox_crs, "bbox", cut=True)
        if box is None:  # wholly outside the region the city's data can lie in
            where.append("FALSE")
        else:
            env = f"ST_Transform(ST_GeomFromWKB({tr.bind(box.wkb)}, {q.bbox_crs.srid}), {CITY_SRID})"
            where.append(f"{coll.geom} && {env} AND ST_Intersects({coll.geom}, {env})")
    for name, value in q.equals:
        prop = coll.prop(name)
        sql = tr.property_sql(name, "query parameter")
        where.append(f"{sql}::text = {tr.bind(value)}" if prop and prop.type != "string"
                     else f"{sql} = {tr.bind(value)}")
    if q.filter is not None:
        where.append(tr.sql(q.filter))
    return where or ["TRUE"]


def _geometry_sql(coll: Collection, out: crsmod.Crs) -> str:
    geom = coll.geom if out.srid == CITY_SRID else f"ST_Transform({coll.geom}, {out.srid})"
    if out.flip:
        geom = f"ST_FlipCoordinates({geom})"
    digits = 9 if out.srid == 4326 else 4  # 1e-9 degree and 0.1 mm: both well under 1 mm
    return f"ST_AsGeoJSON({geom}, {digits}, 0)::json"  # 0: no 'crs' member (Content-Crs says it)


def _props_sql(q: ItemsQuery, props: tuple[Prop, ...]) -> str:
    pairs = ", ".join(f"'{p.name}', {p.sql.format(lang=q.lang)}" for p in props)
    return f"json_build_object({pairs})"


def selected_props(q: ItemsQuery) -> tuple[Prop, ...]:
    props = q.coll.visible(q.officer)
    if q.properties is not None:
        props = tuple(p for p in props if p.name in q.properties)
    return props


def _order(q: ItemsQuery, params: dict[str, Any]) -> tuple[str, bool]:
    """ORDER BY, and whether keyset paging on the collection's key applies."""
    if not q.sortby:
        return q.coll.key, True
    tr = cql.Translator(q.coll, q.officer, q.lang, q.filter_crs, params)
    parts = [f"{tr.property_sql(name, 'sortby')} {'DESC' if desc else 'ASC'} NULLS LAST" for name, desc in q.sortby]
    return ", ".join(parts + [q.coll.key]), False


def query_items(pools: Pools, q: ItemsQuery) -> dict[str, Any]:
    """One page: ``features`` (GeoJSON text of the array), ``returned``, ``last_key``, ``matched``."""
    params: dict[str, Any] = {}
    where = _where(q, params)
    order, keyset = _order(q, params)
    offset = q.offset
    cursor = ""
    if keyset and q.cursor is not None:
        cursor = f" AND {q.coll.key} > %(cursor)s"
        params["cursor"], offset = q.cursor, 0
    params.update(limit=q.limit, offset=offset)
    geometry = "NULL::json" if q.skip_geometry else _geometry_sql(q.coll, q.out_crs)
    select = (f"SELECT {q.coll.id_sql} AS id, {q.coll.key} AS k, {_props_sql(q, selected_props(q))} AS props, "
              f"{geometry} AS geometry FROM {q.coll.source}")
    matches = f"SELECT {q.coll.key} AS k FROM {q.coll.source} WHERE {' AND '.join(where)}"
    with pools.read() as conn:
        estimate = _estimate(conn, matches, params)
        exact = estimate < EXACT_COUNT_BELOW
        if exact and keyset:
            # The filter (a bbox's ST_Intersects, say) runs once: the keys of all matches are
            # counted, and the page's rows are looked up by key.
            after = " AND k > %(cursor)s" if cursor else ""
            page = (f"{select} WHERE {q.coll.key} IN (SELECT k FROM matched WHERE TRUE{after} "
                    f"ORDER BY k LIMIT %(limit)s OFFSET %(offset)s) ORDER BY {order}")
        else:
            page = f"{select} WHERE {' AND '.join(where)}{cursor} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s"
        ctes = (f"matched AS MATERIALIZED ({matches}), " if exact else "") + f"page AS ({page})"
        sql = f"""
            WITH {ctes}
            SELECT coalesce(json_agg(json_build_object('type', 'Feature', 'id', id, 'geometry', geometry,
                                                       'properties', props) ORDER BY rn)::text, '[]'),
                   count(*), (array_agg(k ORDER BY rn DESC))[1],
                   {'(SELECT count(*) FROM matched)' if exact else 'NULL::bigint'}
            FROM (SELECT *, row_number() OVER () AS rn FROM page) p"""
        row = conn.execute(sql, params).fetchone()
        assert row is not None  # an aggregate: always one row
        features, returned, last_key, matched = row
    return {"features": features, "returned": returned, "last_key": last_key if keyset else None,
            "matched": matched if exact else estimate, "matched_exact": exact}


def _estimate(conn: psycopg.Connection, matches: str, params: dict[str, Any]) -> int:
    """The planner's estimate of the number of matches (one EXPLAIN, no execution)."""
    row = conn.execute(f"EXPLAIN (FORMAT JSON) {matches}", params).fetchone()
    assert row is not None
    plan = row[0]
    return int(plan[0]["Plan"]["Plan Rows"])


def get_item(pools: Pools, coll: Collection, fid: str, officer: bool, lang: str,
             out: crsmod.Crs) -> tuple[str, str]:
    """One feature as GeoJSON text, and its ETag (which changes whenever the feature does)."""
    q = ItemsQuery(coll=coll, officer=officer, lang=lang, out_crs=out)
    sql = f"""
        SELECT json_build_object('type', 'Feature', 'id', {coll.id_sql}, 'geometry', {_geometry_sql(coll, out)},
                                 'properties', {_props_sql(q, selected_props(q))})::text,
               md5(row({coll.key}, {coll.source.split()[1]}.*)::text)
        FROM {coll.source} WHERE {coll.id_where.replace('%(id)s', '%(fid)s')} LIMIT 1"""
    with pools.read() as conn:
        row = conn.execute(sql, {"fid": fid}).fetchone()
    if row is None:
        raise NotFoundError(f"{coll.id} has no feature {fid!r}")
    return row[0], f'"{row[1]}"'



def page_links(base: str, args: dict[str, str], q: ItemsQuery, page: dict[str, Any], fmt: str) -> list[dict]:
    """self/alternate/next/prev links; next carries the keyset cursor when it applies."""
    keep = {k: v for k, v in args.items() if k not in ("f", "offset", "cursor")}

    def href(extra: dict[str, Any], f: str) -> str:
        return f"{base}?{urlencode({**keep, **extra, 'f': f})}"

    links = [
        {"rel": "self", "type": "application/geo+json", "title": "This document as GeoJSON",
         "href": href({"offset": q.offset, **({"cursor": q.cursor} if q.cursor is not None else {})}, "json")},
        {"rel": "alternate", "type": "text/html", "title": "This document as HTML",
         "href": href({"offset": q.offset}, "html")},
    ]
    more = page["returned"] == q.limit and (page["matched"] > q.offset + q.limit or not page["matched_exact"])
    if more:
        extra = {"offset": q.offset + q.limit}
        if page["last_key"] is not None:
            extra["cursor"] = page["last_key"]
        links.append({"rel": "next", "type": "application/geo+json" if fmt == "json" else "text/html",
                      "title": "Next page", "href": href(extra, fmt)})
    if q.offset > 0:
        links.append({"rel": "prev", "type": "application/geo+json" if fmt == "json" else "text/html",
                      "title": "Previous page", "href": href({"offset": max(0, q.offset - q.limit)}, fmt)})
    return links


def feature_collection_text(page: dict[str, Any], links: list[dict]) -> str:
    """The response body: the features text from PostgreSQL, spliced in unparsed."""
    meta = {"numberReturned": page["returned"], "numberMatched": page["matched"]}
    if not page["matched_exact"]:
        meta["numberMatchedIsEstimate"] = True
    meta["timeStamp"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta["links"] = links
    return '{"type":"FeatureCollection","features":' + page["features"] + "," + json.dumps(meta, ensure_ascii=False)[1:]
