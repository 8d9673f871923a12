"""Vector tiles: MVT from PostGIS, readable by GDAL, attributes per zoom, caching headers."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from pyproj import Transformer

from tests.api.conftest import KNOWN_E, KNOWN_N

# Tiles over the survey point (21.0285 N, 105.8542 E), where the test parcels are.
Z16 = "/collections/parcels/tiles/WebMercatorQuad/16/28850/52038"
Z14 = "/collections/parcels/tiles/WebMercatorQuad/14/7212/13009"


def test_tilesets_and_metadata_are_described(client) -> None:
    sets = client.get("/collections/parcels/tiles").get_json()
    assert any(t.get("tileMatrixSetURI", "").endswith("WebMercatorQuad") for t in sets["tilesets"])
    meta = client.get("/collections/parcels/tiles/WebMercatorQuad/metadata").get_json()
    assert any(link["type"] == "application/vnd.mapbox-vector-tile" for link in meta["links"])
    assert client.get("/collections/admin-units/tiles/WebMercatorQuad/1/0/0").status_code == 404


def _features(tmp_path, data: bytes) -> list[dict]:
    """Decode an MVT with GDAL's MVT driver (ogr2ogr), as a client would."""
    if not shutil.which("ogr2ogr"):
        pytest.skip("ogr2ogr (gdal-bin) is not installed")
    src, out = tmp_path / "16.pbf", tmp_path / "out.geojson"
    src.write_bytes(data)
    subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(out), str(src), "-oo", "X=52038", "-oo", "Y=28850",
                    "-oo", "Z=16"], check=True, capture_output=True)
    return json.loads(out.read_text())["features"]


def test_a_z16_tile_holds_the_parcels_with_their_attributes(client, tmp_path) -> None:
    resp = client.get(Z16)
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.mapbox-vector-tile"
    feats = _features(tmp_path, resp.data)
    ids = {f["properties"]["parcel_id"] for f in feats}
    assert "00070-1-1" in ids and len(ids) >= 100
    one = next(f for f in feats if f["properties"]["parcel_id"] == "00070-1-1")
    assert one["properties"]["land_use"] == "ODT" and one["properties"]["flood_risk"] == "high"
    assert "address" in one["properties"]
    # Web Mercator, quantised to the tile's 4096 cells (15 cm at z16).
    x, y = Transformer.from_crs(5897, 3857, always_xy=True).transform(KNOWN_E, KNOWN_N)
    corners = one["geometry"]["coordinates"][0]
    assert min(abs(cx - x) + abs(cy - y) for cx, cy in corners) < 0.3


def test_lower_zooms_carry_fewer_attributes_and_z12_is_empty(client) -> None:
    z14 = client.get(Z14)
    assert z14.status_code == 200 and b"parcel_id" in z14.data and b"land_use" in z14.data
    assert b"address" not in z14.data and b"area_m2" not in z14.data
    z12 = client.get("/collections/parcels/tiles/WebMercatorQuad/12/1803/3252")
    assert z12.status_code == 200 and z12.data == b""


def test_tiles_are_cacheable(client) -> None:
    first = client.get(Z16)
    assert first.headers["Cache-Control"].startswith("public") and first.headers["ETag"]
    again = client.get(Z16, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_points_and_zones_have_tiles_and_bad_tiles_are_errors(client) -> None:
    points = client.get("/collections/waterlogging-points/tiles/WebMercatorQuad/14/7212/13009")
    assert points.status_code == 200 and b"UN001" in points.data
    zones = client.get("/collections/flood-risk-zones/tiles/WebMercatorQuad/16/28850/52038")
    assert zones.status_code == 200 and b"high" in zones.data
    assert client.get("/collections/parcels/tiles/WebMercatorQuad/3/99/99").status_code == 404
    assert client.get("/collections/parcels/tiles/WorldCRS84Quad/3/1/1").status_code == 404
