"""Owners: Vietnamese full names, birth years and 12-digit citizen ID (CCCD) numbers, and the
names of organisations that hold non-residential land.

A CCCD number is the birth province code (001 for Hanoi), a gender/century digit (0/1 for a
man/woman born in the 1900s, 2/3 in the 2000s), the last two digits of the birth year and six
digits. The six digits are a per-(digit, year) serial scrambled by a bijection, so no two
owners share a number. Surname frequencies follow the usual estimates (Nguyễn ~38 %).
"""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np

from etl.sample.common import hash_u64

_SURNAMES = {
    "Nguyễn": 38.4, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.1, "Hoàng": 5.1, "Phan": 4.5, "Vũ": 3.9, "Đặng": 2.1,
    "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3, "Dương": 1.0, "Lý": 0.5, "Đào": 0.4, "Đoàn": 0.4, "Trịnh": 0.4,
    "Đinh": 0.4, "Lương": 0.3, "Tạ": 0.3, "Chu": 0.2, "Cao": 0.3, "Mai": 0.3, "Kiều": 0.1, "Nghiêm": 0.1,
}
_MIDDLE_M = ("Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Công", "Xuân", "Tuấn", "Mạnh", "Duy", "Trọng",
             "Ngọc", "Hoàng", "Anh", "Quốc", "Việt", "Thế", "Đình", "Bá")
_MIDDLE_F = ("Thị", "Thị", "Thị", "Thu", "Thanh", "Ngọc", "Minh", "Hồng", "Kim", "Phương", "Lan", "Hải",
             "Bích", "Thùy", "Mai", "Khánh", "Diệu", "Quỳnh")
_GIVEN_M = ("Hùng", "Dũng", "Minh", "Tuấn", "Anh", "Hải", "Long", "Nam", "Thắng", "Sơn", "Trung", "Đức",
            "Phong", "Quân", "Khoa", "Bình", "Cường", "Hiếu", "Việt", "Tùng", "Thành", "Hoàng", "Huy", "Lâm",
            "Tiến", "Toàn", "Hưng", "Quang", "Kiên", "Đạt", "Tú", "Vinh", "Hòa", "Thịnh", "Khánh", "Lộc",
            "Phúc", "Chiến", "Thái", "Ân")
_GIVEN_F = ("Lan", "Hương", "Hoa", "Mai", "Linh", "Trang", "Thảo", "Hằng", "Ngọc", "Yến", "Nga", "Hà",
            "Huyền", "Phương", "Thủy", "Dung", "Vân", "Oanh", "Ánh", "Anh", "Loan", "Hạnh", "Nhung", "Giang",
            "Thu", "Hiền", "Liên", "Tâm", "Quỳnh", "Trâm", "Uyên", "Ly", "Châu", "Diệp", "Ngân", "Thơ")
_TEMPLE = ("Phúc Khánh", "Linh Quang", "Diên Phúc", "Hưng Ký", "Vạn Phúc", "Thanh Lâm", "Kim Sơn",
           "Bảo Khánh", "Phúc Lâm", "Hòa Phúc", "Thiên Phúc", "Quảng Bá", "Hưng Khánh", "Tĩnh Quang")
_COMPANY = ("Hà Thành", "Thăng Long", "Sông Hồng", "Đông Đô", "Tràng An", "Hồng Hà", "Phương Đông",
            "Việt Á", "Kinh Bắc", "Long Biên", "Tây Hồ", "Hoàng Gia", "Đại Việt", "An Phát", "Minh Long")
_SCHOOL = ("Mầm non", "Tiểu học", "Trung học cơ sở", "Trung học phổ thông")
_SCRAMBLE = 7919  # coprime to 10**6: serial -> six digits is a bijection
_REUSE, _POOL = 0.05, 400

#: Organisation name templates by land-use code; {commune}/{district} are lower-case unit names.
_ORGS = {
    "TSC": ("UBND {commune}", "Tòa án nhân dân {district}", "Kho bạc Nhà nước {district}"),
    "CAN": ("Công an {commune}", "Công an {district}"),
    "CQP": ("Bộ Tư lệnh Thủ đô Hà Nội",),
    "DYT": ("Trạm Y tế {commune}", "Bệnh viện Đa khoa {district}"),
    "DVH": ("Trung tâm Văn hóa {district}", "Nhà văn hóa {commune}"),
    "DTT": ("Trung tâm Thể dục thể thao {district}",),
    "DCH": ("Ban quản lý chợ {street}",),
    "DDD": ("Ban quản lý di tích {district}",), "DDT": ("Ban quản lý di tích {district}",),
    "DDL": ("Ban quản lý di tích {district}",),
    "SKC": ("Công ty Cổ phần {company}",), "SKS": ("Công ty TNHH Khai thác cát {company}",),
    "TMD": ("Công ty TNHH Thương mại {company}", "Công ty Cổ phần Dịch vụ {company}"),
    "DTL": ("Công ty TNHH MTV Thủy lợi Sông Nhuệ", "Chi cục Đê điều và Phòng chống thiên tai Hà Nội"),
    "DNL": ("Tổng công ty Điện lực Hà Nội",), "DBV": ("Bưu điện Hà Nội",),
    "ODT": ("Công ty TNHH MTV Quản lý và Phát triển nhà Hà Nội",),
}
#: Codes whose land is managed by the commune's People's Committee (UBND).
_STATE = {"DGT", "DKV", "DSH", "NTD", "SON", "MNC", "DCT", "DSK", "DTS", "CCC", "BCS"}
#: Codes a person or household holds unless the parcel is a whole block.
PERSONAL = {"ODT", "ONT", "TMD", "SKC", "LUC", "LUK", "HNK", "BHK", "NHK", "CLN", "NTS", "NKH"}


class People:
    """Draws owners; the CCCD counters make every number unique within a sample."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._serial: dict[tuple[int, int], int] = defaultdict(int)
        self._offset: dict[tuple[int, int], int] = {}
        self._recent: deque[tuple[str, str, int]] = deque(maxlen=_POOL)
        self._surnames = np.array(list(_SURNAMES), dtype=object)
        w = np.array(list(_SURNAMES.values()))
        self._surname_cdf = np.cumsum(w) / w.sum()

    def persons(self, n: int, r: np.random.Generator) -> list[tuple[str, str, int]]:
        """``n`` (name, CCCD, birth year); a few owners hold several parcels."""
        female = r.random(n) < 0.5
        years = np.clip(np.round(r.normal(1968, 14, n)), 1930, 2004).astype(int)
        sur = self._surnames[np.searchsorted(self._surname_cdf, r.random(n), side="right").clip(0, len(_SURNAMES) - 1)]
        mid_m, mid_f = r.integers(0, len(_MIDDLE_M), n), r.integers(0, len(_MIDDLE_F), n)
        giv_m, giv_f = r.integers(0, len(_GIVEN_M), n), r.integers(0, len(_GIVEN_F), n)
        reuse = r.random(n) < _REUSE
        out = []
        for k in range(n):
            if reuse[k] and self._recent:
                out.append(self._recent[int(r.integers(len(self._recent)))])
                continue
            f = bool(female[k])
            name = " ".join((sur[k], _MIDDLE_F[mid_f[k]] if f else _MIDDLE_M[mid_m[k]],
                             _GIVEN_F[giv_f[k]] if f else _GIVEN_M[giv_m[k]]))
            owner = (name, self._cccd(int(years[k]), f), int(years[k]))
            self._recent.append(owner)
            out.append(owner)
        return out

    def _cccd(self, year: int, female: bool) -> str:
        digit = (0 if year < 2000 else 2) + int(female)
        key = (digit, year % 100)
        serial = self._serial[key]
        self._serial[key] += 1
        offset = self._offset.get(key)
        if offset is None:
            offset = self._offset[key] = int(hash_u64(self.seed, 31, digit, year % 100) % np.uint64(10**6))
        return f"001{digit}{year % 100:02d}{(serial * _SCRAMBLE + offset) % 10**6:06d}"


def organisation(code: str, r: np.random.Generator, commune: str, district: str, street: str) -> str | None:
    """The organisation holding land of ``code``, or None when a person or household holds it."""
    if code in _STATE:
        return f"UBND {commune}"
    if code == "DGD":
        return f"Trường {_SCHOOL[int(r.integers(len(_SCHOOL)))]} {street}"
    if code in ("TON", "TIN"):
        kind = "Chùa" if code == "TON" else ("Đình", "Đền", "Miếu")[int(r.integers(3))]
        return f"{kind} {_TEMPLE[int(r.integers(len(_TEMPLE)))]}"
    templates = _ORGS.get(code)
    if templates is None:
        return None
    company = _COMPANY[int(r.integers(len(_COMPANY)))]
    return templates[int(r.integers(len(templates)))].format(commune=commune, district=district, street=street,
                                                           company=company)
