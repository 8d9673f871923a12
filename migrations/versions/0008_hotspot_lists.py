"""Hotspot lists as the city publishes them: a name key to identify hotspots without a code, and
the deepest flooding and the rain that floods a hotspot, as such lists give them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Lists of the drainage company and the press carry no identifier (their STT is only the row
number of one edition), so a hotspot is known by its name and district. ``name_key`` is that
identity, computed in the database by ``landflood_name_key(name, district)`` so that stored
hotspots and staged rows use one definition: the district without its Quận/Huyện/Thị xã prefix
and the name, each in lower case without diacritics, every run of other characters one '-', as
``hoan-kiem:pho-hue-hang-bai``; a key over 100 characters keeps 91 and a hash. A hotspot loaded
without a code gets its name key as code.

``max_depth_m`` and ``trigger_rain_mm`` describe the hotspot over its history, with no date: not
an event (an event needs its start time), so they belong to the hotspot.
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _folding() -> tuple[str, str]:
    """(letters, their plain lower-case ASCII letter) for translate(): A-Z and every Latin letter
    with diacritics up to U+1EFF (all of Vietnamese's), đ and Đ included."""
    source, target = [], []
    for code in [*range(ord("A"), ord("Z") + 1), *range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        base = "d" if char in "đĐ" else unicodedata.normalize("NFD", char)[0].lower()
        if base.isascii() and base.isalpha() and base != char:
            source.append(char)
            target.append(base)
    return "".join(source), "".join(target)


def _slug(value: str) -> str:
    letters, plain = _folding()
    return f"trim(both '-' from regexp_replace(translate({value}, '{letters}', '{plain}'), '[^a-z0-9]+', '-', 'g'))"


NAME_KEY_FUNCTION = f"""
CREATE FUNCTION landflood_name_key(name text, district text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(k) <= 100 THEN k ELSE left(k, 91) || '-' || left(md5(k), 8) END
    FROM (SELECT CASE WHEN n <> '' THEN
                     concat_ws(':', nullif(regexp_replace(d, '^(quan|huyen|thi-xa|q|h|tx)-', ''), ''), n) END AS k
          FROM (SELECT {_slug('name')} AS n, {_slug('district')} AS d) parts) keys
$$
"""


def upgrade() -> None:
    op.execute(NAME_KEY_FUNCTION)
    op.add_column("waterlogging_points", sa.Column(
        "name_key", sa.Text(), sa.Computed("landflood_name_key(name, district)", persisted=True),
        comment="Name and district as one key (landflood_name_key): the identity of a hotspot without a code"))
    op.add_column("waterlogging_points", sa.Column(
        "max_depth_m", sa.Numeric(4, 2), comment="Deepest flooding the source records here"))
    op.add_column("waterlogging_points", sa.Column(
        "trigger_rain_mm", sa.Numeric(6, 1), comment="Rain that floods the hotspot, as the source records it"))
    op.create_check_constraint(op.f("ck_waterlogging_points_max_depth_range"), "waterlogging_points",
                               "max_depth_m IS NULL OR (max_depth_m >= 0 AND max_depth_m <= 5)")
    op.create_check_constraint(op.f("ck_waterlogging_points_trigger_rain_nonnegative"), "waterlogging_points",
                               "trigger_rain_mm IS NULL OR trigger_rain_mm >= 0")
    op.create_index("ix_waterlogging_points_name_key", "waterlogging_points", ["name_key"])


def downgrade() -> None:
    op.drop_index("ix_waterlogging_points_name_key", table_name="waterlogging_points")
    op.drop_constraint(op.f("ck_waterlogging_points_trigger_rain_nonnegative"), "waterlogging_points")
    op.drop_constraint(op.f("ck_waterlogging_points_max_depth_range"), "waterlogging_points")
    for column in ("trigger_rain_mm", "max_depth_m", "name_key"):
        op.drop_column("waterlogging_points", column)
    op.execute("DROP FUNCTION landflood_name_key(text, text)")
