"""The rule catalogue and its geometric checks (pure functions, no database)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from shapely.geometry import MultiPolygon, Polygon, box

from landdb.codes import SERVICES
from registry import rules

PARENT = box(0, 0, 20, 10)  # 200 m², in metres (EPSG:5897)
HALVES = [box(0, 0, 10, 10), box(10, 0, 20, 10)]


def test_catalogue_codes_are_unique_stable_and_bilingual() -> None:
    codes = [r.code for r in rules.CATALOGUE]
    assert len(codes) == len(set(codes))
    assert all(c.startswith("LF-R0") and len(c) == 8 for c in codes)
    for r in rules.CATALOGUE:
        assert r.title_vi and r.title_en and r.fix_vi and r.fix_en
        assert set(r.services) <= set(SERVICES)
    # The minimum list, by code.
    assert {"LF-R0101", "LF-R0103", "LF-R0104", "LF-R0105", "LF-R0106", "LF-R0107", "LF-R0201",
            "LF-R0203", "LF-R0206", "LF-R0302", "LF-R0303", "LF-R0304"} <= set(codes)


def test_a_step_runs_the_rules_of_its_moment_and_before() -> None:
    neighbours = rules.RULES["LF-R0105"]
    assert not neighbours.runs_at("lodge", "split")
    assert neighbours.runs_at("approve", "split") and neighbours.runs_at("register", "split")
    assert not neighbours.runs_at("register", "transfer")


def test_an_exact_split_passes_every_geometric_check() -> None:
    assert rules.invalid(HALVES) == []
    assert rules.not_single(HALVES) == []
    assert rules.union_differs([PARENT], HALVES) == []
    assert rules.overlapping(HALVES) == []
    assert rules.slivers(HALVES, [PARENT]) == []
    assert rules.outside(HALVES, box(-100, -100, 100, 100), "phường X") == []
    assert rules.area_sum_differs([200.0], [100.0, 100.0]) == []
    assert rules.area_off(HALVES, [100.0, None]) == []


def test_a_bow_tie_is_invalid_with_the_reason() -> None:
    bow_tie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    [fault] = rules.invalid([bow_tie])
    assert "Self-intersection" in fault.message


def test_two_parts_are_not_one_parcel() -> None:
    [fault] = rules.not_single([MultiPolygon([box(0, 0, 1, 1), box(5, 5, 6, 6)])])
    assert "2 parts" in fault.message


def test_within_snapping_the_union_matches_beyond_it_does_not() -> None:
    nudged = [box(0, 0, 10.005, 10), box(10.005, 0, 20.004, 10)]  # 4 mm short of the outline
    assert rules.union_differs([PARENT], nudged) == []
    short = [box(0, 0, 10, 10), box(10, 0, 19.5, 10)]  # a 0.5 m strip left out
    [fault] = rules.union_differs([PARENT], short)
    assert fault.geom is not None and fault.geom.bounds[0] >= 19.5 - 0.02
    assert "5.00 m²" in fault.message


def test_overlapping_new_parcels_are_found_and_located() -> None:
    [fault] = rules.overlapping([box(0, 0, 11, 10), box(10, 0, 20, 10)])
    assert "10.00 m²" in fault.message
    assert fault.geom is not None and fault.geom.bounds == (10.0, 0.0, 11.0, 10.0)
    # Touching along a shared edge, or overlapping by less than the tolerance, is fine.
    assert rules.overlapping([box(0, 0, 10.008, 10), box(10, 0, 20, 10)]) == []


def test_a_neighbour_overlap_names_the_neighbour() -> None:
    [fault] = rules.overlapping_neighbours([box(0, 0, 10, 10)], [("00001-3-7", box(9, 0, 15, 10))])
    assert fault.parcel_id == "00001-3-7"


def test_slivers_small_parcels_and_small_gaps() -> None:
    tiny = [box(0, 0, 19.96, 10), box(19.96, 0, 20, 10)]  # the second is 0.4 m²
    assert any("0.40 m²" in f.message for f in rules.slivers(tiny, [PARENT]))
    gap = [box(0, 0, 10, 10), box(10.04, 0, 20, 10)]  # a 0.4 m² gap between them
    assert any("sliver" in f.message for f in rules.slivers(gap, [PARENT]))


def test_a_parcel_reaching_beyond_the_commune() -> None:
    [fault] = rules.outside([box(0, 0, 20, 10)], box(0, 0, 15, 10), "xã Y")  # 5 m × 10 m less the 0.01 m tolerance
    assert "49.90 m²" in fault.message and "xã Y" in fault.message


@pytest.mark.parametrize(("new", "fails"), [([100.0, 100.1], False), ([100.0, 100.3], True)])
def test_official_areas_within_a_tenth_of_a_percent(new: list[float], fails: bool) -> None:
    assert bool(rules.area_sum_differs([200.0], new)) is fails


def test_official_area_against_the_computed_one() -> None:
    assert rules.area_off([box(0, 0, 10, 10)], [100.9]) == []
    [fault] = rules.area_off([box(0, 0, 10, 10)], [102.0])
    assert "+2.0%" in fault.message


def test_merge_needs_adjacent_parcels() -> None:
    assert rules.not_adjacent([box(0, 0, 10, 10), box(10.005, 0, 20, 10)]) == []
    [fault] = rules.not_adjacent([box(0, 0, 10, 10), box(11, 0, 20, 10)])
    assert "2 separate groups" in fault.message
    corner = [box(0, 0, 10, 10), box(10, 10, 20, 20)]  # touching at one point only
    assert rules.not_adjacent(corner) != []


def test_shares_add_up_exactly() -> None:
    thirds = [("An", Fraction(1, 3)), ("Bình", Fraction(1, 3)), ("Chi", Fraction(1, 3))]
    assert rules.shares_off(thirds, "parcel 1") == []  # 0.3333 × 3 would not
    [fault] = rules.shares_off(thirds[:2], "parcel 1")
    assert "2/3" in fault.message


def test_the_readme_lists_every_rule_code() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    missing = [r.code for r in rules.CATALOGUE if f"`{r.code}`" not in readme]
    assert not missing, f"README.md's rule table lacks {missing}: regenerate it from registry.rules.CATALOGUE"
