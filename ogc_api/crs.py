"""The coordinate reference systems the API speaks (OGC API Features Part 2).

Output is transformed in PostGIS. OGC URIs follow the EPSG axis order: EPSG:4326 is
latitude, longitude, so its coordinates are flipped; CRS84 is longitude, latitude.
"""

from __future__ import annotations

from dataclasses import dataclass

from landdb.models import CITY_SRID
from landflood.errors import QueryError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def epsg_uri(code: int) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{code}"


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    flip: bool  # latitude first


SUPPORTED: tuple[Crs, ...] = (
    Crs(CRS84, 4326, False),
    Crs(epsg_uri(4326), 4326, True),
    Crs(epsg_uri(3857), 3857, False),
    Crs(epsg_uri(CITY_SRID), CITY_SRID, False),  # VN-2000 / TM-3 105°: the cadastre's own
    Crs(epsg_uri(3405), 3405, False),  # VN-2000 / UTM 48N: topographic maps
)
STORAGE = SUPPORTED[3]
_BY_URI = {c.uri: c for c in SUPPORTED}
# Short forms people type; the OGC URI is what the API advertises.
_ALIASES = {"CRS84": CRS84, "OGC:CRS84": CRS84, "[OGC:CRS84]": CRS84}
_ALIASES.update({f"EPSG:{c.srid}": c.uri for c in SUPPORTED[1:]})
_ALIASES.update({f"[EPSG:{c.srid}]": c.uri for c in SUPPORTED[1:]})


def supported_uris() -> list[str]:
    return [c.uri for c in SUPPORTED]


def accepted_names() -> list[str]:
    """Every spelling :func:`parse` accepts: the URIs (also as https) and the short forms."""
    https = ["https://" + uri[len("http://"):] for uri in supported_uris()]
    return [*supported_uris(), *https, *_ALIASES]


def parse(value: str | None, param: str, default: Crs | None = None) -> Crs:
    """The CRS named by a request parameter (a URI, or a short form such as EPSG:5897)."""
    if value is None or value == "":
        return default or SUPPORTED[0]
    uri = _ALIASES.get(value.strip(), value.strip())
    if uri.startswith("https://"):
        uri = "http://" + uri[len("https://"):]
    crs = _BY_URI.get(uri)
    if crs is None:
        raise QueryError(f"{param}={value!r} is not supported; use one of: {', '.join(supported_uris())}")
    return crs
