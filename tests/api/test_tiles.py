"""Vector tiles: MVT from PostGIS, readable by GDAL, attributes per zoom and by properties=,
privacy, gzip and caching headers."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess

import pytest
from pyproj import Transformer

from tests.api.conftest import KNOWN_E, KNOWN_N, OWNER_NAME

# Tiles over the survey point (21.0285 N, 105.8542 E), where the test parcels are.
Z16 = "/collections/parcels/tiles/WebMercatorQuad/16/28850/52038"
Z14 = "/collections/parcels/tiles/WebMercatorQuad/14/7212/13009"
Z18 = "/collections/parcels/tiles/WebMercatorQuad/18/115403/208152"


def test_tilesets_and_metadata_are_described(client) -> None:
    sets = client.get("/collections/parcels/tiles").get_json()
    assert any(t.get("tileMatrixSetURI", "").endswith("WebMercatorQuad") for t in sets["tilesets"])
    meta = client.get("/collections/parcels/tiles/WebMercatorQuad/metadata").get_json()
    assert any(link["type"] == "application/vnd.mapbox-vector-tile" for link in meta["links"])
    assert client.get("/collections/admin-units/tiles/WebMercatorQuad/1/0/0").status_code == 404


def _rels(doc: dict) -> dict[str, dict]:
    return {link["rel"]: link for link in doc["links"]}


def test_a_tileset_describes_itself_as_ogc_api_tiles_asks(client) -> None:
    sets = client.get("/collections/parcels/tiles").get_json()
    assert not [link for link in sets["links"] if "{tileMatrixSetId}" in link["href"] and not link.get("templated")]
    assert "describedby" not in _rels(sets)  # pygeoapi's "TileJSON" link led to this same description
    (item,) = sets["tilesets"]
    assert item["dataType"] == "vector" and item["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    tileset = client.get(_rels(item)["self"]["href"].removeprefix("http://127.0.0.1:5000")).get_json()
    links = _rels(tileset)
    assert links["self"]["href"] == "http://127.0.0.1:5000/collections/parcels/tiles/WebMercatorQuad"
    assert links["http://www.opengis.net/def/rel/ogc/1.0/geodata"]["href"].endswith("/collections/parcels")
    assert links["http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"]["href"].endswith("/WebMercatorQuad")
    assert links["item"]["templated"] and links["item"]["type"] == "application/vnd.mapbox-vector-tile"
    (layer,) = tileset["layers"]
    assert layer == {**layer, "id": "parcels", "dataType": "vector", "geometryDimension": 2,
                     "minTileMatrix": "13", "maxTileMatrix": "22"}
    assert {"land_use", "flood_risk", "address"} <= set(layer["propertiesSchema"]["properties"])
    assert "owner_names" not in layer["propertiesSchema"]["properties"]
    points = client.get("/collections/waterlogging-points/tiles/WebMercatorQuad").get_json()["layers"][0]
    assert points["geometryDimension"] == 0 and points["minTileMatrix"] == "0"
    tile = links["item"]["href"].removeprefix("http://127.0.0.1:5000").format(
        tileMatrix=16, tileRow=28850, tileCol=52038)
    assert client.get(tile).status_code == 200


def _features(tmp_path, data: bytes, tile: str = Z16) -> list[dict]:
    """Decode an MVT with GDAL's MVT driver (ogr2ogr), as a client would."""
    if not shutil.which("ogr2ogr"):
        pytest.skip("ogr2ogr (gdal-bin) is not installed")
    z, y, x = tile.split("?")[0].split("/")[-3:]
    src, out = tmp_path / f"{z}-{y}-{x}.pbf", tmp_path / f"{z}-{y}-{x}.geojson"
    src.write_bytes(data)
    out.unlink(missing_ok=True)
    subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(out), str(src), "-oo", f"X={x}", "-oo", f"Y={y}",
                    "-oo", f"Z={z}"], check=True, capture_output=True)
    return json.loads(out.read_text())["features"]


def _keys(feats: list[dict]) -> set[str]:
    """Every attribute name in a decoded tile (GDAL adds the feature id as mvt_id)."""
    return {k for f in feats for k in f["properties"]} - {"mvt_id"}


def test_a_z16_tile_holds_the_parcels_with_their_styling_attributes(client, tmp_path) -> None:
    resp = client.get(Z16)
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.mapbox-vector-tile"
    feats = _features(tmp_path, resp.data)
    ids = {f["properties"]["parcel_id"] for f in feats}
    assert "00070-1-1" in ids and len(ids) >= 100
    one = next(f for f in feats if f["properties"]["parcel_id"] == "00070-1-1")
    assert one["properties"]["land_use"] == "ODT" and one["properties"]["flood_risk"] == "high"
    # Web Mercator, quantised to the tile's 4096 cells (15 cm at z16).
    x, y = Transformer.from_crs(5897, 3857, always_xy=True).transform(KNOWN_E, KNOWN_N)
    corners = one["geometry"]["coordinates"][0]
    assert min(abs(cx - x) + abs(cy - y) for cx, cy in corners) < 0.3


@pytest.mark.parametrize(("tile", "expected"), [
    (Z14, {"parcel_id", "land_use", "flood_risk"}),
    (Z16, {"parcel_id", "land_use", "flood_risk"}),
    (Z18, {"parcel_id", "land_use", "flood_risk", "ward_code", "map_sheet", "parcel_no", "land_use_name",
           "area_m2", "area_legal_m2", "address"}),
])
def test_each_zoom_carries_its_attribute_set(client, tmp_path, tile, expected) -> None:
    resp = client.get(tile)
    assert resp.status_code == 200
    assert _keys(_features(tmp_path, resp.data, tile)) == expected


def test_z13_carries_land_use_only_and_z12_is_empty(client) -> None:
    z13 = client.get("/collections/parcels/tiles/WebMercatorQuad/13/3606/6504")
    assert z13.status_code == 200 and b"land_use" in z13.data
    assert b"parcel_id" not in z13.data and b"address" not in z13.data
    z12 = client.get("/collections/parcels/tiles/WebMercatorQuad/12/1803/3252")
    assert z12.status_code == 200 and z12.data == b""


def test_properties_narrow_a_tile_to_what_a_map_styles_by(client, tmp_path) -> None:
    full, lean = client.get(Z18), client.get(Z18 + "?properties=land_use")
    assert lean.status_code == 200 and len(lean.data) < len(full.data) / 2
    feats = _features(tmp_path, lean.data, Z18)
    assert _keys(feats) == {"land_use"} and len(feats) == len(_features(tmp_path, full.data, Z18))
    two = client.get(Z18 + "?properties=flood_risk,%20address")
    assert _keys(_features(tmp_path, two.data, Z18)) == {"flood_risk", "address"}
    # properties= narrows the zoom's set: a z16 tile never carries addresses.
    narrowed = client.get(Z16 + "?properties=land_use,address")
    assert _keys(_features(tmp_path, narrowed.data)) == {"land_use"}
    hotspots = client.get("/collections/waterlogging-points/tiles/WebMercatorQuad/14/7212/13009?properties=max_depth_m")
    assert b"max_depth_m" in hotspots.data and b"UN001" not in hotspots.data


@pytest.mark.parametrize("names", ["owner_names", "land_use,owner_names", "owners", "owner_id_numbers"])
def test_owner_properties_do_not_exist_for_the_public(client, names) -> None:
    resp = client.get(f"{Z18}?properties={names}")
    assert resp.status_code == 400
    description = resp.get_json()["description"]
    assert "land_use" in description.split("use some of")[-1]
    assert "owner" not in description.split("use some of")[-1]


def test_unknown_properties_are_a_400_naming_the_allowed_ones(client) -> None:
    for names in ("nope", "valid_from", "land_use;DROP TABLE parcels"):
        resp = client.get(f"{Z16}?properties={names}")
        assert resp.status_code == 400, names
        allowed = resp.get_json()["description"].split("use some of: ")[-1]
        assert allowed.split(", ") == ["parcel_id", "ward_code", "map_sheet", "parcel_no", "land_use", "land_use_name",
                                       "area_m2", "area_legal_m2", "address", "flood_risk"]


def test_openapi_documents_properties_with_public_names_only(client) -> None:
    paths = client.get("/openapi?f=json").get_json()["paths"]
    params = paths["/collections/parcels/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"]["get"]["parameters"]
    names = next(p for p in params if isinstance(p, dict) and p.get("name") == "properties")["schema"]["items"]["enum"]
    assert {"parcel_id", "land_use", "flood_risk", "address"} <= set(names) and "owner_names" not in names


def test_an_officer_may_ask_for_owner_names_at_detail_zoom(client, officer, tmp_path) -> None:
    resp = client.get(f"{Z18}?properties=parcel_id,owner_names", headers=officer)
    assert resp.status_code == 200 and resp.headers["Cache-Control"].startswith("private")
    feats = _features(tmp_path, resp.data, Z18)
    assert _keys(feats) == {"parcel_id", "owner_names"}
    assert OWNER_NAME in {f["properties"].get("owner_names") for f in feats}
    assert OWNER_NAME.encode() not in client.get(f"{Z16}?properties=owner_names", headers=officer).data


def test_tiles_are_cacheable(client) -> None:
    first = client.get(Z16)
    assert first.headers["Cache-Control"].startswith("public") and first.headers["ETag"]
    assert "Accept-Encoding" in first.headers["Vary"] and "Content-Encoding" not in first.headers
    again = client.get(Z16, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(Z16 + "?properties=land_use", headers={"If-None-Match": first.headers["ETag"]}).status_code == 200


def test_tiles_are_gzipped_when_the_client_accepts_it(client, tmp_path) -> None:
    plain = client.get(Z16)
    packed = client.get(Z16, headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.8"})
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"] and packed.mimetype == plain.mimetype
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data)
    assert _features(tmp_path, gzip.decompress(packed.data)) == _features(tmp_path, plain.data)
    # Each encoding is its own representation: its own ETag, and a 304 only for its own.
    etag = packed.headers["ETag"]
    assert etag != plain.headers["ETag"]
    assert client.get(Z16, headers={"Accept-Encoding": "gzip", "If-None-Match": etag}).status_code == 304
    assert client.get(Z16, headers={"If-None-Match": etag}).status_code == 200
    refused = client.get(Z16, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data


def test_an_empty_tile_stays_an_empty_body_when_gzip_is_accepted(client) -> None:
    resp = client.get("/collections/parcels/tiles/WebMercatorQuad/12/1803/3252", headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.data == b"" and "Content-Encoding" not in resp.headers


def test_gzip_round_trip_over_http(live_server) -> None:
    """requests, like a browser, asks for gzip and decodes it transparently."""
    import requests
    url = live_server + Z16 + "?properties=land_use"
    packed = requests.get(url, timeout=30)
    assert packed.headers["Content-Encoding"] == "gzip" and int(packed.headers["Content-Length"]) < len(packed.content)
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=30)
    assert "Content-Encoding" not in plain.headers and packed.content == plain.content


def test_points_and_zones_have_tiles_and_bad_tiles_are_errors(client) -> None:
    points = client.get("/collections/waterlogging-points/tiles/WebMercatorQuad/14/7212/13009")
    assert points.status_code == 200 and b"UN001" in points.data
    zones = client.get("/collections/flood-risk-zones/tiles/WebMercatorQuad/16/28850/52038")
    assert zones.status_code == 200 and b"high" in zones.data
    assert client.get("/collections/parcels/tiles/WebMercatorQuad/3/99/99").status_code == 404
    assert client.get("/collections/parcels/tiles/WorldCRS84Quad/3/1/1").status_code == 404
