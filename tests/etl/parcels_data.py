"""The parcels the ETL tests load: a grid of lots near Hoàn Kiếm lake, as a cadastral file
would hold them, and small readers of what a load wrote."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import Polygon
from sqlalchemy import create_engine, text

X0, Y0 = 588000.0, 2326000.0  # near Hoàn Kiếm lake, EPSG:5897
OWNERS = ["Nguyễn Văn Hùng", "Trần Thị Thu Hương", "Đỗ Đức Thắng", "Lê Thị Ánh", "Phạm Quốc Việt"]


def lot(i: int, width: float = 8.0, depth: float = 25.0) -> Polygon:
    x = X0 + (i % 100) * (width + 1)
    y = Y0 + (i // 100) * (depth + 1)
    return Polygon([(x, y), (x + width, y), (x + width, y + depth), (x, y + depth)])


def parcels_frame(n: int, ward: str = "00070", crs: int | None = 5897,
                  overrides: dict | None = None) -> gpd.GeoDataFrame:
    rows = [
        {
            "MaXa": ward, "SoTo": 12 + i // 500, "SoThua": i % 500 + 1, "MaLoaiDat": "ODT",
            "DienTich": round(lot(i).area + 0.4, 1), "DiaChi": f"Số {i + 1} phố Hàng Bạc, phường Hàng Bạc",
            "TenChu": OWNERS[i % len(OWNERS)], "SoCCCD": f"0010850{i:05d}", "geometry": lot(i),
        }
        for i in range(n)
    ]
    for (i, col), value in (overrides or {}).items():
        rows[i][col] = value
    if not rows:
        return gpd.GeoDataFrame({"MaXa": [], "SoTo": [], "SoThua": [], "MaLoaiDat": []}, geometry=[], crs=crs)
    return gpd.GeoDataFrame(rows, crs=crs)


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
               for t in ("parcels", "parcel_versions", "parties", "rights", "audit_log")}
    engine.dispose()
    return out


def scalar(url: str, sql: str):
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return value
