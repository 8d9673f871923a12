"""Calling pygeoapi's API functions from Flask views: pygeoapi answers ``(headers, status,
content)`` for an ``APIRequest``; these turn that into a Flask response."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, request
from pygeoapi.api import APIRequest, apply_gzip
from werkzeug.datastructures import Headers

from ogc_api import context, errors

#: The f= values pygeoapi's pages answer (it would also take f=png or f=mvt and answer them with JSON).
PAGE_FORMATS = ("json", "html", "jsonld")


def pygeoapi_call(fn: Callable[..., tuple[dict, int, Any]], *args: Any,
                  formats: tuple[str, ...] = PAGE_FORMATS) -> Response:
    """Run one of pygeoapi's API functions on the current Flask request; an ``f`` outside
    ``formats`` is a 400, as the OpenAPI document says."""
    api = context.state().api
    api_request = APIRequest.from_flask(request, api.locales)
    f = request.args.get("f")  # not stripped: pygeoapi would take f=%1E (a control character) for no f
    if f and f not in formats:
        return errors.problem(400, "InvalidParameterValue",
                              f"f={f!r} is not offered here; use f={' or f='.join(formats)}")
    if not api_request.is_valid():
        headers, status, content = api.get_format_exception(api_request)
    else:
        headers, status, content = fn(api, api_request, *args)
        content = apply_gzip(headers, content)
    resp = Response(content, status=status)
    if headers:
        resp.headers = Headers(headers)
    return resp


def passthrough(fn: Callable[..., tuple[dict, int, Any]], formats: tuple[str, ...]) -> Callable[..., Response]:
    """A view that answers with ``fn`` (its URL's variables in order as the arguments)."""
    def view(**kwargs: Any) -> Response:
        return pygeoapi_call(fn, *kwargs.values(), formats=formats)
    return view


def edit_json(resp: Response, edit: Callable[[dict], None]) -> Response:
    """Apply ``edit`` to a pygeoapi JSON answer (not to its HTML, errors or gzipped bodies)."""
    if (resp.status_code == 200 and resp.headers.get("Content-Type", "").startswith("application/json")
            and "Content-Encoding" not in resp.headers):
        doc = json.loads(resp.get_data())
        edit(doc)
        resp.set_data(json.dumps(doc, ensure_ascii=False))
    return resp
