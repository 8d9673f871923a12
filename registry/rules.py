"""The registry's rule catalogue: every check an application goes through, as data.

Each rule has a stable code (``LF-R01xx`` geometry, ``LF-R02xx`` rights and parties, ``LF-R03xx``
procedure), a severity (``critical`` blocks the step, ``warning`` is shown and recorded), the
moment it first runs (``lodge`` < ``approve`` < ``register``: a step runs every rule whose moment
is at or before it, so the data is checked again when it may have changed), the services it
applies to, a message in Vietnamese and English that says what to fix, and a tolerance where it
is geometric. After FAO SOLA's business rules and LADM-COL's quality rules.

The geometric checks are pure functions of shapely geometries in the city CRS (EPSG:5897,
metres); those that need the register (neighbours, communes, open applications) take what they
need as arguments, so the procedure above (``registry.workflow``) reads the database once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from landdb.codes import SERVICES

Severity = Literal["critical", "warning"]
Moment = Literal["lodge", "approve", "register"]
MOMENTS: tuple[Moment, ...] = ("lodge", "approve", "register")

#: Default tolerances (issue 11): snapping, old vs new official area, official vs computed area, slivers.
SNAP_M = 0.01
AREA_SUM_TOLERANCE = 0.001
AREA_COMPUTED_TOLERANCE = 0.01
SLIVER_M2 = 0.5

GEOMETRY_SERVICES = ("split", "merge", "boundary_correction")
ALL = SERVICES


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue."""

    code: str
    severity: Severity
    moment: Moment
    services: tuple[str, ...]
    title_vi: str
    title_en: str
    fix_vi: str
    fix_en: str
    tolerance: str | None = None
    #: A failure means the register changed under the application (HTTP 409), not bad input (422).
    conflict: bool = False

    def runs_at(self, step: Moment, service: str) -> bool:
        return service in self.services and MOMENTS.index(self.moment) <= MOMENTS.index(step)


CATALOGUE: tuple[Rule, ...] = (
    Rule("LF-R0101", "critical", "lodge", GEOMETRY_SERVICES,
         "Thửa đất mới có hình học hợp lệ", "New parcels have valid geometry",
         "Sửa ranh giới tự cắt hoặc điểm trùng trong bản đo đạc", "Fix the self-intersections or repeated "
         "vertices in the survey"),
    Rule("LF-R0102", "critical", "lodge", GEOMETRY_SERVICES,
         "Mỗi thửa đất mới là một đa giác duy nhất", "Each new parcel is one single polygon",
         "Tách các phần rời nhau thành các thửa riêng", "Make each separate part its own parcel"),
    Rule("LF-R0103", "critical", "lodge", ("split", "merge"),
         "Hợp các thửa mới bằng hợp các thửa cũ", "The union of the new parcels equals the union of the old",
         "Khép ranh giới các thửa mới theo đúng ranh thửa gốc", "Make the new parcels cover the old outline "
         "exactly", tolerance=f"{SNAP_M} m"),
    Rule("LF-R0104", "critical", "lodge", ("split",),
         "Các thửa mới không chồng lấn nhau", "New parcels do not overlap each other",
         "Chỉnh ranh chung giữa các thửa mới cho khớp", "Make the new parcels share their common boundaries",
         tolerance=f"{SNAP_M} m"),
    Rule("LF-R0105", "critical", "approve", GEOMETRY_SERVICES,
         "Thửa mới không chồng lấn thửa liền kề", "New parcels do not overlap neighbouring parcels",
         "Chỉnh ranh theo ranh thửa liền kề hoặc lập hồ sơ chỉnh lý cả thửa liền kề",
         "Follow the neighbour's boundary, or correct the neighbour's boundary in the same application",
         tolerance=f"{SNAP_M} m"),
    Rule("LF-R0106", "critical", "lodge", GEOMETRY_SERVICES,
         "Không còn mảnh vụn hoặc khe hở nhỏ", "No sliver or small gap is left",
         "Gộp mảnh vụn vào thửa bên cạnh", "Merge the sliver into the parcel next to it",
         tolerance=f"{SLIVER_M2} m²"),
    Rule("LF-R0107", "critical", "lodge", GEOMETRY_SERVICES,
         "Thửa mới nằm trong địa giới xã/phường", "New parcels lie inside their commune",
         "Thửa vượt địa giới phải lập hồ sơ riêng cho từng xã/phường", "Lodge the parts in each commune "
         "separately", tolerance=f"{SNAP_M} m"),
    Rule("LF-R0108", "critical", "lodge", ("split", "merge"),
         "Tổng diện tích pháp lý không đổi", "The official areas add up to the old official area",
         "Kiểm tra lại diện tích các thửa mới", "Check the new parcels' official areas",
         tolerance=f"{AREA_SUM_TOLERANCE:.1%}"),
    Rule("LF-R0109", "critical", "lodge", GEOMETRY_SERVICES,
         "Diện tích pháp lý khớp diện tích tính từ hình học", "Official area matches the computed area",
         "Sửa diện tích pháp lý hoặc ranh giới", "Correct the official area or the boundary",
         tolerance=f"{AREA_COMPUTED_TOLERANCE:.0%}"),
    Rule("LF-R0110", "critical", "lodge", ("merge",),
         "Các thửa hợp nhất liền kề nhau", "Merged parcels are adjacent",
         "Chỉ hợp các thửa có chung ranh giới", "Merge only parcels that share a boundary",
         tolerance=f"{SNAP_M} m"),
    Rule("LF-R0111", "critical", "lodge", ("split", "merge"),
         "Số thửa mới chưa được dùng trên tờ bản đồ", "New parcel numbers are free on their map sheet",
         "Bỏ số thửa để hệ thống cấp số tiếp theo", "Leave the numbers out to get the next free ones"),
    Rule("LF-R0201", "critical", "lodge", ("split", "merge", "transfer"),
         "Tổng tỷ lệ sở hữu bằng đúng 1", "Shares add up to exactly 1",
         "Ghi tỷ lệ dạng phân số (ví dụ \"1/3\") sao cho tổng bằng 1", "Give shares as fractions (\"1/3\") "
         "that add up to 1"),
    Rule("LF-R0202", "critical", "lodge", ALL,
         "Các bên được xác định", "Every party is identified",
         "Ghi họ tên và số giấy tờ tùy thân (CCCD 12 số)", "Give the full name and ID number (12-digit CCCD)"),
    Rule("LF-R0203", "critical", "lodge", ALL,
         "Thửa đất có người sử dụng", "The parcel has a holder",
         "Đăng ký quyền sử dụng đất trước", "Register the holder's right first"),
    Rule("LF-R0204", "critical", "lodge", ("merge",),
         "Các thửa hợp nhất cùng người sử dụng và không thế chấp", "Merged parcels have the same holders and "
         "no mortgage", "Chuyển quyền hoặc xóa thế chấp trước khi hợp thửa", "Transfer the right or cancel the "
         "mortgage before merging"),
    Rule("LF-R0205", "critical", "lodge", ("transfer",),
         "Bên chuyển nhượng đang có quyền", "The transferors hold the right",
         "Ghi đúng người đang có quyền trên giấy chứng nhận", "Name the holders on the current certificate"),
    Rule("LF-R0206", "critical", "lodge", ("mortgage",),
         "Thứ tự thế chấp không trùng", "The mortgage rank is unique",
         "Bỏ thứ tự để hệ thống cấp thứ tự tiếp theo", "Leave the rank out to get the next one"),
    Rule("LF-R0207", "critical", "lodge", ("mortgage_cancellation",),
         "Thế chấp cần xóa đang tồn tại", "The mortgage to cancel exists",
         "Ghi đúng bên nhận thế chấp hoặc thứ tự", "Name the current mortgagee or rank"),
    Rule("LF-R0208", "warning", "approve", ("split", "merge", "transfer", "boundary_correction"),
         "Thửa đang thế chấp cần sự đồng ý của bên nhận thế chấp", "A mortgaged parcel needs the mortgagee's "
         "consent", "Đính kèm văn bản đồng ý của bên nhận thế chấp", "Attach the mortgagee's consent"),
    Rule("LF-R0209", "warning", "lodge", ALL,
         "Thời hạn sử dụng đất còn hiệu lực", "The land-use term has not expired",
         "Gia hạn thời hạn sử dụng đất", "Extend the land-use term"),
    Rule("LF-R0301", "critical", "lodge", ALL,
         "Các thửa đất đang có hiệu lực", "The parcels are current",
         "Kiểm tra số thửa; thửa đã tách/hợp không còn giao dịch được", "Check the parcel numbers: a split or "
         "merged parcel no longer exists"),
    Rule("LF-R0302", "critical", "lodge", ALL,
         "Không có hồ sơ khác đang xử lý trên thửa", "No other open application on the parcels",
         "Chờ hồ sơ kia hoàn tất hoặc hủy nó", "Wait for the other application, or cancel it", conflict=True),
    Rule("LF-R0303", "critical", "approve", ALL,
         "Đủ giấy tờ theo quy định", "The required source documents are attached",
         "Đính kèm các giấy tờ còn thiếu", "Attach the missing documents"),
    Rule("LF-R0304", "critical", "lodge", ALL,
         "Giấy tờ không ghi ngày trong tương lai", "No source document is dated in the future",
         "Sửa ngày ký của giấy tờ", "Correct the document's date"),
    Rule("LF-R0305", "critical", "approve", ALL,
         "Người duyệt khác người tiếp nhận", "The approver is not the officer who lodged it",
         "Giao một cán bộ khác duyệt hồ sơ", "Have another registrar approve it"),
    Rule("LF-R0306", "critical", "register", ALL,
         "Thửa đất không thay đổi từ khi tiếp nhận", "The parcels are unchanged since lodging",
         "Kiểm tra lại và nộp hồ sơ mới theo hiện trạng", "Check again and lodge a new application on the "
         "parcel as it is now", conflict=True),
    Rule("LF-R0307", "warning", "approve", ALL,
         "Hồ sơ còn trong hạn giải quyết", "The application is within its deadline",
         "Thông báo cho người nộp lý do chậm", "Tell the applicant why it is late"),
    Rule("LF-R0308", "warning", "lodge", ALL,
         "Người nộp là người có quyền", "The applicant is a holder",
         "Đính kèm giấy ủy quyền nếu người nộp không phải người có quyền", "Attach the power of attorney if "
         "the applicant is not a holder"),
)
RULES: dict[str, Rule] = {r.code: r for r in CATALOGUE}


@dataclass
class Fault:
    """Where a rule fails: a message, and the geometry at fault (city CRS) when there is one."""

    message: str
    geom: BaseGeometry | None = None
    parcel_id: str | None = None


@dataclass
class Result:
    """One rule's outcome for one application."""

    rule: Rule
    faults: list[Fault] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.faults


# --- geometric checks ---------------------------------------------------------------------------

def invalid(geoms: Sequence[BaseGeometry]) -> list[Fault]:
    """LF-R0101: each geometry valid (the reason from GEOS)."""
    return [Fault(f"new parcel {i + 1}: {shapely.is_valid_reason(g)}", g)
            for i, g in enumerate(geoms) if not g.is_valid]


def not_single(geoms: Sequence[BaseGeometry]) -> list[Fault]:
    """LF-R0102: each geometry is one polygon (a multipolygon of one part counts)."""
    faults = []
    for i, g in enumerate(geoms):
        parts = len(g.geoms) if isinstance(g, MultiPolygon) else 1
        if not isinstance(g, Polygon | MultiPolygon) or parts != 1:
            faults.append(Fault(f"new parcel {i + 1} is a {g.geom_type} of {parts} parts, not one polygon", g))
    return faults


def union_differs(old: Sequence[BaseGeometry], new: Sequence[BaseGeometry], snap: float = SNAP_M) -> list[Fault]:
    """LF-R0103: the new parcels cover the old exactly, up to ``snap``: what remains of the symmetric
    difference after shrinking it by ``snap`` is at fault."""
    diff = shapely.union_all(old).symmetric_difference(shapely.union_all(new)).buffer(-snap)
    if diff.is_empty:
        return []
    return [Fault(f"the new parcels differ from the old outline by {diff.buffer(snap).area:.2f} m²", diff)]


def overlapping(geoms: Sequence[BaseGeometry], snap: float = SNAP_M) -> list[Fault]:
    """LF-R0104: no two geometries overlap by more than ``snap``."""
    faults = []
    tree = shapely.STRtree(geoms)
    for i, j in zip(*tree.query(geoms, predicate="intersects"), strict=True):
        if i < j:
            common = geoms[i].intersection(geoms[j])
            if not common.buffer(-snap).is_empty:
                faults.append(Fault(f"new parcels {i + 1} and {j + 1} overlap by {common.area:.2f} m²", common))
    return faults


def overlapping_neighbours(new: Sequence[BaseGeometry], neighbours: Sequence[tuple[str, BaseGeometry]],
                           snap: float = SNAP_M) -> list[Fault]:
    """LF-R0105: no new geometry overlaps a neighbour (parcel id, geometry) by more than ``snap``."""
    faults = []
    for i, g in enumerate(new):
        for pid, other in neighbours:
            common = g.intersection(other)
            if not common.is_empty and not common.buffer(-snap).is_empty:
                faults.append(Fault(f"new parcel {i + 1} overlaps parcel {pid} by {common.area:.2f} m²",
                                    common, pid))
    return faults


def slivers(new: Sequence[BaseGeometry], old: Sequence[BaseGeometry], min_area: float = SLIVER_M2,
            snap: float = SNAP_M) -> list[Fault]:
    """LF-R0106: no new parcel smaller than ``min_area``, and no piece of the old outline between
    ``snap`` and ``min_area`` left uncovered (a larger piece is LF-R0103's)."""
    faults = [Fault(f"new parcel {i + 1} has only {g.area:.2f} m²", g) for i, g in enumerate(new)
              if g.area < min_area]
    left = shapely.union_all(old).difference(shapely.union_all(new))
    for piece in getattr(left, "geoms", [left]):
        if not piece.is_empty and piece.area < min_area and not piece.buffer(-snap / 2).is_empty:
            faults.append(Fault(f"a sliver of {piece.area:.2f} m² is left between the new parcels", piece))
    return faults


def outside(new: Sequence[BaseGeometry], commune: BaseGeometry, commune_name: str,
            snap: float = SNAP_M) -> list[Fault]:
    """LF-R0107: each new geometry within the commune's boundary (widened by ``snap``)."""
    faults = []
    widened = commune.buffer(snap)
    for i, g in enumerate(new):
        beyond = g.difference(widened)
        if not beyond.is_empty:
            faults.append(Fault(f"new parcel {i + 1} reaches {beyond.area:.2f} m² beyond {commune_name}", beyond))
    return faults


def area_sum_differs(old_areas: Sequence[float], new_areas: Sequence[float],
                     tolerance: float = AREA_SUM_TOLERANCE) -> list[Fault]:
    """LF-R0108: the new official areas add up to the old within ``tolerance`` (relative)."""
    old, new = sum(old_areas), sum(new_areas)
    if old > 0 and abs(new - old) / old > tolerance:
        return [Fault(f"the new official areas add up to {new:.1f} m², the old to {old:.1f} m² "
                      f"({(new - old) / old:+.2%}, more than {tolerance:.1%})")]
    return []


def area_off(geoms: Sequence[BaseGeometry], official: Sequence[float | None],
             tolerance: float = AREA_COMPUTED_TOLERANCE) -> list[Fault]:
    """LF-R0109: each official area (where given) within ``tolerance`` of the computed one."""
    faults = []
    for i, (g, a) in enumerate(zip(geoms, official, strict=True)):
        if a is not None and g.area > 0 and abs(a - g.area) / g.area > tolerance:
            faults.append(Fault(f"new parcel {i + 1}: official area {a:.1f} m², computed {g.area:.1f} m² "
                                f"({(a - g.area) / g.area:+.1%})", g))
    return faults


def not_adjacent(geoms: Sequence[BaseGeometry], snap: float = SNAP_M, min_edge: float = 0.1) -> list[Fault]:
    """LF-R0110: the parcels form one connected group, two being adjacent when they share (within
    ``snap``) a boundary of at least ``min_edge`` metres; touching at a corner is not adjacency."""
    group = list(range(len(geoms)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    widened = [g.buffer(snap) for g in geoms]
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            # A shared edge of length L gives an overlap of about L × 2·snap between the widened parcels.
            if widened[i].intersection(widened[j]).area >= min_edge * 2 * snap:
                group[root(j)] = root(i)
    pieces = len({root(i) for i in range(len(geoms))})
    if pieces > 1:
        return [Fault(f"the parcels form {pieces} separate groups, not one: each must share a boundary "
                      "with another", shapely.union_all(geoms))]
    return []


def shares_off(holders: Sequence[tuple[str, Fraction]], where: str) -> list[Fault]:
    """LF-R0201: the holders' (name, share) shares add up to exactly 1."""
    total = sum((s for _, s in holders), Fraction(0))
    if total != 1:
        listed = ", ".join(f"{name} {share}" for name, share in holders) or "no holder"
        return [Fault(f"{where}: the shares add up to {total}, not 1 ({listed})")]
    return []
