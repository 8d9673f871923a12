"""DEM conditioning and the waterlogging model against answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS, Geod, Transformer
from scipy import ndimage

from flood.depressions import depressions
from flood.fill import OUTLET, condition, fill_depressions
from flood.grid import Grid, ellipsoid_band_area
from flood.model import simulate

CITY = CRS.from_epsg(5897)


def grid(z, res: float = 1.0, crs: CRS = CITY, origin=(585000.0, 2325000.0)) -> Grid:
    z = np.asarray(z, np.float32)
    return Grid(z, Affine(res, 0, origin[0], 0, -res, origin[1]), crs)


def brute_fill(z: np.ndarray) -> np.ndarray:
    """Filling by repeated lowering (Planchon & Darboux): slow, obviously right."""
    valid = ~np.isnan(z)
    edge = valid & ~ndimage.binary_erosion(valid, np.ones((3, 3)), border_value=0)
    w = np.where(edge, z, np.where(valid, np.inf, np.nan)).astype(np.float64)
    while True:
        p = np.pad(np.where(np.isnan(w), np.inf, w), 1, constant_values=np.inf)
        h, wd = z.shape
        low = np.min([p[1 + dy:1 + dy + h, 1 + dx:1 + dx + wd] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                      if dy or dx], axis=0)
        new = np.where(valid & ~edge, np.maximum(z, np.minimum(w, low)), w)
        if np.array_equal(new, w, equal_nan=True):
            return new
        w = new


def test_priority_flood_matches_brute_force_with_nodata():
    rng = np.random.default_rng(5)
    z = rng.random((40, 50)).astype(np.float32) * 5
    z[10:18, 20:26] = np.nan  # a nodata hole drains what touches it
    z[0, :7] = np.nan
    assert np.array_equal(fill_depressions(z), brute_fill(z).astype(np.float32), equal_nan=True)


def test_priority_flood_matches_brute_force_on_terraced_terrain():
    rng = np.random.default_rng(11)
    smooth = ndimage.gaussian_filter(rng.random((60, 70)), 2) * 30
    z = np.round(smooth + rng.random((60, 70)) * 0.5, 1)  # 10 cm steps: many flats and ties
    assert np.array_equal(fill_depressions(z), brute_fill(z).astype(np.float32))
    assert np.array_equal(condition(grid(z)).filled, fill_depressions(z))


def test_single_pit_fills_to_its_spill_elevation():
    z = np.full((7, 7), 10.0)
    z[1:6, 1:6] = 6.0
    z[3, 3] = 4.0
    z[0, 3] = 8.0  # the lowest point of the rim
    filled = fill_depressions(z)
    assert np.all(filled[1:6, 1:6] == 8.0)
    assert filled[0, 3] == 8.0 and filled[0, 0] == 10.0
    (pit,) = depressions(grid(z, res=2.0))
    assert pit.spill_elevation_m == 8.0
    assert pit.volume_m3 == pytest.approx((24 * 2 + 4) * 4.0)  # depth × 4 m² cells
    assert pit.max_depth_m == 4.0 and pit.cells == 25
    assert pit.geometry.area == pytest.approx(25 * 4.0)


def test_flats_drain_and_epsilon_gives_every_cell_a_way_down():
    z = np.full((6, 9), 6.0)
    z[1:-1, 1:-1] = 5.0  # a flat plain walled in, open to the west
    z[1:-1, 0] = 4.0
    cond = condition(grid(z))
    assert np.all(cond.directions[1:-1, 1:-1] != OUTLET)  # nobody is stuck on the flat
    assert cond.accumulation[1:-1, 0].sum() >= 4 * 8  # the plain and its outlets drain out to the west
    eps = fill_depressions(z, epsilon=True)
    assert np.all(eps >= z) and np.all(eps - z < 1e-4)
    z2 = np.pad(np.full((5, 5), 5.0), 1, constant_values=9.0)
    z2[0, 3] = 7.0
    eps2 = fill_depressions(z2, epsilon=True)
    inner = eps2[1:-1, 1:-1]
    assert len(np.unique(inner)) > 1 and inner.min() > 7.0  # raised, with a gradient to the spill point


def test_d8_directions_and_accumulation_on_a_tilted_plane():
    y, x = np.mgrid[0:5, 0:5]
    cond = condition(grid(10.0 - x * 1.0))  # falls towards the east
    assert np.all(cond.directions[:, :-1] == 1)  # 1 = east
    assert np.all(cond.directions[:, -1] == OUTLET)
    assert list(cond.accumulation[2]) == [1, 2, 3, 4, 5]
    assert cond.upstream_area_m2[2, -1] == pytest.approx(5.0)


def bowl(n: int = 41, rim: float = 99.0) -> np.ndarray:
    y, x = np.mgrid[0:n, 0:n] - n // 2
    return np.minimum(rim, 5.0 + 0.01 * (x * x + y * y)).astype(np.float32)


def test_closed_basin_keeps_all_the_rain_at_the_right_level():
    z = bowl()
    g = grid(z, res=5.0)
    res = simulate(g, rain_mm=30.0, duration_h=1.0, drainage_mm_h=0.0)
    rain = 0.03 * z.size * 25.0
    assert res.rain_volume_m3 == pytest.approx(rain)
    assert res.outflow_volume_m3 == pytest.approx(0.0, abs=1e-9)
    assert res.stored_volume_m3 == pytest.approx(rain, rel=1e-9)
    wet = res.depth > 0
    level = float(np.max((res.depth + z)[wet]))  # one flat water surface
    assert np.allclose((res.depth + z)[wet], level, atol=1e-5)
    assert float(np.sum(np.clip(level - z, 0, None)) * 25.0) == pytest.approx(rain, rel=1e-6)


def two_pits() -> np.ndarray:
    """Two pits split by a saddle at 7 m; the east one spills over the 9 m rim to the east edge."""
    z = np.full((5, 11), 10.0)
    z[1:4, 1:5] = 5.0   # west pit: 12 cells at 5 m
    z[1:4, 6:10] = 6.0  # east pit: 12 cells at 6 m
    z[2, 5] = 7.0       # saddle
    z[1, 5] = z[3, 5] = 10.0
    z[2, 10] = 9.0      # the way out
    return z.astype(np.float32)


def test_a_full_pit_spills_into_its_neighbour():
    z = two_pits()
    # only the west pit gets rain: 2 m³ a cell on its 12 cells = 24 m³; it holds 12 × 2 = 24 m³ up to 7 m
    rain = np.zeros(z.shape)
    rain[1:4, 1:5] = 3000.0  # 3 m of rain: 36 m³, 12 m³ spill east
    res = simulate(grid(z), rain, 1.0, drainage_mm_h=0.0)
    assert res.depth[2, 2] == pytest.approx(2.0)  # west pit full to the saddle
    assert res.depth[2, 7] == pytest.approx(1.0)  # 12 m³ on 12 cells
    assert res.outflow_volume_m3 == pytest.approx(0.0, abs=1e-9)


def test_two_pits_merge_into_one_lake():
    z = two_pits()
    # 1 m of rain on all 55 cells; each pit collects its own catchment (rim and saddle cells drain
    # inwards), 55 m³ in all, more than the 24 + 12 m³ below the saddle: one lake above 7 m
    res = simulate(grid(z), 1000.0, 1.0, drainage_mm_h=0.0)
    surface = (res.depth + z)[res.depth > 0]
    assert np.allclose(surface, surface[0], atol=1e-5)
    assert surface[0] > 7.0 and surface[0] <= 9.0
    # 24 + 25 cells (with the saddle) under water: V(h) = 12(h-5) + 12(h-6) + (h-7) = 55 → h = 9.0... capped by the rim
    assert res.stored_volume_m3 + res.outflow_volume_m3 == pytest.approx(55.0)
    level = surface[0]
    assert 12 * (level - 5) + 12 * (level - 6) + (level - 7) == pytest.approx(res.stored_volume_m3, rel=1e-6)


def test_nodata_edges_are_outlets():
    z = bowl(21)
    z[10, :3] = np.nan  # a nodata notch reaching into the bowl's side
    z[10, 3] = 5.5
    res = simulate(grid(z, res=5.0), 200.0, 1.0, drainage_mm_h=0.0)  # more than the 980 m³ below 5.5 m
    wet = res.depth > 0
    assert wet.any()
    assert np.max((res.depth + z)[wet]) <= 5.5 + 1e-5  # the lake cannot rise above the notch
    assert res.outflow_volume_m3 > 0
    assert abs(res.balance_error()) < 1e-6


def test_mass_balance_within_a_thousandth_on_rough_terrain():
    rng = np.random.default_rng(7)
    z = ndimage.gaussian_filter(rng.random((120, 150)), 3) * 20 + rng.random((120, 150)) * 0.2
    z[40:50, 60:70] = np.nan
    infil = rng.random(z.shape) * 10
    drains = np.full(z.shape, 20.0)
    res = simulate(grid(z, res=5.0), 120.0, 2.0, drains, infil)
    assert res.infiltrated_volume_m3 > 0 and res.drained_volume_m3 > 0 and res.outflow_volume_m3 > 0
    assert res.stored_volume_m3 > 0
    assert abs(res.balance_error()) < 1e-3
    assert abs(res.balance_error()) < 1e-9  # in fact exact to rounding


def test_same_terrain_in_5897_and_4326_gives_the_same_volumes():
    def terrain(x: np.ndarray, y: np.ndarray) -> np.ndarray:  # metres around a centre in EPSG:5897
        r2 = ((x - cx) ** 2 + (y - cy) ** 2) / 300.0**2
        return 12.0 - 6.0 * np.exp(-r2) + 0.5 * np.sin(x / 97.0)

    cx, cy = 586000.0, 2326000.0
    res = 10.0
    xs = cx - 1000 + res * (np.arange(200) + 0.5)
    ys = cy + 1000 - res * (np.arange(200) + 0.5)
    xx, yy = np.meshgrid(xs, ys)
    proj = grid(terrain(xx, yy), res, CITY, (cx - 1000, cy + 1000))
    tr = Transformer.from_crs(CITY, CRS.from_epsg(4326), always_xy=True)
    lon0, lat1 = tr.transform(cx - 1000, cy + 1000)
    lon1, lat0 = tr.transform(cx + 1000, cy - 1000)
    n = 220
    dlon, dlat = (lon1 - lon0) / n, (lat1 - lat0) / n
    lon, lat = np.meshgrid(lon0 + dlon * (np.arange(n) + 0.5), lat1 - dlat * (np.arange(n) + 0.5))
    gx, gy = Transformer.from_crs(CRS.from_epsg(4326), CITY, always_xy=True).transform(lon, lat)
    geo = Grid(terrain(gx, gy).astype(np.float32), Affine(dlon, 0, lon0, 0, -dlat, lat1), CRS.from_epsg(4326))
    a = simulate(proj, 200.0, 2.0, drainage_mm_h=0.0)
    b = simulate(geo, 200.0, 2.0, drainage_mm_h=0.0)
    assert a.stored_volume_m3 == pytest.approx(b.stored_volume_m3, rel=0.01)
    assert a.flooded_area_m2 == pytest.approx(b.flooded_area_m2, rel=0.02)
    assert depressions(proj)[0].volume_m3 == pytest.approx(depressions(geo)[0].volume_m3, rel=0.01)
    assert geo.row_areas().sum() * n == pytest.approx(2000.0 * 2000.0 / 0.9999**2, rel=0.01)


def test_cell_areas_on_the_ellipsoid():
    # one degree square at the equator on WGS 84, bounded by parallels: 12,308.464 km², as the
    # geodesic area of the same square with its parallels densified says
    area = ellipsoid_band_area(np.array([0.0]), np.array([1.0]), 1.0, CRS.from_epsg(4326))
    assert area[0] / 1e6 == pytest.approx(12308.464, rel=1e-6)
    lon = np.linspace(105.8, 105.81, 101)
    geodesic, _ = Geod(ellps="WGS84").polygon_area_perimeter(np.r_[lon, lon[::-1]],
                                                             np.r_[np.full(101, 21.0), np.full(101, 21.01)])
    small = ellipsoid_band_area(np.array([21.0]), np.array([21.01]), 0.01, CRS.from_epsg(4326))
    assert small[0] == pytest.approx(abs(geodesic), rel=1e-8)
