"""OGC API Processes: ``flood-risk-report`` and ``waterlogging-nowcast``, run synchronously.

pygeoapi provides the machinery (process descriptions, ``/execution``, validation of the
request shape); the work is done by :mod:`flood.report` and :mod:`flood.nowcast`, which know
nothing of the web. Outputs never carry owners' personal data.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, has_request_context, request
from pygeoapi.process.base import BaseProcessor

from flood.inputs import MAX_DURATION_H, MAX_RAIN_MM_H, check_inputs
from landflood.errors import DataError, LandfloodError
from ogc_api import bridge, context, geometries, limits

bp = Blueprint("processes", __name__)


def _not_expected(record: logging.LogRecord) -> bool:
    """pygeoapi's manager logs a traceback for every failed execution; a bad input or an
    unknown parcel (our errors, answered as 4xx) is not worth one."""
    return not (record.exc_info and isinstance(record.exc_info[1], LandfloodError))


for _manager in ("pygeoapi.process.manager.base", "pygeoapi.process.manager.dummy"):
    logging.getLogger(_manager).addFilter(_not_expected)

_LINK = [{"type": "text/html", "rel": "about", "title": "landflood", "href": "https://github.com/landflood"}]

REPORT_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": "flood-risk-report",
    "title": {"en": "Flood-risk report for a parcel or an area",
              "vi": "Báo cáo nguy cơ ngập cho thửa đất hoặc khu vực"},
    "description": {
        "en": "Modelled water depth per rainfall scenario, the risk class, observed flood events nearby and a "
              "short plain-language summary, for a parcel (parcel_id) or a geometry (GeoJSON, CRS84).",
        "vi": "Độ sâu ngập mô phỏng theo từng kịch bản mưa, cấp nguy cơ, các lần ngập đã quan sát gần đó và "
              "tóm tắt ngắn, cho một thửa đất (parcel_id) hoặc một vùng (GeoJSON, CRS84).",
    },
    "jobControlOptions": ["sync-execute"],
    "keywords": ["flood", "ngập", "parcel", "thửa đất"],
    "links": _LINK,
    "inputs": {
        "parcel_id": {"title": "Parcel id", "description": "'{ward_code}-{map_sheet}-{parcel_no}', e.g. 00070-1-1",
                      "schema": {"type": "string"}, "minOccurs": 0, "maxOccurs": 1},
        "geometry": {"title": "Geometry (GeoJSON, CRS84)", "description": "Instead of parcel_id: a point or area",
                     "schema": {"type": "object", "contentMediaType": "application/geo+json"},
                     "minOccurs": 0, "maxOccurs": 1},
    },
    "outputs": {"report": {"title": "Report", "schema": {"type": "object", "contentMediaType": "application/json"}}},
    "example": {"inputs": {"parcel_id": "00070-1-1"}},
}

NOWCAST_METADATA: dict[str, Any] = {
    "version": "1.0.0",
    "id": "waterlogging-nowcast",
    "title": {"en": "Waterlogging nowcast", "vi": "Dự báo úng ngập tức thời"},
    "description": {
        "en": "From rainfall per gauge (or a uniform rain_mm_h) over a duration, the hotspots and parcels "
              "expected to flood, with the expected depth class, as GeoJSON (CRS84). Without rainfall, the "
              "latest gauge readings in the database are used.",
        "vi": "Từ lượng mưa tại các trạm (hoặc cường độ đều rain_mm_h) trong một khoảng thời gian: các điểm "
              "úng ngập và thửa đất có thể bị ngập, kèm cấp độ sâu dự kiến, dạng GeoJSON (CRS84).",
    },
    "jobControlOptions": ["sync-execute"],
    "keywords": ["nowcast", "rainfall", "lượng mưa", "úng ngập"],
    "links": _LINK,
    "inputs": {
        "rain_mm_h": {"title": "Uniform rain intensity (mm/h)",
                      "schema": {"type": "number", "minimum": 0, "maximum": MAX_RAIN_MM_H},
                      "minOccurs": 0, "maxOccurs": 1},
        "per_gauge": {"title": "Rain per gauge (mm/h), by gauge code",
                      "description": "Interpolated by inverse distance between the gauges given; a gauge left "
                                     "out does not count, so give 0 where it is dry",
                      "schema": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0,
                                                                            "maximum": MAX_RAIN_MM_H}},
                      "minOccurs": 0, "maxOccurs": 1},
        "duration_h": {"title": "Duration (h)",
                       "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DURATION_H, "default": 1},
                       "minOccurs": 0, "maxOccurs": 1},
    },
    "outputs": {"at_risk": {"title": "Hotspots and parcels at risk",
                            "schema": {"type": "object", "contentMediaType": "application/geo+json"}}},
    "example": {"inputs": {"rain_mm_h": 60, "duration_h": 2}},
}


def _run(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a flood function (they only read) on a connection to the replica when there is one."""
    with context.state().read_engine.connect() as conn:
        return fn(conn, **kwargs)


class _Process(BaseProcessor):
    """A synchronous process: ``METADATA`` describes it, ``run(inputs)`` computes it.

    pygeoapi's manager turns every exception into a 400 whose text is the exception's (SQL
    included); ``execute`` keeps the exception for the execution route, which raises it instead,
    so the app's error handlers answer: 404 for an unknown parcel, 400 with our message for bad
    input, 503 when the database is down, 500 (logged, no details) for a bug.
    """

    METADATA: dict[str, Any] = {}

    def __init__(self, processor_def: dict) -> None:
        super().__init__(processor_def, copy.deepcopy(self.METADATA))  # pygeoapi's OpenAPI edits it

    def execute(self, data: dict, outputs: dict | None = None) -> tuple[str, Any]:
        try:
            if not isinstance(data, dict):
                raise DataError('"inputs" must be a JSON object, such as {"inputs": {"parcel_id": "00070-1-1"}}')
            return self.run(data)
        except Exception as exc:
            if has_request_context():
                g.process_error = exc
            raise

    def run(self, data: dict) -> tuple[str, Any]:
        raise NotImplementedError


def _number(data: dict, name: str, default: float | None = None) -> float | None:
    """A number input (a JSON number, not null, a string or a boolean), or ``default`` when absent."""
    if name not in data:
        return default
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{name} must be a number, not {json.dumps(value)[:40]}")
    return float(value)


class FloodRiskReport(_Process):
    METADATA = REPORT_METADATA

    def run(self, data: dict) -> tuple[str, Any]:
        from flood.report import parcel_report

        parcel_id, geometry = data.get("parcel_id"), data.get("geometry")
        # Sent means sent: null is not the same as leaving an input out.
        if "parcel_id" in data and not isinstance(parcel_id, str):
            raise DataError("parcel_id must be a string: ward code-map sheet-parcel number, such as 00070-12-345")
        if "geometry" in data and not isinstance(geometry, dict):
            raise DataError("geometry must be a GeoJSON geometry or feature object (CRS84)")
        if bool(parcel_id) == bool(geometry):
            raise DataError("give either parcel_id (such as 00070-12-345) or geometry (GeoJSON in CRS84), "
                            "not both and not neither")
        geom = None
        if geometry:
            geom = geometries.from_geojson(geometry.get("geometry", geometry), "geometry")
            geometries.check_lon_lat(geom, "geometry")
        return "application/json", _run(parcel_report, parcel_id=parcel_id or None, geometry=geom)


class WaterloggingNowcast(_Process):
    METADATA = NOWCAST_METADATA

    def run(self, data: dict) -> tuple[str, Any]:
        from flood.nowcast import nowcast

        duration = _number(data, "duration_h", 1.0)
        rain = _number(data, "rain_mm_h")
        raw = data.get("per_gauge")
        if raw is not None and not isinstance(raw, dict):
            raise DataError('per_gauge must be an object of rain rates by gauge code, such as {"HN-RG01": 40}')
        per_gauge = {str(k): _number(raw, k) for k in raw} if raw else None
        assert duration is not None
        check_inputs(rain, per_gauge, duration)  # type: ignore[arg-type]
        wait = context.state().settings.api_timeout_s
        return "application/geo+json", _run(nowcast, rain_mm_h=rain, per_gauge=per_gauge, duration_h=duration,
                                             wait_s=wait)


def _register_routes() -> None:
    import pygeoapi.api.processes as processes_api

    @bp.route("/processes")
    @bp.route("/processes/<process_id>")
    def describe(process_id: str | None = None) -> Response:
        return bridge.pygeoapi_call(processes_api.describe_processes, process_id, formats=("json", "html"))

    @bp.route("/processes/<process_id>/execution", methods=["POST"])
    def execute(process_id: str) -> Response:
        # pygeoapi parses the body itself and answers 500 to some shapes; check it first.
        body = limits.load_json(request.get_data(), "the execution request")
        if not isinstance(body, dict) or not isinstance(body.get("inputs", {}), dict):
            raise DataError('send a JSON object with the inputs, such as {"inputs": {"rain_mm_h": 60, '
                            '"duration_h": 2}}')
        if not isinstance(body.get("outputs", {}), dict):
            raise DataError('outputs must be an object of the outputs wanted, such as {"report": {}}')
        # pygeoapi answers any other response with the raw output.
        if body.get("response", "raw") not in ("raw", "document"):
            raise DataError(f"response={body['response']!r}: use raw (the output itself) or document "
                            "({outputs: [...]})")
        g.pop("process_error", None)
        resp = bridge.pygeoapi_call(processes_api.execute_process, process_id)
        error = g.pop("process_error", None)
        if error is not None:
            raise error  # to the app's error handlers (see _Process)
        return resp

    @bp.route("/jobs")
    @bp.route("/jobs/<job_id>")
    def jobs(job_id: str | None = None) -> Response:
        return bridge.pygeoapi_call(processes_api.get_jobs, *([job_id] if job_id else []), formats=("json", "html"))

    @bp.route("/jobs/<job_id>/results")
    def job_results(job_id: str) -> Response:
        return bridge.pygeoapi_call(processes_api.get_job_result, job_id, formats=("json", "html"))


_register_routes()
