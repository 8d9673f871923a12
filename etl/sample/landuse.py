"""Kinds of superblock (old quarter, urban, village, fields, river floodplain), their block
layout and land-use mix, with codes of Circular 08/2024/TT-BTNMT and a share of legacy
Circular 27/2018 codes (BHK, NHK, DDT, DDL, DSH, DTS) as old records still carry them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import shapely

from etl.sample.common import origin, to_city
from etl.sample.hydro import hydro

PHO_CO, URBAN, VILLAGE, FIELDS, BAI = range(5)
KIND_NAMES = ("phố cổ", "đô thị", "làng", "đồng ruộng", "bãi sông")
#: Placeholder for residential land: ODT in a phường, ONT in a xã.
RESIDENTIAL = "RES"
#: Approximate outline of the old quarter (36 phố phường), lon/lat.
_OLD_QUARTER = ((105.8445, 21.0300), (105.8448, 21.0400), (105.8490, 21.0412), (105.8540, 21.0402),
                (105.8553, 21.0332), (105.8532, 21.0306), (105.8490, 21.0298))


@dataclass(frozen=True)
class Layout:
    """Street and lot dimensions (m) and land-use mix of one kind of superblock."""

    road_half: tuple[float, float]  # half-width of the roads around the superblock
    lane: float  # width of the lanes (ngõ) between blocks
    block_len: tuple[float, float]  # block pitch along the lanes, lane included
    block_depth: tuple[float, float]  # block pitch across the lanes, lane included
    frontage: tuple[float, float]
    min_area: float
    special_p: float  # chance that a whole block is one non-residential parcel
    specials: dict[str, float]
    lots: dict[str, float]  # land use of ordinary lots
    apartment_p: float = 0.0  # chance that a block is one apartment-estate parcel (khu tập thể)
    min_depth: float = field(default=0.0)


LAYOUTS: dict[int, Layout] = {
    PHO_CO: Layout((3.5, 5.5), 5.0, (90, 150), (34, 48), (3.0, 4.6), 15, 0.05,
                   {"TIN": .25, "TON": .15, "DGD": .15, "TSC": .15, "DDD": .1, "DVH": .1, "DYT": .05, "DCH": .05},
                   {RESIDENTIAL: .86, "TMD": .14}, min_depth=12),
    URBAN: Layout((5.0, 10.0), 4.0, (60, 120), (28, 40), (4.5, 8.5), 20, 0.08,
                  {"DGD": .2, "DYT": .06, "TSC": .12, "TMD": .14, "TON": .05, "TIN": .04, "DVH": .04, "DTT": .05,
                   "DKV": .08, "CAN": .03, "CQP": .03, "SKC": .04, "DCH": .03, "DDD": .02, "DSK": .03, "DGT": .02,
                   "DNL": .01, "DBV": .01},
                  {RESIDENTIAL: .955, "TMD": .04, "SKC": .005}, apartment_p=0.04, min_depth=10),
    VILLAGE: Layout((3.0, 4.5), 3.5, (60, 110), (36, 52), (8, 15), 40, 0.06,
                    {"TIN": .18, "TON": .18, "DGD": .18, "TSC": .08, "DYT": .05, "DKV": .1, "NTD": .13, "DCH": .05,
                     "DVH": .05},
                    {RESIDENTIAL: .78, "CLN": .12, "NTS": .04, "TMD": .03, "HNK": .03}, min_depth=14),
    FIELDS: Layout((2.5, 3.5), 2.5, (140, 220), (70, 110), (16, 40), 100, 0.03,
                   {"NTD": .55, "DTL": .25, "SKC": .2},
                   {"LUC": .5, "LUK": .08, "HNK": .14, "CLN": .1, "NTS": .06, RESIDENTIAL: .08, "NKH": .02, "BCS": .02},
                   min_depth=30),
    BAI: Layout((3.0, 4.0), 3.0, (80, 140), (40, 70), (10, 24), 50, 0.04,
                {"DTL": .3, "SKC": .3, "SKS": .2, "NTD": .2},
                {"HNK": .38, "CLN": .34, RESIDENTIAL: .2, "NTS": .05, "BCS": .03}, min_depth=18),
}

#: Current code -> ((legacy code, probability), ...).
LEGACY = {"HNK": (("BHK", 0.30), ("NHK", 0.05)), "DDD": (("DDT", 0.5), ("DDL", 0.1)),
          "DKV": (("DSH", 0.3),), "DSK": (("DTS", 0.4),)}


@cache
def _old_quarter() -> shapely.Polygon:
    lon, lat = np.array(_OLD_QUARTER).T
    x, y = to_city(lon, lat)
    return shapely.Polygon(np.column_stack([x, y]))


def superblock_kind(x: np.ndarray, y: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Kind of superblock at its centre: by place (old quarter, between the dykes) and by
    distance from Hoàn Kiếm lake (urban within 6 km, then villages and fields)."""
    ox, oy = origin()
    d = np.hypot(x - ox, y - oy)
    kind = np.where(d < 6_000, np.where(u < 0.95, URBAN, VILLAGE),
                    np.where(d < 10_000, np.select([u < 0.55, u < 0.85], [URBAN, VILLAGE], FIELDS),
                             np.select([u < 0.15, u < 0.5], [URBAN, VILLAGE], FIELDS)))
    corridor = shapely.contains_xy(hydro().corridor, x, y)
    kind = np.where(corridor, np.where(d < 3_500, URBAN, np.where(u < 0.75, BAI, VILLAGE)), kind)
    return np.where(shapely.contains_xy(_old_quarter(), x, y), PHO_CO, kind)


def choose(weights: dict[str, float], u: np.ndarray) -> np.ndarray:
    """Codes drawn from ``weights`` by uniforms ``u``."""
    codes = np.array(list(weights), dtype=object)
    cum = np.cumsum(list(weights.values()))
    return codes[np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(codes) - 1)]


def finish_codes(codes: np.ndarray, commune_kind: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Resolve residential land (ODT/ONT) and replace some codes by their legacy 27/2018 code."""
    out = np.where(codes == RESIDENTIAL, np.where(commune_kind == "xa", "ONT", "ODT"), codes).astype(object)
    for current, legacy in LEGACY.items():
        low = 0.0
        for code, p in legacy:
            out[(codes == current) & (u >= low) & (u < low + p)] = code
            low += p
    return out
