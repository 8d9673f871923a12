"""Real clients against the live service: GDAL's OGC API Features driver and OWSLib."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from sqlalchemy import create_engine, text

from tests.api.conftest import WARDS


def _db_count(api_db: str, ward: str) -> int:
    eng = create_engine(api_db)
    with eng.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM parcel_versions WHERE valid_to IS NULL AND ward_code = :w"),
                         {"w": ward}).scalar()
    eng.dispose()
    return n


@pytest.fixture(scope="module")
def gdal() -> None:
    # `make setup` installs gdal-bin; a missing ogrinfo is a broken set-up, not a reason to skip.
    if not shutil.which("ogrinfo"):
        pytest.fail("ogrinfo (gdal-bin) is not installed: run `make setup` (or apt-get install gdal-bin)")


def test_gdal_lists_the_collections(gdal, live_server) -> None:
    out = subprocess.run(["ogrinfo", "-ro", "-q", f"OAPIF:{live_server}"], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    for layer in ("parcels", "admin-units", "waterlogging-points", "flood-events", "rain-gauges",
                  "flood-risk-zones"):
        assert layer in out


def test_gdal_reads_every_parcel_of_a_ward_through_paging(gdal, live_server, api_db, tmp_path) -> None:
    out = tmp_path / "ward.geojson"
    subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{live_server}/collections/parcels",
                    "-oo", "PAGE_SIZE=40", "-where", "ward_code = '00082'"],
                   capture_output=True, text=True, check=True, timeout=300)
    feats = json.loads(out.read_text())["features"]
    assert len(feats) == _db_count(api_db, "00082") == WARDS["00082"]
    # GDAL 3.6 guesses field types from values and reads parcel_id 00082-1-1 as a date; the
    # feature id, which it keeps as text, is the same value.
    assert len({f["properties"]["id"] for f in feats}) == len(feats)
    assert all(f["properties"]["ward_code"] == "00082" for f in feats)


def test_gdal_spatial_filter_matches_the_api(gdal, live_server, client, tmp_path) -> None:
    # GDAL 3.6 has no CRS open option for OAPIF (3.7 added it), so the CRS tests use HTTP directly.
    bbox = ["105.8542", "21.0285", "105.8550", "21.0290"]
    out = tmp_path / "bbox.geojson"
    subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{live_server}/collections/parcels",
                    "-spat", *bbox], capture_output=True, text=True, check=True, timeout=120)
    by_gdal = {f["properties"]["id"] for f in json.loads(out.read_text())["features"]}
    by_api = {f["id"] for f in client.get(f"/collections/parcels/items?bbox={','.join(bbox)}&limit=1000").get_json()[
        "features"]}
    assert by_gdal == by_api and "00070-1-1" in by_gdal


def test_gdal_leaves_a_where_clause_to_the_server(gdal, live_server, tmp_path) -> None:
    """GDAL reads /openapi (and /conformance, from 3.7) to decide whether the server filters: it
    then sends -where as a CQL2 filter instead of fetching every parcel and filtering itself."""
    out = tmp_path / "where.geojson"
    run = subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{live_server}/collections/parcels",
                          "-where", "ward_code = '00082' AND parcel_no > 95", "--debug", "on"],
                         capture_output=True, text=True, check=True, timeout=120)
    pages = re.findall(r"Fetch\((http\S*/items\?\S*)\)", run.stderr)
    assert pages and all("filter=" in url for url in pages[1:]), pages  # the first only probes the layer
    feats = json.loads(out.read_text())["features"]
    assert sorted(f["properties"]["parcel_no"] for f in feats) == [96, 97, 98, 99, 100]


def test_owslib_reads_every_parcel_of_a_ward(live_server, api_db) -> None:
    from owslib.ogcapi.features import Features

    api = Features(live_server)
    assert "parcels" in {c["id"] for c in api.collections()["collections"]}
    assert "ward_code" in api.collection_queryables("parcels")["properties"]
    seen, offset = [], 0
    while True:
        page = api.collection_items("parcels", ward_code="00070", limit=60, offset=offset)
        seen += [f["id"] for f in page["features"]]
        if page["numberReturned"] < 60:
            break
        offset += 60
    assert len(seen) == len(set(seen)) == _db_count(api_db, "00070")
