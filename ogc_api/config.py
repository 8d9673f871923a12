"""pygeoapi's configuration, generated from the data model at start-up (no hand-kept YAML)."""

from __future__ import annotations

from typing import Any

from landdb.models import CITY_EXTENT
from landflood.settings import Settings
from ogc_api import crs as crsmod
from ogc_api.collections import COLLECTIONS, Collection

TILED = ("parcels", "flood-risk-zones", "waterlogging-points")
#: The one tile matrix set the vector tiles come in.
TILE_MATRIX_SET = "WebMercatorQuad"
MVT = "application/vnd.mapbox-vector-tile"


def _bilingual(en: str, vi: str) -> dict[str, str]:
    return {"en": en, "vi": vi}


def maps_link(url: str, lang: str) -> dict[str, str]:
    """The landing page's link to the planners' maps (its HTML shows it in templates/landing_page.html)."""
    return {"rel": "related", "type": "text/html", "title": _bilingual("Maps", "Bản đồ")[lang],
            "href": f"{url.rstrip('/')}/maps"}


def _feature_resource(coll: Collection, url: str) -> dict[str, Any]:
    providers: list[dict[str, Any]] = [{
        "type": "feature",
        "name": "ogc_api.provider.LandfloodProvider",
        "data": coll.id,
        "id_field": "id",
        "crs": crsmod.supported_uris(),
        "storage_crs": crsmod.STORAGE.uri,
        "editable": coll.id == "parcels",
    }]
    if coll.id in TILED:
        providers.append({
            "type": "tile",
            "name": "ogc_api.tiles.LandfloodTileProvider",
            "data": coll.id,
            "options": {"zoom": {"min": 0, "max": 22}, "schemes": [TILE_MATRIX_SET]},
            "format": {"name": "pbf", "mimetype": MVT},
        })
    extents: dict[str, Any] = {"spatial": {"bbox": list(CITY_EXTENT), "crs": crsmod.CRS84}}
    if coll.time_start:
        extents["temporal"] = {"begin": None, "end": None}
    return {
        "type": "collection",
        "title": _bilingual(coll.title_en, coll.title_vi),
        "description": _bilingual(coll.description_en, coll.description_vi),
        "keywords": {"en": list(coll.keywords), "vi": list(coll.keywords)},
        # GDAL reads field types from a 'describedby' JSON Schema instead of guessing them from
        # values (it takes a parcel_id such as 00070-1-1 for a date otherwise).
        "links": [{"type": "application/schema+json", "rel": "describedby", "title": "JSON Schema of the features",
                   "href": f"{url}/collections/{coll.id}/schema?f=json"}],
        "extents": extents,
        "limits": {"default_items": 100, "max_items": 10000},
        "providers": providers,
    }


def _rainfall_resource() -> dict[str, Any]:
    return {
        "type": "collection",
        "title": _bilingual("Rainfall at the gauges", "Lượng mưa tại các trạm"),
        "description": _bilingual(
            "Rain gauge time series (mm per interval) as OGC API EDR: locations, position, radius, area.",
            "Chuỗi số liệu mưa tại các trạm (mm mỗi khoảng thời gian) theo OGC API EDR."),
        "keywords": {"en": ["rainfall", "EDR"], "vi": ["lượng mưa", "EDR"]},
        "links": [],
        "extents": {"spatial": {"bbox": list(CITY_EXTENT), "crs": crsmod.CRS84}},
        "providers": [{"type": "edr", "name": "ogc_api.edr.RainfallProvider", "data": "rainfall",
                       "crs": crsmod.supported_uris(), "storage_crs": crsmod.STORAGE.uri}],
    }


def _process(name: str) -> dict[str, Any]:
    return {"type": "process", "processor": {"name": f"ogc_api.processes.{name}"}}


def pygeoapi_config(settings: Settings) -> dict[str, Any]:
    """The whole configuration pygeoapi's API object is built from."""
    url = settings.public_url.rstrip("/")
    resources: dict[str, Any] = {cid: _feature_resource(c, url) for cid, c in COLLECTIONS.items()}
    resources["rainfall"] = _rainfall_resource()
    resources["flood-risk-report"] = _process("FloodRiskReport")
    resources["waterlogging-nowcast"] = _process("WaterloggingNowcast")
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": 5000},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["vi", "en"],
            "limits": {"default_items": 100, "max_items": 10000},
            "pretty_print": False,
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "attribution": "&copy; OpenStreetMap contributors"},
            "templates": {"path": _templates_path(), "static": _static_path()},
        },
        "logging": {"level": "WARNING"},
        "metadata": {
            "identification": {
                "title": _bilingual("landflood: Hanoi land registry and waterlogging data",
                                    "landflood: dữ liệu địa chính và úng ngập Hà Nội"),
                "description": _bilingual(
                    "Cadastral parcels, administrative units, waterlogging hotspots, rainfall and flood "
                    "risk of Hanoi through OGC APIs (Features, Tiles, EDR, Processes).",
                    "Thửa đất, đơn vị hành chính, điểm úng ngập, lượng mưa và nguy cơ ngập của Hà Nội "
                    "qua các OGC API (Features, Tiles, EDR, Processes)."),
                "keywords": {"en": ["cadastre", "flood", "Hanoi"], "vi": ["địa chính", "ngập úng", "Hà Nội"]},
                "keywords_type": "theme",
                "terms_of_service": "https://creativecommons.org/licenses/by/4.0/",
                "url": url,
            },
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "landflood", "url": url},
            "contact": {"name": "landflood", "position": "Data service", "email": "gis@example.invalid",
                        "url": url, "role": "pointOfContact"},
        },
        "resources": resources,
    }


def _templates_path() -> str:
    """landflood's template overrides (the landing page); pygeoapi falls back to its own for the rest."""
    from pathlib import Path
    return str(Path(__file__).parent / "templates")


def _static_path() -> str:
    from pathlib import Path

    import pygeoapi
    return str(Path(pygeoapi.__file__).parent / "static")
