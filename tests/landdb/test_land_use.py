"""The land-use reference data loaded by the migration."""

from __future__ import annotations

import unicodedata

from sqlalchemy import Connection

from landdb import land_use

# Codes the land registry uses every day (Circular 08/2024/TT-BTNMT, Appendix II).
EVERYDAY = "ODT ONT LUC LUK HNK CLN RSX NTS CNT TSC DGD DYT TMD SKC SKK DGT DTL NTD SON MNC".split()


def test_everyday_codes_with_vietnamese_and_english_names(conn: Connection) -> None:
    by_code = {t.code: t for t in land_use.types(conn)}
    assert set(EVERYDAY) <= set(by_code)
    assert by_code["ODT"].name_vi == "Đất ở tại đô thị"
    assert by_code["LUC"].name_vi == "Đất chuyên trồng lúa"
    assert by_code["ODT"].name_en == "Urban residential land"
    for t in by_code.values():
        assert unicodedata.is_normalized("NFC", t.name_vi), t.code
        assert t.color.startswith("#") and len(t.color) == 7


def test_every_code_belongs_to_one_of_the_three_top_groups(conn: Connection) -> None:
    by_code = {t.code: t for t in land_use.types(conn)}
    for t in by_code.values():
        top = t
        while top.parent_group:
            top = by_code[top.parent_group]
        assert top.code in {"NNP", "PNN", "CSD"}, t.code


def test_legacy_codes_resolve_to_current_ones(conn: Connection) -> None:
    assert land_use.resolve(conn, "BHK") == "HNK"
    assert land_use.resolve(conn, "nhk") == "HNK"
    assert land_use.resolve(conn, "DDT") == "DDD"
    assert land_use.resolve(conn, " odt ") == "ODT"
    assert land_use.resolve(conn, "XYZ") is None
