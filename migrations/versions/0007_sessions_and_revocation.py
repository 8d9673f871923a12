"""Server-side sign-in sessions; revoked users are kept, so the audit log's actors stay unambiguous.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Before, the maps' cookie carried the bearer token itself (signed, not encrypted), and revoking a
user deleted its row, so a new user could take the same name while the audit log recorded only
``api:<name>``. Now:

- ``api_sessions`` holds one row per signed-in browser: the SHA-256 of a random session secret
  (the cookie holds the secret, never the token), the user, and an expiry;
- a revoked user keeps its row (``revoked_at``) and its id, which the audit log's actor names
  (``api:<name>#<id>``); only an *active* user's name must be unique, so the name can be given
  to someone new, who gets a new id.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_users", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint("uq_api_users_name", "api_users", type_="unique")
    op.create_index("uq_api_users_name_active", "api_users", ["name"], unique=True,
                    postgresql_where=sa.text("revoked_at IS NULL"))
    op.create_table(
        "api_sessions",
        sa.Column("secret_hash", sa.Text(), nullable=False, comment="SHA-256 of the cookie's session secret"),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(r"secret_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_api_sessions_secret_hash_format")),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_api_sessions_expiry")),
        sa.ForeignKeyConstraint(["user_id"], ["api_users.id"], name=op.f("fk_api_sessions_user_id_api_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("secret_hash", name=op.f("pk_api_sessions")),
    )
    op.create_index(op.f("ix_api_sessions_user_id"), "api_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_sessions_user_id"), table_name="api_sessions")
    op.drop_table("api_sessions")
    op.execute("DELETE FROM api_users WHERE revoked_at IS NOT NULL")
    op.drop_index("uq_api_users_name_active", table_name="api_users")
    op.create_unique_constraint("uq_api_users_name", "api_users", ["name"])
    op.drop_column("api_users", "revoked_at")
