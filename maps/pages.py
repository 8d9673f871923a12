"""The two map pages, built with folium: base map, basemap with an offline fallback, layer control
and scale bar from folium; the data layers, legend, search and popups from ``static/maps.js``.

Served pages link the app's own copies of Leaflet, Leaflet.VectorGrid and maps.js; exported pages
carry them inline (and their data as GeoJSON), so neither ever reaches for a CDN.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

STATIC = Path(__file__).parent / "static"
LEAFLET = "vendor/leaflet-1.9.4"
VECTORGRID = "vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js"
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
KINDS = ("flood-risk", "land-use")

#: (layer kind for maps.js, string key of its name, shown at start) per map.
LAYERS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "flood-risk": (("depth", "depth", True), ("zones", "zones", True), ("parcels-risk", "parcels_risk", True),
                   ("hotspots", "hotspots", True), ("gauges", "gauges", True), ("admin", "admin", False)),
    "land-use": (("parcels-landuse", "parcels_landuse", True), ("admin", "admin", True)),
}


@dataclass
class Assets:
    """Where the page's JavaScript and CSS come from: URLs (served) or inline text (exported)."""

    js: list[tuple[str, str]] = field(default_factory=list)
    css: list[tuple[str, str]] = field(default_factory=list)
    inline: bool = False

    @classmethod
    def served(cls, static_url: Any) -> Assets:
        """Links to the app's copies; ``static_url(filename)`` makes a file's URL."""
        return cls(js=[("leaflet", static_url(f"{LEAFLET}/leaflet.js")), ("vectorgrid", static_url(VECTORGRID)),
                       ("landflood_maps", static_url("maps.js"))],
                   css=[("leaflet_css", static_url(f"{LEAFLET}/leaflet.css")),
                        ("landflood_maps_css", static_url("maps.css"))])

    @classmethod
    def embedded(cls) -> Assets:
        """Everything inline (no vector tiles in an export, so no VectorGrid)."""
        return cls(js=[("leaflet", _read(f"{LEAFLET}/leaflet.js")), ("landflood_maps", _read("maps.js"))],
                   css=[("leaflet_css", _leaflet_css_inline()), ("landflood_maps_css", _read("maps.css"))], inline=True)


def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _leaflet_css_inline() -> str:
    def data_uri(match: re.Match) -> str:
        png = (STATIC / LEAFLET / "images" / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode()})"
    return re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, _read(f"{LEAFLET}/leaflet.css"))


def script_json(value: Any) -> str:
    """JSON safe to put inside a <script> element."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            .replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class DataLayer(folium.map.Layer):
    """A layer that maps.js makes (vector tiles or embedded GeoJSON), listed in folium's layer control."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = LF.layer({{ this.kind|tojson }}, {{ this._parent.get_name() }});
        {% endmacro %}""")

    def __init__(self, kind: str, name: str, overlay: bool = True, show: bool = True) -> None:
        super().__init__(name=name, overlay=overlay, show=show)
        self._name = "DataLayer"
        self.kind = kind


class Start(MacroElement):
    """Hands the folium-made map and basemaps to maps.js, after the layer control exists."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        LF.start({{ this._parent.get_name() }}, {{ this.basemap }}, {{ this.plain }});
        {% endmacro %}""")

    def __init__(self, basemap: str, plain: str) -> None:
        super().__init__()
        self._name = "Start"
        self.basemap, self.plain = basemap, plain


def build(kind: str, config: dict[str, Any], assets: Assets, online_basemap: bool = True,
          nonce: str | None = None) -> str:
    """The whole HTML page of map ``kind`` ('flood-risk' or 'land-use').

    ``config`` becomes ``window.LF_CONFIG`` (words, URLs, legend, scenarios, user, maybe data).
    With ``online_basemap`` False (exports) the plain background is shown first and
    OpenStreetMap is only offered in the layer control. ``nonce``: put on every script element, for
    the served page's Content-Security-Policy.
    """
    t = config["t"]
    view = config["view"]
    m = folium.Map(location=[view["lat"], view["lon"]], zoom_start=view["zoom"], tiles=None,
                   control_scale=True, prefer_canvas=True, max_zoom=22)
    m.default_js, m.default_css = [], []
    root = m.get_root()
    assert isinstance(root, Figure)  # a folium Map's root is always its Figure
    title = t["flood_title"] if kind == "flood-risk" else t["landuse_title"]
    root.header.add_child(Element(f"<title>{_html(title)} — landflood</title>"), name="title")
    _add_assets(m, assets)
    root.header.add_child(Element(f"<script>window.LF_CONFIG = {script_json(config)};</script>"), name="lf_config")
    basemap = folium.TileLayer(OSM_URL, attr=OSM_ATTRIBUTION, name=t["basemap"], max_zoom=22, max_native_zoom=19,
                               show=online_basemap)
    basemap.add_to(m)
    plain = DataLayer("plain", t["plain"], overlay=False, show=not online_basemap)
    plain.add_to(m)
    for layer_kind, name_key, show in LAYERS[kind]:
        DataLayer(layer_kind, t[name_key], show=show).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    Start(basemap.get_name(), plain.get_name()).add_to(m)
    html = root.render()
    if nonce:
        html = re.sub(r"<script\b", f'<script nonce="{nonce}"', html)
    return html.replace("<html>", f'<html lang="{config["lang"]}">', 1)


def _add_assets(m: folium.Map, assets: Assets) -> None:
    if not assets.inline:
        m.default_css = list(assets.css)
        m.default_js = list(assets.js)
        return
    root = m.get_root()
    assert isinstance(root, Figure)
    header = root.header
    for name, text in assets.css:
        header.add_child(Element(f"<style>{text}</style>"), name=name)
    for name, text in assets.js:
        safe = text.replace("</script", "<\\/script")  # a script may not close its own tag
        header.add_child(Element(f"<script>{safe}</script>"), name=name)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
