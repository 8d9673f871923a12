"""CQL2 filters (text and JSON) to SQL, safely.

CQL2 text is parsed with our own grammar (``cql2_text.lark``, after OGC 21-065) because the
one pygeofilter ships lacks operator precedence, ``NOT (a OR b)``, the temporal functions and
open intervals; the tree is pygeofilter's AST either way, and CQL2 JSON is pygeofilter's parser
(the one pygeoapi uses) after a small normalisation.

The translation to SQL is ours: a property name is looked up in the collection's allow-list
(a hidden one is as unknown as a misspelt one), and every literal is a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import lark
from lark.visitors import Transformer_NonRecursive
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_json

from landdb.models import CITY_SRID
from landflood.errors import QueryError
from ogc_api import crs as crsmod
from ogc_api import geometries, limits
from ogc_api.collections import Collection

_FUNC_PREFIX = "lf_"
_TEMPORAL = {"t_after", "t_before", "t_intersects", "t_during", "t_equals", "t_disjoint", "t_contains",
             "t_starts", "t_finishes", "t_meets", "t_metby", "t_overlaps", "t_overlappedby",
             "t_startedby", "t_finishedby"}
_UNITS = {"meters": 1.0, "metres": 1.0, "m": 1.0, "kilometers": 1000.0, "km": 1000.0}
_COMPARISONS = {"=": ast.Equal, "<>": ast.NotEqual, "<": ast.LessThan, "<=": ast.LessEqual,
                ">": ast.GreaterThan, ">=": ast.GreaterEqual}
_SPATIAL = {"S_INTERSECTS": ast.GeometryIntersects, "S_DISJOINT": ast.GeometryDisjoint,
            "S_CONTAINS": ast.GeometryContains, "S_WITHIN": ast.GeometryWithin, "S_TOUCHES": ast.GeometryTouches,
            "S_CROSSES": ast.GeometryCrosses, "S_OVERLAPS": ast.GeometryOverlaps, "S_EQUALS": ast.GeometryEquals}


@cache
def _parser() -> lark.Lark:
    grammar = (Path(__file__).with_name("cql2_text.lark")).read_text(encoding="utf-8")
    return lark.Lark(grammar, parser="lalr", maybe_placeholders=False)


def parse(text: str | None = None, body: str | bytes | dict | None = None) -> ast.Node:
    """The filter as a pygeofilter tree; a :class:`QueryError` naming the bad part otherwise.

    Neither the text's parser nor its transformation recurse, and the tree is checked (without
    recursion) against ``limits.MAX_FILTER_DEPTH`` before anything walks it recursively.
    """
    if text is not None:
        try:
            tree = _ToAst().transform(_parser().parse(text))
        except lark.exceptions.UnexpectedInput as exc:
            raise QueryError(_lark_message(text, exc)) from exc
        except lark.exceptions.VisitError as exc:
            raise QueryError(f"filter: {exc.orig_exc}") from exc
    else:
        doc = limits.load_json(body, "the CQL2 JSON filter") if isinstance(body, (str, bytes)) else body
        if not isinstance(doc, (dict, bool)):
            raise QueryError(f"filter: a CQL2 JSON filter is an object such as {_JSON_EXAMPLE} (or true or false), "
                             f"not {json.dumps(doc)[:40]}")
        try:
            tree = parse_json(_rewrite_json(doc))
        except QueryError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            # pygeofilter's own words name its classes; ours say what to write.
            raise QueryError(f"filter: the CQL2 JSON cannot be read as an expression; write each operator as "
                             f"{_JSON_EXAMPLE}") from exc
    _check_shape(tree)
    return tree


def _children(node: Any) -> list[Any]:
    if isinstance(node, ast.Node):
        return list(node.get_sub_nodes() or [])
    if isinstance(node, (list, tuple)):
        return list(node)
    if isinstance(node, values.Interval):
        return [node.start, node.end]
    return []


def _check_shape(tree: Any) -> None:
    """Refuse a filter nested too deeply or with too many values (walked without recursion)."""
    stack, count = [(tree, 1)], 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > limits.MAX_FILTER_DEPTH:
            raise QueryError(f"filter: operators are nested more than {limits.MAX_FILTER_DEPTH} deep; simplify "
                             "it (for many alternatives of one property, use IN (...))")
        if count > limits.MAX_FILTER_VALUES:
            raise QueryError(f"filter: more than {limits.MAX_FILTER_VALUES:,} operators and values; simplify it")
        if isinstance(node, ast.In) and len(node.sub_nodes) > limits.MAX_IN_VALUES:
            raise QueryError(f"filter: an IN list holds {len(node.sub_nodes):,} values; at most "
                             f"{limits.MAX_IN_VALUES:,} are accepted")
        stack.extend((c, depth + 1) for c in _children(node))


def _lark_message(text: str, exc: lark.exceptions.UnexpectedInput) -> str:
    col = getattr(exc, "column", None) or len(text) + 1
    token = getattr(exc, "token", None)
    if token is not None and token.type == "$END":
        col = len(text) + 1
    near = text[max(col - 1, 0):col + 19]
    expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])
    hint = f"; expected one of {', '.join(e.lstrip('_') for e in expected[:8])}" if expected else ""
    where = f"near {near!r}" if near else "at the end"
    return f"filter: CQL2 text cannot be parsed at character {col}, {where}{hint}"


def _instant(text: str) -> dt.datetime | dt.date:
    text = text.strip("'")
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise QueryError(f"{text!r} is not an RFC 3339 date or timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _ring(coords: list) -> list:
    return [list(c) for c in coords]


class _ToAst(Transformer_NonRecursive):
    """The parse tree of ``cql2_text.lark`` as pygeofilter AST nodes."""

    def or_(self, a): return ast.Or(a[0], a[1])
    def and_(self, a): return ast.And(a[0], a[1])
    def not_(self, a): return ast.Not(a[-1])
    def comparison(self, a): return _COMPARISONS[str(a[1])](a[0], a[2])
    def bool_literal(self, a): return a[0]

    def like(self, a):
        return ast.Like(a[0], a[-1], nocase=False, wildcard="%", singlechar="_", escapechar="\\", not_=len(a) == 3)

    def between(self, a): return ast.Between(a[0], a[-2], a[-1], not_=len(a) == 4)

    def in_(self, a):
        negated = isinstance(a[1], lark.Token) and a[1].type == "NOT"
        return ast.In(a[0], a[2:] if negated else a[1:], not_=negated)

    def is_null(self, a): return ast.IsNull(a[0], not_=len(a) == 2)
    def spatial(self, a): return _SPATIAL[str(a[0]).upper()](a[1], a[2])

    def dwithin(self, a):
        factor: float | None = 1.0
        if len(a) == 4:
            factor = _UNITS.get(a[3].lower())
            if factor is None:
                raise QueryError(f"S_DWITHIN units {a[3]!r} are not supported; use meters or kilometers")
        return ast.Function(_FUNC_PREFIX + "s_dwithin", [a[0], a[1], a[2] * factor])

    def temporal(self, a):
        name = str(a[0]).lower()
        return ast.Function(_FUNC_PREFIX + name, [a[1], a[2]])

    def function(self, a): return ast.Function(str(a[0]).lower(), list(a[1:]))
    def property(self, a): return ast.Attribute(str(a[0]).strip('"'))
    def string(self, a): return str(a[0])[1:-1].replace("''", "'")
    def unit(self, a): return str(a[0]).strip("'")

    def number(self, a):
        text = str(a[0])
        value = float(text) if any(c in text for c in ".eE") else int(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise QueryError(f"{text} is too large a number")
        return value

    def boolean(self, a): return str(a[0]).upper() == "TRUE"
    def timestamp(self, a): return _instant(str(a[0]))
    def date(self, a): return _instant(str(a[0]))

    def bound(self, a):
        v = a[0]
        if isinstance(v, lark.Token):
            return None if str(v).strip("'") in ("..", "") else _instant(str(v))
        return v

    def interval(self, a): return values.Interval(a[0], a[1])
    def coord(self, a): return tuple(float(v) for v in a)
    def coords(self, a): return list(a)
    def rings(self, a): return [_ring(r) for r in a]
    def point(self, a): return values.Geometry({"type": "Point", "coordinates": list(a[0])})
    def linestring(self, a): return values.Geometry({"type": "LineString", "coordinates": _ring(a[0])})
    def polygon(self, a): return values.Geometry({"type": "Polygon", "coordinates": a[0]})
    def multipoint(self, a): return values.Geometry({"type": "MultiPoint", "coordinates": [list(c) for c in a]})

    def multilinestring(self, a):
        return values.Geometry({"type": "MultiLineString", "coordinates": [_ring(c) for c in a]})

    def multipolygon(self, a): return values.Geometry({"type": "MultiPolygon", "coordinates": list(a)})

    def collection(self, a):
        return values.Geometry({"type": "GeometryCollection", "geometries": [g.geometry for g in a]})

    def bbox(self, a):
        n = list(a)
        x1, y1, x2, y2 = (n[0], n[1], n[2], n[3]) if len(n) == 4 else (n[0], n[1], n[3], n[4])
        return values.Envelope(x1, x2, y1, y2)


_JSON_EXAMPLE = '{"op": "=", "args": [{"property": "land_use"}, "ODT"]}'
#: How many arguments each CQL2 JSON operator takes (at least that many for and/or).
_ARITY = {**dict.fromkeys(("=", "<>", "<", "<=", ">", ">=", "like", "in", *(n.lower() for n in _SPATIAL)), 2),
          **dict.fromkeys(_TEMPORAL, 2), "between": 3, "s_dwithin": 3, "not": 1, "isnull": 1, "and": 2, "or": 2}


def _rewrite_json(node: Any) -> Any:
    if isinstance(node, list):
        return [_rewrite_json(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "op" in node:
        op, raw = str(node["op"]).lower(), node.get("args", [])
        if not isinstance(raw, list):
            raise QueryError(f"filter: the args of {op!r} must be a list, as in {_JSON_EXAMPLE}")
        want = _ARITY.get(op)
        if want is not None and (len(raw) < want if op in ("and", "or") else len(raw) != want):
            many = f"at least {want}" if op in ("and", "or") else str(want)
            raise QueryError(f"filter: {op!r} takes {many} argument(s), not {len(raw)}")
        args = _rewrite_json(raw)
        if op in _TEMPORAL or op == "s_dwithin":
            return {"function": {"name": _FUNC_PREFIX + op, "arguments": args}}
        if op == "between" and len(args) == 3:
            args = [args[0], [args[1], args[2]]]
        return {**node, "op": op, "args": args}
    if "interval" in node:  # open ends ('..') are None for pygeofilter
        ends = node["interval"]
        if not isinstance(ends, list) or len(ends) != 2 or not all(isinstance(v, str) for v in ends):
            raise QueryError("filter: an interval's ends are dates or timestamps (or '..' for open), such as "
                             '{"interval": ["2024-01-01", ".."]}')
        return {"interval": [None if v == ".." else v for v in ends]}
    return {k: _rewrite_json(v) for k, v in node.items()}


#: The kind of each property type, for checking that a comparison makes sense.
_KINDS = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
          "date-time": "timestamp", "date": "timestamp"}
_KIND_NAMES = {"string": "text", "number": "a number", "boolean": "a boolean", "timestamp": "a date or time",
               "null": "NULL"}
#: Spatial predicates for which a geometry may be cut to the city CRS's region (``ogc_api.geometries``):
#: (predicate, side of the literal geometry), "any" for symmetric ones.
_CUT_OK = {("INTERSECTS", "any"), ("DISJOINT", "any"), ("DWITHIN", "any"), ("WITHIN", "rhs"), ("CONTAINS", "lhs")}
#: What a cut-away geometry (wholly outside the region) gives each predicate for stored features.
_OUTSIDE = {"DISJOINT": "TRUE"}


class Translator:
    """Turns a pygeofilter tree into a SQL condition with psycopg named parameters.

    Every value is checked against the kind of what it is compared with (a map sheet is a
    number, a date is a date), so that a mismatch is a 400 naming both, never a database error.
    """

    def __init__(self, coll: Collection, officer: bool, lang: str, filter_crs: crsmod.Crs,
                 params: dict[str, Any]) -> None:
        self.coll, self.officer, self.lang, self.filter_crs = coll, officer, lang, filter_crs
        self.params = params

    def bind(self, value: Any) -> str:
        if len(self.params) >= limits.MAX_FILTER_VALUES:
            raise QueryError(f"filter: more than {limits.MAX_FILTER_VALUES:,} values; simplify it")
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    def property_sql(self, name: str, for_what: str = "filter") -> str:
        """The SQL of a queryable property; unknown and hidden properties are the same error."""
        return self._property(name, for_what)[0]

    def _property(self, name: str, for_what: str = "filter") -> tuple[str, str]:
        prop = self.coll.prop(name)
        if prop is None or (prop.officer and not self.officer) or not prop.queryable:
            names = [p.name for p in self.coll.visible(self.officer) if p.queryable]
            raise QueryError(f"{for_what}: {self.coll.id} has no queryable property {name!r}; "
                             f"use one of: {', '.join(names)}")
        return prop.sql.format(lang=self.lang), _KINDS.get(prop.type, "string")

    def sql(self, node: Any) -> str:
        if isinstance(node, ast.And):
            return f"({self.sql(node.lhs)} AND {self.sql(node.rhs)})"
        if isinstance(node, ast.Or):
            return f"({self.sql(node.lhs)} OR {self.sql(node.rhs)})"
        if isinstance(node, ast.Not):
            return f"(NOT {self.sql(node.sub_node)})"
        if isinstance(node, ast.Function) and node.name.startswith(_FUNC_PREFIX):
            return self._function_predicate(node)
        if isinstance(node, ast.Equal) and isinstance(node.lhs, ast.Function) \
                and node.lhs.name.startswith(_FUNC_PREFIX) and node.rhs is True:
            return self._function_predicate(node.lhs)
        if isinstance(node, ast.Comparison):
            lhs, rhs = self._pair(node.lhs, node.rhs, node.op.value)
            return f"({lhs} {node.op.value} {rhs})"
        if isinstance(node, ast.Like):
            (lhs, kind), (pattern, pkind) = self.value(node.lhs), self.value(node.pattern)
            if kind != "string" or pkind != "string":
                wrong = kind if kind != "string" else pkind
                raise QueryError(f"filter: LIKE compares text with a text pattern, not {_KIND_NAMES.get(wrong, wrong)}")
            op = "ILIKE" if node.nocase else "LIKE"
            return f"({lhs} {'NOT ' if node.not_ else ''}{op} {pattern})"
        if isinstance(node, ast.In):
            lhs, kind = self.value(node.lhs)
            items = ", ".join(self._as(kind, v, "IN") for v in node.sub_nodes)
            return f"({lhs} {'NOT ' if node.not_ else ''}IN ({items}))"
        if isinstance(node, ast.Between):
            lhs, kind = self.value(node.lhs)
            if kind not in ("number", "timestamp"):
                raise QueryError(f"filter: BETWEEN needs numbers or dates, and {_describe(node.lhs)} is "
                                 f"{_KIND_NAMES.get(kind, kind)}")
            low, high = self._as(kind, node.low, "BETWEEN"), self._as(kind, node.high, "BETWEEN")
            return f"({lhs} {'NOT ' if node.not_ else ''}BETWEEN {low} AND {high})"
        if isinstance(node, ast.IsNull):
            return f"({self.value(node.lhs)[0]} IS {'NOT ' if node.not_ else ''}NULL)"
        if isinstance(node, ast.SpatialComparisonPredicate):
            fn = {"INTERSECTS": "ST_Intersects", "DISJOINT": "ST_Disjoint", "CONTAINS": "ST_Contains",
                  "WITHIN": "ST_Within", "TOUCHES": "ST_Touches", "CROSSES": "ST_Crosses",
                  "OVERLAPS": "ST_Overlaps", "EQUALS": "ST_Equals"}[node.op.value]
            left = self.geometry(node.lhs, node.op.value, "lhs")
            right = self.geometry(node.rhs, node.op.value, "rhs")
            if left is None or right is None:
                return _OUTSIDE.get(node.op.value, "FALSE")
            return f"{fn}({left}, {right})"
        if isinstance(node, ast.TemporalPredicate):
            name = {"BEFORE": "t_before", "AFTER": "t_after", "DURING": "t_during", "TEQUALS": "t_equals",
                    "TOVERLAPS": "t_intersects", "DISJOINT": "t_disjoint"}.get(node.op.value)
            if name is None:
                raise QueryError(f"filter: temporal predicate {node.op.value} is not supported")
            return self._temporal(name, [node.lhs, node.rhs])
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        raise QueryError(f"filter: {type(node).__name__} is not supported here")

    def value(self, node: Any) -> tuple[str, str]:
        """(SQL, kind) of a scalar: a property, a literal, CASEI/lower() or arithmetic."""
        if isinstance(node, ast.Attribute):
            return self._property(node.name)
        if isinstance(node, ast.Function):
            if node.name.lower() in ("lower", "casei"):
                if len(node.arguments) != 1:
                    raise QueryError(f"filter: {node.name.upper()}() takes one argument")
                sql, kind = self.value(node.arguments[0])
                if kind != "string":
                    raise QueryError(f"filter: {node.name.upper()}() takes text, not {_KIND_NAMES.get(kind, kind)}")
                return f"lower({sql})", "string"
            raise QueryError(f"filter: function {node.name}() is not supported; use CASEI() or lower()")
        if isinstance(node, ast.Arithmetic):
            (left, a), (right, b) = self.value(node.lhs), self.value(node.rhs)
            if a != "number" or b != "number":
                raise QueryError(f"filter: {node.op.value} needs numbers on both sides")
            return f"({left} {node.op.value} {right}::numeric)", "number"
        if isinstance(node, (values.Geometry, values.Envelope)):
            raise QueryError("filter: a geometry can only be compared with S_* spatial predicates")
        literal = _literal_kind(node)
        if literal is None:
            raise QueryError(f"filter: {_describe(node)} is not a value this API understands")
        if literal == "number" and not math.isfinite(float(node)):
            raise QueryError("filter: numbers must be finite")
        return self.bind(node), literal

    def _pair(self, a: Any, b: Any, op: str) -> tuple[str, str]:
        """Both sides of a comparison, the literal one read as the kind of the other."""
        if _literal_kind(b) is not None and _literal_kind(a) is None:
            lhs, kind = self.value(a)
            return lhs, self._as(kind, b, op)
        if _literal_kind(a) is not None and _literal_kind(b) is None:
            rhs, kind = self.value(b)
            return self._as(kind, a, op), rhs
        (lhs, ka), (rhs, kb) = self.value(a), self.value(b)
        if ka != kb and "null" not in (ka, kb):
            raise QueryError(f"filter: {op} compares {_describe(a)} ({_KIND_NAMES.get(ka, ka)}) with "
                             f"{_describe(b)} ({_KIND_NAMES.get(kb, kb)})")
        return lhs, rhs

    def _as(self, kind: str, node: Any, op: str) -> str:
        """A literal bound as ``kind`` (a date string as a timestamp), or a 400 naming both."""
        if _literal_kind(node) is None:
            sql, other = self.value(node)
            if other != kind:
                raise QueryError(f"filter: {op} mixes {_KIND_NAMES.get(kind, kind)} with {_describe(node)}")
            return sql
        have = _literal_kind(node)
        if have == "null" or have == kind:
            return self.value(node)[0]
        if kind == "timestamp" and have == "string":
            return f"{self.bind(_instant(node))}::timestamptz"
        raise QueryError(f"filter: {op} compares {_KIND_NAMES.get(kind, kind)} with {_describe(node)} "
                         f"({_KIND_NAMES.get(have or '', have)})")

    def geometry(self, node: Any, predicate: str = "INTERSECTS", side: str = "rhs") -> str | None:
        """SQL of a geometry operand in the city CRS; None for a literal wholly outside the region
        the city's data can lie in (see ``ogc_api.geometries``)."""
        if isinstance(node, ast.Attribute):
            if node.name.lower() not in ("geometry", "geom", "the_geom"):
                raise QueryError(f"filter: spatial predicates compare the geometry, not {node.name!r}")
            return self.coll.geom
        if isinstance(node, values.Geometry):
            geom = geometries.from_geojson(node.geometry, "filter")
        elif isinstance(node, values.Envelope):
            geom = self._box([node.x1, node.y1, node.x2, node.y2])
        elif isinstance(node, ast.Function) and node.name.lower() == "bbox" and len(node.arguments) == 4:
            geom = self._box(list(node.arguments))
        else:
            raise QueryError(f"filter: {_describe(node)} is not a geometry")
        cut = (predicate, "any") in _CUT_OK or (predicate, side) in _CUT_OK
        part = geometries.in_request_crs(geom, self.filter_crs, "filter", cut)
        if part is None:
            return None
        return f"ST_Transform(ST_GeomFromWKB({self.bind(part.wkb)}, {self.filter_crs.srid}), {CITY_SRID})"

    def _box(self, numbers: list[Any]) -> Any:
        if not all(_literal_kind(n) == "number" for n in numbers):
            raise QueryError("filter: BBOX takes four numbers")
        # The same rules as the bbox parameter.
        values_ = geometries.parse_bbox(",".join(repr(float(n)) for n in numbers), self.filter_crs)
        return geometries.bbox_geometry(values_, self.filter_crs)

    def _function_predicate(self, node: ast.Function) -> str:
        name = node.name[len(_FUNC_PREFIX):].lower()
        if name == "s_dwithin":
            if len(node.arguments) != 3:
                raise QueryError("filter: S_DWITHIN takes (geometry, geometry, distance in meters)")
            a, b, dist = node.arguments
            if _literal_kind(dist) != "number" or not 0 <= float(dist) <= geometries.MAX_DISTANCE_M:
                raise QueryError(f"filter: S_DWITHIN's distance must be a number of metres from 0 to "
                                 f"{geometries.MAX_DISTANCE_M:,.0f}")
            lhs, rhs = self.geometry(a, "DWITHIN"), self.geometry(b, "DWITHIN")
            if lhs is None or rhs is None:
                return "FALSE"
            # Distances in metres on the VN-2000 plane (scale error under 0.01% across Hanoi).
            return f"ST_DWithin({lhs}, {rhs}, {self.bind(float(dist))}::float8)"
        if len(node.arguments) != 2:
            raise QueryError(f"filter: {name.upper()} takes two arguments")
        return self._temporal(name, node.arguments)

    def _bound(self, value: Any) -> str | None:
        """SQL of one end of an interval: None when open ('..')."""
        if value in (None, ".."):
            return None
        if isinstance(value, str):
            value = _instant(value)
        if not isinstance(value, (dt.datetime, dt.date)):
            raise QueryError(f"filter: an interval's ends are dates or timestamps (or '..' for open), not "
                             f"{_describe(value)}")
        return f"{self.bind(value)}::timestamptz"

    def _range(self, node: Any) -> str:
        """A tstzrange for a temporal operand (an instant is a range with both bounds included)."""
        if isinstance(node, values.Interval):
            start, end = self._bound(node.start), self._bound(node.end)
            return (f"tstzrange({start or chr(39) + '-infinity' + chr(39) + '::timestamptz'}, "
                    f"{end or chr(39) + 'infinity' + chr(39) + '::timestamptz'}, '[]')")
        if isinstance(node, ast.Attribute):
            sql, kind = self._property(node.name)
            if kind != "timestamp":
                raise QueryError(f"filter: {node.name!r} is not a date or time")
            return f"tstzrange({sql}::timestamptz, {sql}::timestamptz, '[]')"
        if isinstance(node, (dt.datetime, dt.date)):
            v = self.bind(node)
            return f"tstzrange({v}::timestamptz, {v}::timestamptz, '[]')"
        raise QueryError(f"filter: {_describe(node)} is not an instant or an interval")

    def _temporal(self, name: str, args: list[Any]) -> str:
        a, b = (self._range(x) for x in args)
        sql = {
            "t_intersects": f"({a} && {b})", "t_disjoint": f"NOT ({a} && {b})",
            "t_before": f"(upper({a}) < lower({b}))", "t_after": f"(lower({a}) > upper({b}))",
            "t_during": f"({b} @> {a})", "t_contains": f"({a} @> {b})", "t_equals": f"({a} = {b})",
            "t_starts": f"(lower({a}) = lower({b}) AND upper({a}) < upper({b}))",
            "t_finishes": f"(upper({a}) = upper({b}) AND lower({a}) > lower({b}))",
            "t_meets": f"(upper({a}) = lower({b}))", "t_metby": f"(lower({a}) = upper({b}))",
            "t_overlaps": f"(lower({a}) < lower({b}) AND upper({a}) > lower({b}) AND upper({a}) < upper({b}))",
            "t_overlappedby": f"(lower({b}) < lower({a}) AND upper({b}) > lower({a}) AND upper({b}) < upper({a}))",
            "t_startedby": f"(lower({a}) = lower({b}) AND upper({a}) > upper({b}))",
            "t_finishedby": f"(upper({a}) = upper({b}) AND lower({a}) < lower({b}))",
        }.get(name)
        if sql is None:
            raise QueryError(f"filter: {name.upper()} is not supported")
        return sql


def _literal_kind(node: Any) -> str | None:
    """The kind of a literal value, or None when ``node`` is not a literal."""
    if node is None:
        return "null"
    if isinstance(node, bool):
        return "boolean"
    if isinstance(node, (int, float)):
        return "number"
    if isinstance(node, str):
        return "string"
    if isinstance(node, (dt.datetime, dt.date)):
        return "timestamp"
    return None


def _describe(node: Any) -> str:
    """A short name for a filter operand, for messages."""
    if isinstance(node, ast.Attribute):
        return f"property {node.name!r}"
    if isinstance(node, ast.Function):
        return f"{node.name}()"
    if _literal_kind(node) is not None:
        text = repr(node)
        return text if len(text) <= 40 else text[:40] + "…"
    return type(node).__name__
