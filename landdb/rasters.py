"""Every query on registered rasters (DEM and flood-depth COGs on disk) and flood scenarios."""

from __future__ import annotations

from dataclasses import dataclass

from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from landdb.models import CITY_SRID


@dataclass(frozen=True)
class RasterRecord:
    """A registered raster. ``path`` is absolute; ``footprint`` is its extent in the city CRS."""

    name: str
    kind: str  # 'dem', 'flood_depth' or 'rainfall'
    scenario: str | None
    path: str
    crs: str
    width: int
    height: int
    res_m: float
    nodata: float | None
    footprint: BaseGeometry


_COLUMNS = "name, kind, scenario, path, crs, width, height, res_m, nodata"


def get(conn: Connection, name: str, for_update: bool = False) -> RasterRecord | None:
    """The raster registered as ``name``, or None; ``for_update`` locks its row until the transaction ends."""
    row = conn.execute(text(
        f"SELECT {_COLUMNS}, ST_AsBinary(footprint) AS wkb FROM rasters WHERE name = :name"
        + (" FOR UPDATE" if for_update else "")
    ), {"name": name}).first()
    if row is None:
        return None
    values = row._asdict()
    values["footprint"] = wkb.loads(bytes(values.pop("wkb")))
    return RasterRecord(**values)


def save(conn: Connection, rec: RasterRecord) -> None:
    """Register ``rec``, replacing what was registered under its name."""
    conn.execute(text(f"""
        INSERT INTO rasters ({_COLUMNS}, footprint)
        VALUES (:name, :kind, :scenario, :path, :crs, :width, :height, :res_m, :nodata,
                ST_GeomFromWKB(:footprint, :srid))
        ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, scenario = excluded.scenario,
            path = excluded.path, crs = excluded.crs, width = excluded.width, height = excluded.height,
            res_m = excluded.res_m, nodata = excluded.nodata, footprint = excluded.footprint,
            created_at = now()
    """), {**{k: getattr(rec, k) for k in _COLUMNS.split(", ")}, "footprint": rec.footprint.wkb, "srid": CITY_SRID})


def scenario_names(conn: Connection) -> list[str]:
    """The names of the defined flood scenarios, sorted."""
    return list(conn.execute(text("SELECT name FROM flood_scenarios ORDER BY name")).scalars())
