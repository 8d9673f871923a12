"""Every query on administrative units and their successions."""

from __future__ import annotations

from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text


def boundaries(conn: Connection, codes: set[str]) -> dict[str, BaseGeometry]:
    """Code -> boundary (city CRS) of the communes with these codes; the older unit when a code was reused."""
    if not codes:
        return {}
    rows = conn.execute(text(
        "SELECT DISTINCT ON (code) code, ST_AsBinary(geom) FROM admin_units "
        "WHERE level = 'commune' AND code = ANY(:codes) ORDER BY code, valid_from"
    ), {"codes": sorted(codes)})
    return {code: wkb.loads(bytes(g)) for code, g in rows}
