"""One table from landflood's exceptions to HTTP statuses and OGC exception codes."""

from __future__ import annotations

import json

from flask import Response

from landflood import errors
from ogc_api.db import DatabaseUnavailable

#: Most specific first.
STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (DatabaseUnavailable, 503, "ServiceUnavailable"),
    (errors.QueryTimeoutError, 504, "Timeout"),
    (errors.ServiceBusyError, 503, "ServiceUnavailable"),
    (errors.UriTooLongError, 414, "URITooLong"),
    (errors.QueryError, 400, "InvalidParameterValue"),
    (errors.DataError, 400, "InvalidParameterValue"),
    (errors.AuthenticationError, 401, "NotAuthorized"),
    (errors.PermissionDeniedError, 403, "Forbidden"),
    (errors.NotFoundError, 404, "NotFound"),
    (errors.RulesNotMetError, 422, "RulesNotMet"),
    (errors.PreconditionFailedError, 412, "PreconditionFailed"),
    (errors.PreconditionRequiredError, 428, "PreconditionRequired"),
    (errors.ConflictError, 409, "Conflict"),
    (errors.DatabaseError, 503, "ServiceUnavailable"),
    (errors.LandfloodError, 500, "NoApplicableCode"),
)


def exception_response(exc: Exception) -> Response:
    """An OGC API exception document for one of our errors."""
    status, code = next(((s, c) for t, s, c in STATUS if isinstance(exc, t)), (500, "NoApplicableCode"))
    doc: dict = {"code": code, "type": code, "description": str(exc)}
    report = getattr(exc, "report", None)
    if report is not None:
        doc["report"] = report  # the registry's rule check: what failed and where
    body = json.dumps(doc, ensure_ascii=False)
    resp = Response(body, status=status, mimetype="application/json")
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="landflood"'
    if status == 503:
        resp.headers["Retry-After"] = "5"
    return resp


def problem(status: int, code: str, description: str) -> Response:
    body = json.dumps({"code": code, "type": code, "description": description}, ensure_ascii=False)
    return Response(body, status=status, mimetype="application/json")
