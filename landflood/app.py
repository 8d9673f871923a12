"""The web application: the OGC API (``ogc_api``) and the planners' maps (``maps``) on one Flask app.

This factory sits above both packages, so neither imports the other's app: ``maps`` uses the API's
request context (``ogc_api.context``, ``ogc_api.auth``), and nothing in ``ogc_api`` knows the maps.

Production: ``gunicorn -w 4 -b 0.0.0.0:5000 'landflood.app:create_app()'`` (settings from the
LANDFLOOD_* environment); development: ``landflood serve``.
"""

from __future__ import annotations

from flask import Flask, Response, g, request, url_for

from landflood.settings import Settings, load_settings
from maps.web import bp as maps_bp
from ogc_api.app import create_api

#: pygeoapi's HTML templates (and the OpenAPI pages) take these from public CDNs; the maps' static
#: folder serves the same libraries (maps/static/vendor), so the API's HTML pages also work inside
#: a city network with no internet.
CDN_ASSETS = {
    "https://unpkg.com/bootstrap@5.1.3/dist/css/bootstrap.min.css": "bootstrap-5.1.3/bootstrap.min.css",
    "https://unpkg.com/leaflet@1.3.1/dist/leaflet.css": "leaflet-1.9.4/leaflet.css",
    "https://unpkg.com/leaflet@1.3.1/dist/leaflet.js": "leaflet-1.9.4/leaflet.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet/1.3.1/leaflet.js": "leaflet-1.9.4/leaflet.js",
    "https://unpkg.com/leaflet.markercluster/dist/leaflet.markercluster-src.js":
        "leaflet.markercluster-1.5.3/leaflet.markercluster.js",
    "https://unpkg.com/leaflet.markercluster/dist/MarkerCluster.css": "leaflet.markercluster-1.5.3/MarkerCluster.css",
    "https://unpkg.com/leaflet.markercluster/dist/MarkerCluster.Default.css":
        "leaflet.markercluster-1.5.3/MarkerCluster.Default.css",
    "https://unpkg.com/leaflet.vectorgrid@latest/dist/Leaflet.VectorGrid.bundled.js":
        "leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js",
    # /openapi?f=html: Swagger UI, and ReDoc with ui=redoc
    "https://unpkg.com/swagger-ui-dist/swagger-ui.css": "swagger-ui-dist-5.35.0/swagger-ui.css",
    "https://unpkg.com/swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-dist-5.35.0/swagger-ui-bundle.js",
    "https://unpkg.com/swagger-ui-dist/swagger-ui-standalone-preset.js":
        "swagger-ui-dist-5.35.0/swagger-ui-standalone-preset.js",
    "https://unpkg.com/swagger-ui-dist/favicon-32x32.png": "swagger-ui-dist-5.35.0/favicon-32x32.png",
    "https://unpkg.com/swagger-ui-dist/favicon-16x16.png": "swagger-ui-dist-5.35.0/favicon-16x16.png",
    "https://cdn.jsdelivr.net/npm/redoc@latest/bundles/redoc.standalone.js": "redoc-2.5.4/redoc.standalone.js",
}
_CDN_HOSTS = ("unpkg.com", "cdnjs.cloudflare.com", "cdn.jsdelivr.net")


#: Content-Security-Policy of the maps' pages, whose every script carries the request's nonce
#: (``maps.pages.build``). Styles may be inline: Leaflet and the legend set element styles.
MAPS_CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob: https://tile.openstreetmap.org; connect-src 'self'; font-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'")
#: pygeoapi's pages (and the OpenAPI viewers) use inline scripts and handlers, so scripts may be
#: inline there; everything still comes from this site, and no other site may frame them.
PAGES_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
             "img-src 'self' data: blob: https://tile.openstreetmap.org https://cdn.redoc.ly; connect-src 'self'; "
             "font-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
             "form-action 'self'; frame-ancestors 'self'")


def create_app(settings: Settings | None = None) -> Flask:
    """The API and the maps; settings from the environment when not given."""
    app = create_api(settings or load_settings())
    app.register_blueprint(maps_bp)
    app.after_request(_local_assets)
    app.after_request(_security_headers)
    return app


def _security_headers(resp: Response) -> Response:
    """No content sniffing anywhere; on HTML, a Content-Security-Policy and no framing by other sites."""
    resp.headers["X-Content-Type-Options"] = "nosniff"
    if resp.mimetype == "text/html":
        nonce = getattr(g, "csp_nonce", None)
        resp.headers["Content-Security-Policy"] = MAPS_CSP.format(nonce=nonce) if nonce else PAGES_CSP
        resp.headers["X-Frame-Options"] = "SAMEORIGIN"
        resp.headers["Referrer-Policy"] = "same-origin"
    return resp


def _local_assets(resp: Response) -> Response:
    """Point the API's HTML pages at the app's own copies of their CDN libraries."""
    if (resp.mimetype != "text/html" or resp.direct_passthrough or "Content-Encoding" in resp.headers
            or request.blueprint == "maps"):
        return resp
    html = resp.get_data(as_text=True)
    if any(host in html for host in _CDN_HOSTS):
        for cdn, local in CDN_ASSETS.items():
            html = html.replace(cdn, url_for("maps.static", filename=f"vendor/{local}"))
        resp.set_data(html)
    return resp
