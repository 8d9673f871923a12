"""`landflood etl raster`: DEM and flood-depth rasters become registered Cloud-Optimized GeoTIFFs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner, Result
from rasterio.transform import from_origin
from sqlalchemy import Engine, create_engine, text

from etl import raster as raster_mod
from etl.raster import RasterOptions, load_raster
from landflood.cli import main
from landflood.settings import Settings

# 11 km × 9 km of central Hanoi at 10 m, in VN-2000 / TM-3 105° (EPSG:5897).
ORIGIN = (583000.0, 2331000.0)
W, H = 1100, 900


def write(path: Path, data: np.ndarray, transform, crs: str | None, nodata: float | None = None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(data, 1)
    return path


def terrain(w: int = W, h: int = H) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return (5 + 0.002 * x + 3 * np.sin(y / 50)).astype("float32")


@pytest.fixture
def rasters(tmp_path: Path) -> dict[str, Path]:
    """Tiny rasters, each with one thing a user would get wrong (or right)."""
    src = tmp_path / "src"
    src.mkdir()
    dem = terrain()
    dem[:20, :20] = -9999
    small = terrain(100, 100)
    sentinel = small.copy()
    sentinel[:5, :] = -9999
    lonlat = (np.arange(300 * 200).reshape(200, 300) % 300 + 10).astype("int16")
    return {
        "dem": write(src / "DEM Hà Nội 10m.tif", dem, from_origin(*ORIGIN, 10, 10), "EPSG:5897", -9999),
        "wgs84": write(src / "dem_wgs84.tif", lonlat, from_origin(105.8, 21.05, 0.0003, 0.0003), "EPSG:4326"),
        "no_crs": write(src / "no_crs.tif", small, from_origin(*ORIGIN, 10, 10), None, -9999),
        "outside": write(src / "da_nang.tif", small, from_origin(108.15, 16.1, 0.0003, 0.0003), "EPSG:4326", -9999),
        "sentinel": write(src / "sentinel.tif", sentinel, from_origin(*ORIGIN, 10, 10), "EPSG:5897"),
        "non_square": write(src / "non_square.tif", small, from_origin(*ORIGIN, 10, 20), "EPSG:5897", -9999),
    }


@pytest.fixture
def var_dir(tmp_path: Path, fresh_db: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    var = tmp_path / "var"
    monkeypatch.setenv("LANDFLOOD_VAR_DIR", str(var))
    return var


@pytest.fixture
def fresh_engine(fresh_db: str) -> Iterator[Engine]:
    eng = create_engine(fresh_db)
    yield eng
    eng.dispose()


def etl_raster(*args: str) -> Result:
    return CliRunner().invoke(main, ["etl", "raster", *map(str, args)], terminal_width=200)


def registered(engine: Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, kind, scenario, path, crs, width, height, res_m, nodata, "
                                 "ST_Area(footprint) AS area FROM rasters")).mappings().all()
    return {r["name"]: dict(r) for r in rows}


def files(var: Path) -> list[Path]:
    return sorted(p for p in var.rglob("*") if p.is_file()) if var.exists() else []


def test_a_dem_in_the_city_crs_becomes_a_registered_cog(rasters, var_dir, fresh_engine) -> None:
    result = etl_raster(rasters["dem"], "--kind", "dem")

    assert result.exit_code == 0, result.output
    cog = var_dir / "rasters" / "dem" / "dem-ha-noi-10m.tif"
    assert "dem-ha-noi-10m: registered" in result.output and str(cog) in result.output
    assert files(var_dir) == [cog]
    with rasterio.open(cog) as f, rasterio.open(rasters["dem"]) as src:
        assert f.profile["tiled"] and (f.profile["blockxsize"], f.profile["blockysize"]) == (512, 512)
        assert f.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert f.compression.name == "deflate" and f.overviews(1)[:1] == [2]  # internal overviews
        assert (f.crs.to_epsg(), f.transform, f.dtypes[0], f.nodata) == (5897, src.transform, "float32", -9999)
        assert np.array_equal(f.read(1), src.read(1))
    row = registered(fresh_engine)["dem-ha-noi-10m"]
    assert (row["kind"], row["scenario"], row["path"], row["crs"]) == ("dem", None, str(cog), "EPSG:5897")
    assert (row["width"], row["height"], row["res_m"], row["nodata"]) == (W, H, 10.0, -9999.0)
    assert row["area"] == pytest.approx(11_000 * 9_000)


def test_loading_the_same_raster_again_changes_nothing_and_a_different_one_needs_replace(
        rasters, var_dir, fresh_engine, tmp_path) -> None:
    assert etl_raster(rasters["dem"], "--kind", "dem", "--name", "dem").exit_code == 0
    cog = var_dir / "rasters" / "dem" / "dem.tif"
    written = cog.stat().st_mtime_ns

    again = etl_raster(rasters["dem"], "--kind", "dem", "--name", "dem")
    assert again.exit_code == 0, again.output
    assert "unchanged" in again.output and cog.stat().st_mtime_ns == written

    higher = write(tmp_path / "higher.tif", terrain() + 1, from_origin(*ORIGIN, 10, 10), "EPSG:5897", -9999)
    refused = etl_raster(higher, "--kind", "dem", "--name", "dem")
    assert refused.exit_code == 1
    assert "already registered as 'dem'" in refused.output and "--replace" in refused.output
    assert cog.stat().st_mtime_ns == written

    replaced = etl_raster(higher, "--kind", "dem", "--name", "dem", "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert "dem: replaced" in replaced.output and files(var_dir) == [cog]
    with rasterio.open(cog) as f:
        assert f.read(1)[0, 0] == pytest.approx(6.0)


def test_a_wgs84_dem_is_reprojected_to_square_metres(rasters, var_dir, fresh_engine) -> None:
    result = etl_raster(rasters["wgs84"], "--kind", "dem")

    assert result.exit_code == 0, result.output
    assert "reprojected from EPSG:4326 to EPSG:5897" in result.output
    row = registered(fresh_engine)["dem_wgs84"]
    assert 28 < row["res_m"] < 35  # 0.0003° is about 31 m in Hanoi
    with rasterio.open(row["path"]) as f:
        assert f.crs.to_epsg() == 5897 and f.res[0] == f.res[1] == row["res_m"]
        data = f.read(1)
        valid = data[data != -9999]
        assert valid.min() >= 10 and valid.max() <= 309  # bilinear stays within the source values
        assert (data == -9999).any()  # the rotated footprint leaves nodata corners
        x, y = f.xy(f.height // 2, f.width // 2)
        assert 586000 < x < 593000 and 2321000 < y < 2328000  # 105.845° E, 21.02° N

    again = etl_raster(rasters["wgs84"], "--kind", "dem")
    assert again.exit_code == 0 and "unchanged" in again.output


@pytest.mark.parametrize(("raster", "says"), [
    ("no_crs", "has no CRS; pass --crs"),
    ("outside", "lies outside Hanoi"),
    ("sentinel", "declares no nodata value, but 500 pixel(s) are outside -100…9000 m (such as -9999)"),
    ("non_square", "non-square pixels (10 × 20)"),
])
def test_unusable_rasters_are_refused_with_what_to_do(rasters, var_dir, fresh_engine, raster, says) -> None:
    result = etl_raster(rasters[raster], "--kind", "dem")

    assert result.exit_code == 1
    assert says in " ".join(result.output.split())
    assert files(var_dir) == [] and registered(fresh_engine) == {}


def test_the_options_fix_a_missing_crs_or_nodata(rasters, var_dir, fresh_engine) -> None:
    assert "--nodata -9999" in etl_raster(rasters["sentinel"], "--kind", "dem").output

    assert etl_raster(rasters["no_crs"], "--kind", "dem", "--crs", "EPSG:5897").exit_code == 0
    fixed = etl_raster(rasters["sentinel"], "--kind", "dem", "--nodata", "-9999")

    assert fixed.exit_code == 0, fixed.output
    with rasterio.open(registered(fresh_engine)["sentinel"]["path"]) as f:
        assert (f.read(1) == -9999).sum() == 500 and f.nodata == -9999


def test_flood_depth_needs_an_existing_scenario(rasters, var_dir, fresh_engine) -> None:
    missing = etl_raster(rasters["dem"], "--kind", "flood-depth")
    assert missing.exit_code == 2 and "needs --scenario" in missing.output

    unknown = etl_raster(rasters["dem"], "--kind", "flood-depth", "--scenario", "p10-3h")
    assert unknown.exit_code == 1
    assert "flood scenario 'p10-3h' does not exist (no scenario is defined yet)" in unknown.output

    with fresh_engine.begin() as conn:
        conn.execute(text("INSERT INTO flood_scenarios (name, kind, rain_mm, duration_h, drainage_mm_h) "
                          "VALUES ('p10-3h', 'design', 120, 3, 50)"))
    loaded = etl_raster(rasters["dem"], "--kind", "flood-depth", "--scenario", "p10-3h", "--name", "depth-p10")

    assert loaded.exit_code == 0, loaded.output
    row = registered(fresh_engine)["depth-p10"]
    assert (row["kind"], row["scenario"]) == ("flood_depth", "p10-3h")
    assert files(var_dir) == [var_dir / "rasters" / "flood_depth" / "depth-p10.tif"]


def test_dry_run_writes_no_file_and_no_row(rasters, var_dir, fresh_engine) -> None:
    result = etl_raster(rasters["wgs84"], "--kind", "dem", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "would be registered" in result.output and "nothing was written" in result.output
    assert files(var_dir) == [] and registered(fresh_engine) == {}


def test_a_failed_commit_leaves_neither_file_nor_row(rasters, var_dir, fresh_engine, monkeypatch) -> None:
    settings = Settings()
    first = load_raster(fresh_engine, settings, rasters["dem"], "dem", None, RasterOptions(name="dem"))
    assert first.exit_code == 0
    cog = var_dir / "rasters" / "dem" / "dem.tif"
    before = cog.read_bytes()
    install = raster_mod._install

    def commit_fails(vrt, target, old, commit) -> None:
        def boom() -> None:
            raise ConnectionError("the server went away")
        install(vrt, target, old, boom)

    monkeypatch.setattr(raster_mod, "_install", commit_fails)
    with pytest.raises(ConnectionError):
        load_raster(fresh_engine, settings, rasters["wgs84"], "dem", None, RasterOptions(name="dem", replace=True))
    with pytest.raises(ConnectionError):
        load_raster(fresh_engine, settings, rasters["wgs84"], "dem", None, RasterOptions(name="new"))

    assert files(var_dir) == [cog] and cog.read_bytes() == before
    assert set(registered(fresh_engine)) == {"dem"} and registered(fresh_engine)["dem"]["res_m"] == 10
