"""Addresses of lots: real street names near their real places ("Số 12 ngõ 34 phố Hàng Bạc,
phường Hàng Bạc, quận Hoàn Kiếm"), hamlets and field names in villages.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from etl.sample import landuse, places
from etl.sample.common import hash_u64, to_city

#: Streets used where no real street is near (large samples reach beyond the centre).
_FALLBACK = ("Lê Lợi", "Hùng Vương", "Trần Phú", "Quang Trung", "Ngô Quyền", "Tô Hiến Thành", "Nguyễn Văn Trỗi",
             "Võ Nguyên Giáp", "Lê Quang Đạo", "Tố Hữu", "Lê Văn Lương", "Ngọc Hồi", "Phúc Diễn", "Hồ Tùng Mậu",
             "Mạc Thái Tổ", "Phan Trọng Tuệ", "Nguyễn Hoàng", "Lý Sơn", "Cổ Bi", "Ỷ Lan")
_HAMLET_A = ("Đông", "Đoài", "Thượng", "Hạ", "Trung", "Nam", "Bắc", "Tân", "Phú", "Yên", "Kim", "An")
_HAMLET_B = ("Xá", "Lão", "Trì", "Khê", "Hòa", "Phúc", "Lộc", "Thọ", "Sơn", "Lâm", "Vĩnh", "Hội")
_FIELDS = ("Cửa Chùa", "Cửa Đình", "Đồng Giữa", "Đồng Ngoài", "Bãi Dưới", "Mả Lăng", "Cầu Đá", "Gốc Gạo",
           "Ao Sen", "Đồng Cao", "Đồng Trũng", "Bờ Đê", "Cây Đa", "Đồng Mới")
_NEAR_M = 700.0
_TAG = 41


class Streets:
    """Real street anchors in EPSG:5897 and the naming rules built on them."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.all = places.streets()
        self.xy = np.column_stack(to_city([s.lon for s in self.all], [s.lat for s in self.all]))
        self.old_quarter = np.array([s.old_quarter for s in self.all])

    @cached_property
    def _oq_index(self) -> np.ndarray:
        return np.flatnonzero(self.old_quarter)

    def main(self, x: float, y: float, i: int, j: int) -> str:
        """'phố Kim Mã': the real street nearest the superblock, else a common name."""
        d = np.hypot(self.xy[:, 0] - x, self.xy[:, 1] - y)
        k = int(np.argmin(d))
        if d[k] <= _NEAR_M:
            return f"{self.all[k].kind} {self.all[k].name}"
        h = int(hash_u64(self.seed, _TAG, i, j) % np.uint64(len(_FALLBACK)))
        return f"đường {_FALLBACK[h]}"

    def old_quarter_streets(self, x: np.ndarray, y: np.ndarray) -> list[str]:
        """The old-quarter street nearest each point ('phố Hàng Bạc')."""
        idx = self._oq_index
        d = np.hypot(self.xy[idx, 0][None, :] - x[:, None], self.xy[idx, 1][None, :] - y[:, None])
        return [f"{self.all[idx[k]].kind} {self.all[idx[k]].name}" for k in d.argmin(axis=1)]

    def hamlet(self, i: int, j: int) -> str:
        h = int(hash_u64(self.seed, _TAG + 1, i // 2, j // 2))
        return f"{_HAMLET_A[h % len(_HAMLET_A)]} {_HAMLET_B[(h // 97) % len(_HAMLET_B)]}"

    def field(self, i: int, j: int, lane: int) -> str:
        return _FIELDS[int(hash_u64(self.seed, _TAG + 2, i, j, lane) % np.uint64(len(_FIELDS)))]


def house_numbers(lane: np.ndarray, side: np.ndarray, along: np.ndarray, base: int) -> np.ndarray:
    """Odd numbers on one side of each lane, even on the other, increasing along it."""
    order = np.lexsort((along, side, lane))
    rank = np.empty(len(lane), dtype=np.int64)
    keys = lane[order] * 2 + side[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    counts = np.diff(np.r_[starts, len(keys)])
    rank[order] = np.arange(len(keys)) - np.repeat(starts, counts)
    return base + 2 * rank + 1 + side


def lot_address(kind: int, commune_kind: str, housing: bool, number: int, lane_no: int, street: str,
                on_road: bool, hamlet: str, field: str, unit: str) -> str:
    """One lot's address; ``unit`` is 'phường X, quận Y'; ``housing``: homes and shops."""
    rural = commune_kind == "xa"
    if kind in (landuse.FIELDS, landuse.BAI) and not housing:
        return f"Xứ đồng {field}, thôn {hamlet}, {unit}" if rural else f"Xứ đồng {field}, {unit}"
    if rural and kind != landuse.URBAN:
        return f"Số {number}, xóm {lane_no % 12 + 1}, thôn {hamlet}, {unit}"
    if on_road or kind == landuse.PHO_CO:
        return f"Số {number} {street}, {unit}"
    return f"Số {number} ngõ {lane_no} {street}, {unit}"
