"""Reference data: the land-use code list of Circular 08/2024/TT-BTNMT (Appendix II) and the
older Circular 27/2018/TT-BTNMT codes still found in data, mapped to the current ones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

The rows are read from ``migrations/data/*.csv``, which are frozen with this revision (see
``migrations/data/SOURCES.md``); a later change to the code list is a new revision.
"""

import csv
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATA = Path(__file__).resolve().parents[1] / "data"


def _rows(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return [
            {k: (unicodedata.normalize("NFC", v) if v != "" else None) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def upgrade() -> None:
    types = sa.table(
        "land_use_types",
        sa.column("code"), sa.column("parent_group"), sa.column("name_vi"), sa.column("name_en"),
        sa.column("color"), sa.column("sort_order", sa.Integer),
    )
    rows = _rows("land_use_types.csv")
    for row in rows:
        row["sort_order"] = int(row["sort_order"])
    # Parents first, so the self-referencing foreign key holds row by row.
    by_code = {r["code"]: r for r in rows}

    def depth(r: dict) -> int:
        return 0 if not r["parent_group"] else 1 + depth(by_code[r["parent_group"]])

    op.bulk_insert(types, sorted(rows, key=depth))
    legacy = sa.table(
        "land_use_legacy_codes",
        sa.column("legacy_code"), sa.column("circular"), sa.column("name_vi"), sa.column("code"), sa.column("note"),
    )
    op.bulk_insert(legacy, _rows("land_use_legacy_codes.csv"))


def downgrade() -> None:
    op.execute("DELETE FROM land_use_legacy_codes")
    op.execute("DELETE FROM land_use_types")
