"""Every query on the land-use code list (Circular 08/2024/TT-BTNMT) and its legacy codes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

#: Permanent water in Circular 08/2024's list: rivers and streams (SON), specialised water
#: surface (MNC), water surface for other uses (MCS) and aquaculture ponds (NTS). It stores
#: rain but is never "waterlogged"; the flood model, the risk rating and the maps use this set.
WATER_CODES = frozenset({"SON", "MNC", "MCS", "NTS"})


@dataclass(frozen=True)
class LandUseType:
    code: str
    parent_group: str | None
    name_vi: str
    name_en: str
    color: str


def types(conn: Connection) -> list[LandUseType]:
    """All codes, groups included, in the order of the circular's appendix."""
    rows = conn.execute(text(
        "SELECT code, parent_group, name_vi, name_en, color FROM land_use_types ORDER BY sort_order"
    ))
    return [LandUseType(*r) for r in rows]


def code_map(conn: Connection) -> dict[str, str]:
    """Every accepted spelling (current and legacy codes, upper case) -> its current code."""
    rows = conn.execute(text(
        "SELECT code, code FROM land_use_types UNION ALL SELECT legacy_code, code FROM land_use_legacy_codes"
    ))
    return {src: dst for src, dst in rows}


def resolve(conn: Connection, code: str) -> str | None:
    """The current code for ``code`` (a current or legacy code, any case), or None if unknown."""
    return code_map(conn).get(code.strip().upper())
