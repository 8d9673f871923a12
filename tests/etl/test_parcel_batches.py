"""A load merged batch by batch gives what a load of the whole file at once gives."""

from __future__ import annotations

from pathlib import Path

from shapely.geometry import Polygon
from sqlalchemy import create_engine, text

from etl.parcels import ParcelOptions, load_parcels
from landdb.parcels import ParcelKey
from tests.etl.parcels_data import counts, parcels_frame, scalar


def _load(url: str, path: Path, **opts):
    engine = create_engine(url)
    try:
        return load_parcels(engine, path, ParcelOptions(**opts))
    finally:
        engine.dispose()


def test_duplicates_across_batches_are_found_and_the_first_row_wins(db: str, tmp_path: Path) -> None:
    frame = parcels_frame(10, overrides={(7, "SoThua"): 2, (8, "SoThua"): 2, (9, "MaLoaiDat"): "XYZ"})
    frame.to_file(tmp_path / "thua.gpkg")
    strict = _load(db, tmp_path / "thua.gpkg", batch_size=3, strict=True)
    assert strict.error is not None and counts(db)["parcels"] == 0
    report = _load(db, tmp_path / "thua.gpkg", batch_size=3)
    reasons = {r.row: r.reason for r in report.rejected}
    assert reasons == {
        8: "duplicate key 00070-12-2 (first at row 2)",
        9: "duplicate key 00070-12-2 (first at row 2)",
        10: "unknown land-use code 'XYZ' (not in Circular 08/2024 nor 27/2018)",
    }
    assert [(r.row, r.reason) for r in strict.rejected] == sorted(reasons.items())
    assert (report.read, report.inserted, report.committed) == (10, 7, True)
    assert report.owners["rights_inserted"] == 7
    address = scalar(db, "SELECT address FROM parcel_versions WHERE parcel_no = 2")
    assert address == "Số 2 phố Hàng Bạc, phường Hàng Bạc"


def test_key_parts_beyond_the_packed_keys_bits_are_rejected(db: str, tmp_path: Path) -> None:
    parcels_frame(3, overrides={(1, "SoTo"): 40000, (2, "SoThua"): 2**31}).to_file(tmp_path / "thua.gpkg")
    report = _load(db, tmp_path / "thua.gpkg")
    assert [(r.row, r.reason) for r in report.rejected] == [
        (2, "map sheet number 40000 is larger than 32767"),
        (3, "parcel number 2147483648 is larger than 2,147,483,647")]
    assert report.inserted == 1


def test_the_packed_key_is_the_one_the_database_computes(db: str, tmp_path: Path) -> None:
    far = Polygon([(588000, 2326000), (588010, 2326000), (588010, 2326010), (588000, 2326010)])
    parcels_frame(1, overrides={(0, "SoTo"): 32767, (0, "SoThua"): 2**31 - 1, (0, "geometry"): far}).to_file(
        tmp_path / "thua.gpkg")
    assert _load(db, tmp_path / "thua.gpkg").inserted == 1
    engine = create_engine(db)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT ward_code, map_sheet, parcel_no, parcel_key FROM parcel_versions")).one()
    engine.dispose()
    assert ParcelKey(row.ward_code, row.map_sheet, row.parcel_no).packed == row.parcel_key
