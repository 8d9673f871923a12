"""Tests of ``landflood sample`` / etl.sample: the files the ETL loads, as a user would check them.

One small sample (2,000 parcels) is written per module and checked against the contract; a
second one with the same seed must be byte-identical. Parcel-only checks (other seed, legacy
encodings) call the generator directly, so they need no DEM and stay quick.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyogrio
import pytest
import rasterio
import shapely
from click.testing import CliRunner

from etl.encoding import decode
from etl.sample import write_sample
from etl.sample.admin import Admin
from etl.sample.common import to_city, to_lonlat
from etl.sample.output import write_parcels
from etl.sample.parcels import ParcelGenerator
from landflood.cli import main

SEED, N = 7, 2_000
ROOT = Path(__file__).resolve().parents[2]
FILES = ("admin_units.geojson", "parcels.gpkg", "waterlogging_points.csv", "flood_events.csv", "rainfall.csv",
         "dem.tif", "README.txt")
FIELDS = ["MaXa", "SoTo", "SoThua", "MaLoaiDat", "DienTich", "DiaChi", "TenChu", "SoCCCD", "NamSinh"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("sample")
    return out, write_sample(out, parcels=N, seed=SEED)


@pytest.fixture(scope="module")
def parcels(sample):
    return pyogrio.read_dataframe(sample[0] / "parcels.gpkg", layer="thua_dat")


@pytest.fixture(scope="module")
def units(sample) -> list[dict]:
    return json.loads((sample[0] / "admin_units.geojson").read_text(encoding="utf-8"))["features"]


def _city(feature: dict) -> shapely.Geometry:
    """A GeoJSON feature's geometry in EPSG:5897."""
    geom = shapely.geometry.shape(feature["geometry"])
    return shapely.transform(geom, lambda c: np.column_stack(to_city(c[:, 0], c[:, 1])))


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _overlap_area(geoms: np.ndarray) -> float:
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    return float(shapely.area(shapely.intersection(geoms[a[keep]], geoms[b[keep]])).sum())


def _two_hour_max(values: list[float]) -> float:
    return max(x + y for x, y in itertools.pairwise(values))


# --- files, counts, determinism -----------------------------------------------------------

def test_writes_every_file_with_the_counts_it_reports(sample, parcels):
    out, counts = sample
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert counts["parcels"] == N == len(parcels)
    assert counts["waterlogging_points"] == len(_csv(out / "waterlogging_points.csv")) >= 30
    assert counts["flood_events"] == len(_csv(out / "flood_events.csv"))
    assert counts["rainfall_rows"] == len(_csv(out / "rainfall.csv"))
    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert f"--seed {SEED}" in readme and f"{N} features" in readme


def test_same_seed_writes_identical_files(sample, tmp_path):
    again = write_sample(tmp_path, parcels=N, seed=SEED)
    assert again == sample[1]
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (sample[0] / name).read_bytes(), name


def test_another_seed_gives_other_parcels():
    tables = [pa.Table.from_batches(list(ParcelGenerator(seed, Admin(seed)).batches(300))) for seed in (1, 2)]
    assert tables[0].column("TenChu").to_pylist() != tables[1].column("TenChu").to_pylist()
    assert tables[0].column("geometry").to_pylist() != tables[1].column("geometry").to_pylist()


# --- parcels ------------------------------------------------------------------------------

def test_parcels_are_in_vn2000_with_the_cadastral_fields(sample):
    info = pyogrio.read_info(sample[0] / "parcels.gpkg", layer="thua_dat")
    assert info["crs"] == "EPSG:5897"
    assert list(info["fields"]) == FIELDS
    assert info["geometry_type"] == "MultiPolygon"


def test_parcel_keys_are_unique_and_well_formed(parcels):
    assert not parcels.duplicated(["MaXa", "SoTo", "SoThua"]).any()
    assert parcels.MaXa.str.fullmatch(r"\d{5}").all()
    assert (parcels.SoTo >= 1).all() and (parcels.SoThua >= 1).all()
    # numbering restarts: several communes, several sheets each, parcel 1 on every sheet
    firsts = parcels.groupby(["MaXa", "SoTo"]).SoThua.min()
    assert (firsts == 1).all() and parcels.MaXa.nunique() > 3 and len(firsts) > parcels.MaXa.nunique()


def test_parcels_are_valid_and_do_not_overlap(parcels):
    geoms = parcels.geometry.values
    assert shapely.is_valid(geoms).all() and not shapely.is_empty(geoms).any()
    assert _overlap_area(np.asarray(geoms)) < 0.01  # m² over all pairs


def test_parcels_lie_in_the_commune_they_name(parcels, units):
    old = {u["properties"]["code"]: _city(u) for u in units
           if u["properties"]["level"] == "commune" and u["properties"]["valid_to"]}
    points = shapely.point_on_surface(parcels.geometry.values)
    inside = [shapely.buffer(old[code], 0.01).contains(p) for code, p in zip(parcels.MaXa, points, strict=True)]
    assert all(inside)


def test_land_use_is_a_realistic_mix_of_current_and_legacy_codes(parcels):
    leaves = {r["code"] for r in _csv(ROOT / "migrations/data/land_use_types.csv")}
    legacy = {r["legacy_code"] for r in _csv(ROOT / "migrations/data/land_use_legacy_codes.csv")}
    codes = parcels.MaLoaiDat.value_counts(normalize=True)
    assert set(codes.index) <= leaves | legacy
    assert 0.6 < codes["ODT"] < 0.97 and "TMD" in codes
    assert len(codes) >= 5  # 2,000 parcels around the old quarter: mostly houses and shops


def test_legal_area_is_close_to_the_geometry(parcels):
    ratio = parcels.DienTich / shapely.area(parcels.geometry.values)
    assert ratio.between(0.8, 1.2).all() and abs(ratio.median() - 1) < 0.01
    assert (parcels.DienTich.round(1) == parcels.DienTich).all()  # one decimal, exactly


def test_old_quarter_lots_are_small_tube_houses(parcels):
    hang_gai = parcels[parcels.MaXa == "00064"]  # Phường Hàng Gai
    assert len(hang_gai) > 50
    assert 35 < shapely.area(hang_gai.geometry.values).mean() < 90


def test_text_is_nfc_vietnamese(parcels, units):
    names = list(parcels.TenChu) + list(parcels.DiaChi) + [u["properties"]["name"] for u in units]
    assert all(unicodedata.is_normalized("NFC", t) for t in names)
    assert any("ễ" in t or "ư" in t or "Đ" in t for t in parcels.TenChu)
    assert parcels.DiaChi.str.contains(r"^Số \d+ .*, phường .*, quận ", regex=True).mean() > 0.9


def test_cccd_numbers_follow_the_format_and_the_birth_year(parcels):
    people = parcels[parcels.SoCCCD.notna()]
    assert len(people) > 0.9 * len(parcels)
    assert people.SoCCCD.str.fullmatch(r"001[0-3]\d{8}").all()
    century = people.SoCCCD.str[3].astype(int) // 2
    assert ((people.NamSinh >= 2000) == (century == 1)).all()
    assert (people.SoCCCD.str[4:6].astype(int) == people.NamSinh % 100).all()
    owner = defaultdict(set)
    for cccd, name, year in zip(people.SoCCCD, people.TenChu, people.NamSinh, strict=True):
        owner[cccd].add((name, year))
    assert all(len(v) == 1 for v in owner.values())  # one number, one person


@pytest.mark.parametrize("encoding", ["vni", "tcvn3"])
def test_legacy_shapefile_has_no_cpg_and_decodes_back(tmp_path, encoding):
    n = 400
    expected = pa.Table.from_batches(list(ParcelGenerator(SEED, Admin(SEED)).batches(n)))
    path = tmp_path / "parcels.shp"
    write_parcels(path, ParcelGenerator(SEED, Admin(SEED)).batches(n), "shp", encoding)
    assert not path.with_suffix(".cpg").exists() and path.with_suffix(".prj").exists()
    records = _dbf_records(path.with_suffix(".dbf"))
    assert len(records) == n
    for field in ("DiaChi", "TenChu"):
        got = [decode(r[field], encoding) for r in records]
        want = expected.column(field).to_pylist()
        if encoding == "tcvn3":  # TCVN3 writes most capitals with the lower-case code
            got, want = [g.lower() for g in got], [w.lower() for w in want]
        assert got == want
    assert any(b >= 0x80 for r in records for b in r["DiaChi"])  # really 8-bit, not UTF-8 or ASCII
    with pytest.raises(UnicodeDecodeError):
        b"".join(r["TenChu"] for r in records).decode("utf-8")


def _dbf_records(path: Path) -> list[dict[str, bytes]]:
    """Raw field bytes of a DBF (no decoding, so the test sees what old software would)."""
    data = path.read_bytes()
    n, header, size = int.from_bytes(data[4:8], "little"), int.from_bytes(data[8:10], "little"), \
        int.from_bytes(data[10:12], "little")
    fields, pos = [], 32
    while data[pos] != 0x0D:
        fields.append((data[pos:pos + 11].rstrip(b"\0").decode("ascii"), data[pos + 16]))
        pos += 32
    out = []
    for k in range(n):
        rec, off = data[header + k * size: header + (k + 1) * size], 1
        row = {}
        for name, width in fields:
            row[name] = rec[off:off + width].rstrip(b" ")
            off += width
        out.append(row)
    return out


# --- administrative units -----------------------------------------------------------------

def test_units_before_and_after_2025_each_tile_the_same_area(units):
    old = [_city(u) for u in units if u["properties"]["level"] == "commune" and u["properties"]["valid_to"]]
    new = [_city(u) for u in units if u["properties"]["valid_to"] is None]
    districts = [_city(u) for u in units if u["properties"]["level"] == "district"]
    area_old, area_new = shapely.union_all(old), shapely.union_all(new)
    assert shapely.symmetric_difference(area_old, area_new).area < 1e-6 * area_old.area
    assert shapely.symmetric_difference(area_old, shapely.union_all(districts)).area < 1e-6 * area_old.area
    for tiling in (old, new):
        assert _overlap_area(np.array(tiling, dtype=object)) < 1.0
        assert abs(sum(g.area for g in tiling) - area_old.area) < 1e-6 * area_old.area


def test_units_carry_codes_dates_and_predecessors(units):
    props = [u["properties"] for u in units]
    by_code = defaultdict(list)
    for p in props:
        by_code[p["code"]].append(p)
    old = {p["code"] for p in props if p["level"] == "commune" and p["valid_to"]}
    districts = {p["code"] for p in props if p["level"] == "district"}
    assert {"00061", "00070"} <= old and by_code["00061"][0]["name"] == "Phường Hàng Bạc"
    new = [p for p in props if p["valid_to"] is None]
    assert any(p["code"] == "00070" and p["name"] == "Phường Hoàn Kiếm" for p in new)
    for p in props:
        assert p["kind"] in {"thanh_pho", "tinh", "quan", "huyen", "thi_xa", "phuong", "xa", "thi_tran"}
        if p in new:
            assert p["valid_from"] == "2025-07-01" and p["parent_code"] == "" and p["predecessors"]
            assert set(p["predecessors"].split(",")) <= old
        else:
            assert p["valid_to"] == "2025-07-01" and p["valid_from"] < "2025-07-01"
            assert p["predecessors"] == ""
            assert (p["parent_code"] in districts) == (p["level"] == "commune")
    assert max(len(p["predecessors"].split(",")) for p in new) >= 2
    # an old ward split between new ones
    parents = defaultdict(set)
    for p in new:
        for code in p["predecessors"].split(","):
            parents[code].add(p["code"])
    assert any(len(v) >= 2 for v in parents.values())
    assert all(u["geometry"]["type"] == "MultiPolygon" for u in units)


# --- DEM ----------------------------------------------------------------------------------

def test_dem_has_lakes_below_and_dykes_above_the_city(sample):
    with rasterio.open(sample[0] / "dem.tif") as dem:
        assert dem.crs.to_epsg() == 5897 and dem.nodata == -9999 and dem.res == (5.0, 5.0)
        assert dem.dtypes[0] == "float32" and dem.profile["tiled"] and dem.compression.name.lower() == "deflate"

        def at(lon, lat, radius=0.0):
            x, y = to_city(lon, lat)
            angles = np.linspace(0, 2 * np.pi, 16, endpoint=False) if radius else np.zeros(1)
            pts = zip(x + radius * np.cos(angles), y + radius * np.sin(angles), strict=True)
            return np.array([v[0] for v in dem.sample(pts)])

        lake, around = at(105.8523, 21.0287), at(105.8523, 21.0287, radius=500)
        assert 3 <= lake.max() <= 5 and (around > lake.max() + 2).all()  # Hoàn Kiếm lake
        x, y = to_city(np.linspace(105.832, 105.850, 400), np.full(400, 21.062))
        transect = np.array([v[0] for v in dem.sample(zip(x, y, strict=True))])  # West Lake -> Red River at Nghi Tàm
        assert transect.max() > 13.5 and transect.max() - np.median(transect) > 3  # the dyke
        assert at(105.8645, 21.0430).max() < 5  # the river channel at Long Biên bridge
        data = dem.read(1, masked=True)
        assert 2 <= data.min() and data.max() <= 15 and 6 < np.ma.median(data) < 11


def test_hotspots_sit_in_local_depressions(sample):
    spots = _csv(sample[0] / "waterlogging_points.csv")
    with rasterio.open(sample[0] / "dem.tif") as dem:
        deeper = 0
        for s in spots:
            x, y = to_city(float(s["lon"]), float(s["lat"]))
            centre = next(dem.sample([(x, y)]))[0]
            ring = [v[0] for v in dem.sample([(x + 150 * np.cos(a), y + 150 * np.sin(a))
                                             for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)])]
            deeper += centre < np.median(ring) - 0.2
    assert deeper >= 0.8 * len(spots)


# --- waterlogging, rain -------------------------------------------------------------------

def test_hotspots_are_real_streets_in_the_sample_area(sample, units):
    spots = _csv(sample[0] / "waterlogging_points.csv")
    assert {"Nguyễn Khuyến", "Phan Bội Châu", "Liễu Giai", "Minh Khai"} <= {s["street"] for s in spots}
    area = shapely.union_all([_city(u) for u in units if u["properties"]["level"] == "district"])
    assert all(area.contains(shapely.Point(to_city(float(s["lon"]), float(s["lat"])))) for s in spots)
    lon, lat = to_lonlat(*to_city(105.8392, 21.0278))
    assert abs(lon - 105.8392) < 1e-7 and abs(lat - 21.0278) < 1e-7


def test_rainfall_has_a_storm_over_150_mm_in_two_hours(sample):
    rows = _csv(sample[0] / "rainfall.csv")
    series = defaultdict(list)
    for r in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00\+07:00", r["time"])
        storm = "30 Sep" if r["time"] > "2025-09-30" else "small"
        series[(r["station_id"], storm)].append(float(r["rain_mm"]))
    stations = {s for s, _ in series}
    assert 8 <= len(stations) <= 15 and all(len(v) == 24 for v in series.values())
    storm = [_two_hour_max(v) for (s, name), v in series.items() if name == "30 Sep"]
    small = [_two_hour_max(v) for (s, name), v in series.items() if name == "small"]
    assert max(storm) > 150 and min(storm) > 50 and max(small) < 70
    peaks = [int(np.argmax(v)) for (s, name), v in series.items() if name == "30 Sep"]
    assert max(peaks) - min(peaks) <= 4  # one storm crossing the city, not random noise


def test_flood_events_are_plausible(sample):
    events = _csv(sample[0] / "flood_events.csv")
    codes = {s["code"] for s in _csv(sample[0] / "waterlogging_points.csv")}
    assert {e["point_code"] for e in events} <= codes
    assert all(0.1 <= float(e["max_depth_m"]) <= 0.8 and int(e["duration_min"]) > 0 for e in events)
    assert all(e["started_at"].endswith("+07:00") for e in events)
    storm = {e["point_code"] for e in events if e["started_at"].startswith("2025-09-30")}
    assert len(storm) >= 0.8 * len(codes)
    assert len({(e["point_code"], e["started_at"]) for e in events}) == len(events)


# --- command line -------------------------------------------------------------------------

def test_cli_refuses_a_non_empty_directory_without_overwrite(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["sample", "--out", str(tmp_path), "--parcels", "10"])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (tmp_path / "notes.txt").exists()


def test_cli_refuses_a_legacy_encoding_for_a_geopackage(tmp_path):
    result = CliRunner().invoke(main, ["sample", "--out", str(tmp_path / "s"), "--encoding", "vni"])
    assert result.exit_code == 2 and "--format shp" in result.output


def test_the_sample_city_loads_with_no_reject(sample, fresh_db: str, tmp_path: Path) -> None:
    """What the README promises of `make demo`: every file of the sample loads, exit 0, nothing rejected."""
    out, _ = sample
    loads = [("admin", "admin_units.geojson"), ("parcels", "parcels.gpkg"), ("waterlogging", "waterlogging_points.csv"),
             ("waterlogging", "flood_events.csv"), ("rainfall", "rainfall.csv")]
    for command, name in loads:
        report = tmp_path / f"{name}.json"
        result = CliRunner().invoke(main, ["etl", command, str(out / name), "--report", str(report)],
                                    env={"LANDFLOOD_DATABASE_URL": fresh_db})
        doc = json.loads(report.read_text(encoding="utf-8"))
        assert (result.exit_code, doc["rejected"]) == (0, []), (name, result.output)
        assert doc["loaded"] > 0, name
    result = CliRunner().invoke(main, ["etl", "raster", str(out / "dem.tif"), "--kind", "dem"],
                                env={"LANDFLOOD_DATABASE_URL": fresh_db, "LANDFLOOD_VAR_DIR": str(tmp_path / "var")})
    assert result.exit_code == 0, result.output
