"""API access: users with hashed bearer tokens; an index for a parcel's flood risk over scenarios.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_users",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False, comment="SHA-256 of the token"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("role IN ('officer', 'admin')", name=op.f("ck_api_users_role")),
        sa.CheckConstraint(r"token_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_api_users_token_hash_format")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_users")),
        sa.UniqueConstraint("name", name=op.f("uq_api_users_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_users_token_hash")),
    )
    op.create_index("ix_flood_risk_parcel", "flood_risk", ["ward_code", "map_sheet", "parcel_no"])


def downgrade() -> None:
    op.drop_index("ix_flood_risk_parcel", table_name="flood_risk")
    op.drop_table("api_users")
