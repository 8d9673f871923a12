"""``landflood maps export``: both maps of a bounded area as self-contained HTML files.

Each file carries Leaflet, the maps' script and style, and the area's data as GeoJSON (public
properties only: no owner ever leaves in an export), so it opens from a USB stick or an e-mail
with no server and no internet.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from pathlib import Path
from typing import Any

import psycopg

from landdb.land_use import WATER_CODES
from landflood.errors import DataError
from maps import data, depth, pages
from maps.i18n import strings


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` (CRS84) from the command line."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise DataError(f"--bbox {text!r} must be four numbers: minlon,minlat,maxlon,maxlat") from None
    if len(values) != 4 or values[0] >= values[2] or values[1] >= values[3]:
        raise DataError(f"--bbox {text!r} must be minlon,minlat,maxlon,maxlat with min < max")
    return values


def _zoom(bbox: tuple[float, ...]) -> int:
    """A zoom at which the area about fills a 1000-pixel-wide window."""
    width = max(bbox[2] - bbox[0], 1e-6)
    return max(10, min(19, int(math.log2(360 * 1000 / 256 / width))))


def _depth_overlays(conn: psycopg.Connection, scenarios: list[dict[str, Any]]) -> None:
    """Each scenario's water depth as an inline PNG (the whole raster, at most 1024 pixels)."""
    for sc in scenarios:
        path = data.depth_raster_path(conn, sc["name"]) if sc["has_depth"] else None
        if path and Path(path).exists():
            png, bounds = depth.render_png(path)
            sc["depth"] = {"url": "data:image/png;base64," + base64.b64encode(png).decode(), "bounds": bounds}


def export_config(conn: psycopg.Connection, kind: str, bbox: tuple[float, ...], lang: str,
                  layers: dict[str, Any]) -> dict[str, Any]:
    scenarios = data.scenarios(conn) if kind == "flood-risk" else []
    _depth_overlays(conn, scenarios)
    return {
        "kind": kind, "lang": lang, "t": strings(lang), "api": None, "user": None, "routes": None,
        "view": {"lat": (bbox[1] + bbox[3]) / 2, "lon": (bbox[0] + bbox[2]) / 2, "zoom": _zoom(bbox)},
        "fitBounds": [[bbox[1], bbox[0]], [bbox[3], bbox[2]]],
        "landUse": data.land_use_colors(conn), "legend": data.land_use_types(conn) if kind == "land-use" else [],
        "waterCodes": sorted(WATER_CODES), "wards": data.wards(conn), "scenarios": scenarios,
        "depthSteps": depth.legend_steps(),
        "exportedAt": dt.date.today().isoformat(),
        "data": layers,
    }


def export(conn: psycopg.Connection, out: Path, bbox: tuple[float, ...] | None, lang: str = "vi") -> list[Path]:
    """Write ``flood-risk.html`` and ``land-use.html`` for ``bbox`` (the loaded parcels' extent when None)."""
    bbox = bbox or data.data_bbox(conn)
    count = data.count_parcels(conn, bbox)
    if count > data.EXPORT_MAX_PARCELS:
        raise DataError(f"the area holds {count:,} parcels; an export embeds at most {data.EXPORT_MAX_PARCELS:,}: "
                        "give a smaller --bbox (the web maps at /maps show any number)")
    layers = data.export_layers(conn, bbox, lang)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in pages.KINDS:
        kind_layers = dict(layers)
        if kind == "land-use":
            kind_layers.update(zones=None, hotspots=None, gauges=None)
        html = pages.build(kind, export_config(conn, kind, bbox, lang, kind_layers), pages.Assets.embedded(),
                           online_basemap=False)
        path = out / f"{kind}.html"
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written
