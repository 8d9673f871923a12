"""The bounds of what one request may ask, in one place (the README's "Limits" lists them).

Each bound keeps an anonymous request from costing the service more than a few seconds or a few
megabytes; a request beyond one is refused with a 4xx that names the bound, before any work.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Request

from landflood.errors import QueryError, UriTooLongError

#: Request bodies (a parcel written, a CQL2 JSON filter, a process's inputs); 413 beyond.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: The query string (a CQL2 text filter with its geometry included); 414 beyond.
MAX_QUERY_BYTES = 64 * 1024
#: Nesting of a JSON body (arrays and objects within each other).
MAX_JSON_DEPTH = 256
#: Nesting of a filter's operators (NOT, AND, OR, comparisons, functions, arithmetic).
MAX_FILTER_DEPTH = 100
#: Vertices of one geometry given in a request (a filter, EDR coords, a process input).
MAX_VERTICES = 10_000
#: Values of one IN list, and bound values of a whole filter.
MAX_IN_VALUES = 1_000
MAX_FILTER_VALUES = 10_000
#: ``offset`` (deep pages cost a scan: follow the ``next`` links, which page by key, instead).
MAX_OFFSET = 1_000_000_000


def load_json(data: bytes | str, what: str) -> Any:
    """Parse a request's JSON, refusing text that is not UTF-8 or JSON, or is nested too deeply."""
    try:
        doc = json.loads(data, parse_constant=_no_constant)
    except _NotJson as exc:
        raise QueryError(f"{what}: {exc} is not a JSON number; send a finite number") from None
    except UnicodeDecodeError:
        raise QueryError(f"{what} is not UTF-8 text; send JSON encoded as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise QueryError(f"{what} is not JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:
        raise QueryError(f"{what} is nested more than {MAX_JSON_DEPTH} levels deep") from None
    check_depth(doc, what)
    return doc


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> None:
    raise _NotJson(name)  # NaN, Infinity: Python's json accepts them, RFC 8259 does not


def check_depth(doc: Any, what: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse a parsed JSON value nested more than ``limit`` levels (walked without recursion)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise QueryError(f"{what} is nested more than {limit} levels deep")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def check_request(request: Request) -> None:
    """Refuse what no route can use: an over-long query string, NUL characters (PostgreSQL text
    cannot hold them) in the path, the parameters or a form."""
    if len(request.query_string) > MAX_QUERY_BYTES:
        raise UriTooLongError(f"the query string has {len(request.query_string):,} bytes; at most "
                              f"{MAX_QUERY_BYTES:,} are accepted (send a long CQL2 filter as a CQL2 JSON body)")
    if "\x00" in request.path:
        raise QueryError("the path holds a NUL character (%00), which no identifier here contains")
    sources = [request.args]
    if request.mimetype == "application/x-www-form-urlencoded":
        sources.append(request.form)
    for source in sources:
        for name, value in source.items(multi=True):
            if "\x00" in name or "\x00" in value:
                shown = name.replace("\x00", "%00")
                raise QueryError(f"{shown}: the value holds a NUL character (%00), which is never valid here")
