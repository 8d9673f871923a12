"""The land registry's workflow: applications with their source documents, transactions that close
and open parcel and right versions, parcel lineage, exact shares, mortgage ranks, a registrar role.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

After LADM: an application (``applications``, LA_... "BA unit" requests in SOLA's terms) is
lodged for one service (split, merge, transfer, mortgage, mortgage cancellation, boundary
correction) on some parcels, with its documents (``sources``, LA_Source); when registered, one
``transactions`` row records which parcel versions and rights it closed and opened
(``transaction_changes``), and ``parcel_lineage`` which versions a new parcel came from.
``issued_documents`` records each certificate data sheet, map extract and flood statement the
registry issued, so that the number and QR code printed on it can be verified.

Nothing is deleted: applications only move forward through their states (a trigger refuses any
other change and any deletion); sources, transactions, their changes and lineage are append-only.
Every table here is audited like the register's own (migration 0002's triggers).

Shares of a co-owned right become exact fractions (``share_numerator``/``share_denominator``):
1/3 has no exact decimal. Existing decimal shares are converted exactly (they have four places).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICES = ("split", "merge", "transfer", "mortgage", "mortgage_cancellation", "boundary_correction")
STATES = ("lodged", "approved", "registered", "rejected", "cancelled", "withdrawn")
SOURCE_KINDS = ("application_form", "cadastral_survey", "contract", "gift_deed", "inheritance_record",
                "court_decision", "mortgage_contract", "mortgage_release", "id_document", "certificate", "other")
DOCUMENT_KINDS = ("certificate_data", "map_extract", "flood_statement")
#: Where an application may go from each state (a state not listed is final).
TRANSITIONS = {"lodged": ("approved", "rejected", "cancelled", "withdrawn"),
               "approved": ("registered", "rejected", "cancelled", "withdrawn")}
#: What may change in an application once lodged: its state and the steps' records.
MUTABLE = ("state", "approved_at", "approved_by", "registered_at", "registered_by", "closed_at", "closed_by",
           "close_reason", "check_report")

# The audit of migration 0002, for the new tables and for rights' new columns (kept here as it
# was then written: a migration does not import another's code).
AUDIT_COLUMNS = {
    "rights": ("id", "ward_code", "map_sheet", "parcel_no", "party_id", "kind", "share_numerator",
               "share_denominator", "rank", "certificate_no", "use_term_end", "description", "valid_from",
               "valid_to"),
    "applications": ("id", "number", "service", "applicant_id", "state", "lodged_at", "lodged_by", "due_on",
                     "approved_at", "approved_by", "registered_at", "registered_by", "closed_at", "closed_by",
                     "close_reason"),
    "sources": ("id", "kind", "number", "issued_on", "issued_by", "file_sha256", "file_name", "created_by"),
    "transactions": ("id", "application_id", "registered_at", "registered_by"),
}
APPEND_ONLY = ("sources", "application_parcels", "application_sources", "transactions", "transaction_changes",
               "parcel_lineage", "issued_documents")


#: The audit of rights as migration 0002 wrote it, for the downgrade.
RIGHTS_COLUMNS_0002 = ("id", "ward_code", "map_sheet", "parcel_no", "party_id", "kind", "share", "certificate_no",
                       "use_term_end", "description", "valid_from", "valid_to")


def _audit(table: str, cols: tuple[str, ...] | None = None) -> str:
    cols = cols or AUDIT_COLUMNS[table]

    def obj(alias: str) -> str:
        return "jsonb_build_object(" + ", ".join(f"'{c}', {alias}.{c}" for c in cols) + ")"

    key = ("concat_ws('-', {a}.ward_code, {a}.map_sheet, {a}.parcel_no) || '#' || {a}.id"
           if "parcel_no" in cols else "{a}.id::text")
    return f"""
CREATE OR REPLACE FUNCTION landflood_audit_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('landflood.actor', true), ''), session_user);
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (actor, action, table_name, row_key, old, new)
        SELECT who, TG_OP, TG_TABLE_NAME, {key.format(a="n")}, NULL, {obj("n")} FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO audit_log (actor, action, table_name, row_key, old, new)
        SELECT who, TG_OP, TG_TABLE_NAME, {key.format(a="n")}, {obj("o")}, {obj("n")}
        FROM old_rows o JOIN new_rows n USING (id);
    ELSE
        INSERT INTO audit_log (actor, action, table_name, row_key, old, new)
        SELECT who, TG_OP, TG_TABLE_NAME, {key.format(a="o")}, {obj("o")}, NULL FROM old_rows o;
    END IF;
    RETURN NULL;
END $$
"""


def _audit_triggers(table: str) -> None:
    fn = f"landflood_audit_{table}()"
    op.execute(f"CREATE TRIGGER audit_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
               f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}")
    op.execute(f"CREATE TRIGGER audit_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows "
               f"NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {fn}")
    op.execute(f"CREATE TRIGGER audit_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
               f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}")


APPEND_ONLY_FUNCTION = """
CREATE FUNCTION landflood_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: its rows are never changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$
"""


def _application_guard() -> str:
    allowed = " OR ".join(f"(OLD.state = '{a}' AND NEW.state IN ({', '.join(repr(s) for s in b)}))"
                          for a, b in TRANSITIONS.items())
    fixed = [c for c in ("id", "number", "idempotency_key", "service", "applicant_id", "request", "lodged_at",
                         "lodged_by", "due_on")]
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in fixed)
    return f"""
CREATE FUNCTION landflood_application_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'applications are kept: cancel or withdraw application % instead of deleting it',
            OLD.number USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF {changed} THEN
        RAISE EXCEPTION 'application % keeps what was lodged; only its state and steps change', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.state IS DISTINCT FROM OLD.state AND NOT ({allowed}) THEN
        RAISE EXCEPTION 'application % cannot go from % to %', OLD.number, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.state = OLD.state AND OLD.state NOT IN ('lodged', 'approved') THEN
        RAISE EXCEPTION 'application % is %: it no longer changes', OLD.number, OLD.state
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$
"""


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.execute("CREATE SEQUENCE application_number_seq")
    op.create_table(
        "sources",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=True, comment="The document's own number"),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("issued_by", sa.Text(), nullable=True, comment="The body that issued it"),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("file_sha256", sa.Text(), nullable=True, comment="The attached file, stored by its content hash"),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("media_type", sa.Text(), nullable=True),
        sa.Column("file_bytes", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.CheckConstraint(_in("kind", SOURCE_KINDS), name=op.f("ck_sources_kind")),
        sa.CheckConstraint(r"file_sha256 IS NULL OR file_sha256 ~ '^[0-9a-f]{64}$'",
                           name=op.f("ck_sources_file_sha256_format")),
        sa.CheckConstraint("(file_sha256 IS NULL) = (file_name IS NULL) AND "
                           "(file_sha256 IS NULL) = (file_bytes IS NULL)",
                           name=op.f("ck_sources_file_parts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False, comment="Số hồ sơ, as HS-2026-000123"),
        sa.Column("idempotency_key", sa.Text(), nullable=True,
                  comment="The client's key: lodging again with it returns the same application"),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("applicant_id", sa.BigInteger(), nullable=False),
        sa.Column("request", postgresql.JSONB(), nullable=False, comment="What is asked, as lodged"),
        sa.Column("state", sa.Text(), server_default="lodged", nullable=False),
        sa.Column("lodged_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("lodged_by", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False, comment="The service's deadline, in working days"),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.Text(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_by", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Text(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("check_report", postgresql.JSONB(), nullable=True, comment="The last run of the rules"),
        sa.CheckConstraint(_in("service", SERVICES), name=op.f("ck_applications_service")),
        sa.CheckConstraint(_in("state", STATES), name=op.f("ck_applications_state")),
        sa.CheckConstraint("(approved_at IS NULL) = (approved_by IS NULL)", name=op.f("ck_applications_approved")),
        sa.CheckConstraint("(registered_at IS NULL) = (registered_by IS NULL) AND "
                           "(registered_at IS NULL) = (state <> 'registered')",
                           name=op.f("ck_applications_registered")),
        sa.CheckConstraint("(closed_at IS NULL) = (closed_by IS NULL) AND (closed_at IS NULL) = "
                           "(state NOT IN ('rejected', 'cancelled', 'withdrawn'))",
                           name=op.f("ck_applications_closed")),
        sa.ForeignKeyConstraint(["applicant_id"], ["parties.id"], name=op.f("fk_applications_applicant_id_parties")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("number", name=op.f("uq_applications_number")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_applications_idempotency_key")),
    )
    op.create_index("ix_applications_state_due_on", "applications", ["state", "due_on"])
    op.create_table(
        "application_parcels",
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("ward_code", sa.Text(), nullable=False),
        sa.Column("map_sheet", sa.Integer(), nullable=False),
        sa.Column("parcel_no", sa.Integer(), nullable=False),
        sa.Column("parcel_key", sa.BigInteger(), sa.Computed(
            "(map_sheet::bigint << 48) | (ward_code::bigint << 31) | parcel_no::bigint", persisted=True),
            nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=False,
                  comment="The parcel's version when the application was lodged"),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name=op.f("fk_application_parcels_application_id_applications")),
        sa.ForeignKeyConstraint(["version_id"], ["parcel_versions.id"],
                                name=op.f("fk_application_parcels_version_id_parcel_versions")),
        sa.ForeignKeyConstraint(["ward_code", "map_sheet", "parcel_no"],
                                ["parcels.ward_code", "parcels.map_sheet", "parcels.parcel_no"],
                                name=op.f("fk_application_parcels_ward_code_parcels")),
        sa.PrimaryKeyConstraint("application_id", "parcel_key", name=op.f("pk_application_parcels")),
    )
    op.create_index("ix_application_parcels_parcel_key", "application_parcels", ["parcel_key"])
    op.create_table(
        "application_sources",
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("source_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name=op.f("fk_application_sources_application_id_applications")),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], name=op.f("fk_application_sources_source_id_sources")),
        sa.PrimaryKeyConstraint("application_id", "source_id", name=op.f("pk_application_sources")),
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("registered_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"],
                                name=op.f("fk_transactions_application_id_applications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
        sa.UniqueConstraint("application_id", name=op.f("uq_transactions_application_id")),
    )
    op.create_table(
        "transaction_changes",
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.CheckConstraint("table_name IN ('parcel_versions', 'rights')", name=op.f("ck_transaction_changes_table")),
        sa.CheckConstraint("change IN ('closed', 'opened')", name=op.f("ck_transaction_changes_change")),
        sa.ForeignKeyConstraint(["transaction_id"], ["transactions.id"],
                                name=op.f("fk_transaction_changes_transaction_id_transactions")),
        sa.PrimaryKeyConstraint("transaction_id", "table_name", "row_id", "change",
                                name=op.f("pk_transaction_changes")),
    )
    op.create_index("ix_transaction_changes_row", "transaction_changes", ["table_name", "row_id"])
    op.create_table(
        "parcel_lineage",
        sa.Column("child_version_id", sa.BigInteger(), nullable=False),
        sa.Column("parent_version_id", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('split', 'merge', 'boundary_correction')", name=op.f("ck_parcel_lineage_kind")),
        sa.CheckConstraint("child_version_id <> parent_version_id", name=op.f("ck_parcel_lineage_not_itself")),
        sa.ForeignKeyConstraint(["child_version_id"], ["parcel_versions.id"],
                                name=op.f("fk_parcel_lineage_child_version_id_parcel_versions")),
        sa.ForeignKeyConstraint(["parent_version_id"], ["parcel_versions.id"],
                                name=op.f("fk_parcel_lineage_parent_version_id_parcel_versions")),
        sa.ForeignKeyConstraint(["transaction_id"], ["transactions.id"],
                                name=op.f("fk_parcel_lineage_transaction_id_transactions")),
        sa.PrimaryKeyConstraint("child_version_id", "parent_version_id", name=op.f("pk_parcel_lineage")),
    )
    op.create_index("ix_parcel_lineage_parent_version_id", "parcel_lineage", ["parent_version_id"])
    op.execute("CREATE SEQUENCE document_number_seq")
    op.create_table(
        "issued_documents",
        sa.Column("number", sa.Text(), nullable=False, comment="Printed on the document, as TL-2026-000045"),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False, comment="officer: with holders' data; public: without"),
        sa.Column("version_id", sa.BigInteger(), nullable=False, comment="The parcel version it shows"),
        sa.Column("scenario", sa.Text(), nullable=True, comment="A flood statement's scenarios, if only some"),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("issued_by", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.Text(), nullable=False, comment="SHA-256 of the data it states"),
        sa.CheckConstraint(_in("kind", DOCUMENT_KINDS), name=op.f("ck_issued_documents_kind")),
        sa.CheckConstraint("audience IN ('officer', 'public')", name=op.f("ck_issued_documents_audience")),
        sa.CheckConstraint("content_sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_issued_documents_sha256")),
        sa.ForeignKeyConstraint(["version_id"], ["parcel_versions.id"],
                                name=op.f("fk_issued_documents_version_id_parcel_versions")),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_issued_documents")),
    )
    op.create_index("ix_issued_documents_version_id", "issued_documents", ["version_id"])

    # Exact shares and mortgage ranks on rights.
    op.add_column("rights", sa.Column("share_numerator", sa.Integer(), nullable=True))
    op.add_column("rights", sa.Column("share_denominator", sa.Integer(), nullable=True))
    op.add_column("rights", sa.Column("rank", sa.SmallInteger(), nullable=True,
                                      comment="A mortgage's rank on the parcel (1 first)"))
    op.execute("ALTER TABLE rights DISABLE TRIGGER keep_history")  # a one-off conversion of every version
    op.execute("""
        UPDATE rights SET share_numerator = (share * 10000)::integer / gcd((share * 10000)::integer, 10000),
                          share_denominator = 10000 / gcd((share * 10000)::integer, 10000)
        WHERE share IS NOT NULL""")
    op.execute("ALTER TABLE rights ENABLE TRIGGER keep_history")
    op.drop_constraint(op.f("ck_rights_share_range"), "rights", type_="check")
    op.drop_column("rights", "share")
    op.create_check_constraint(
        op.f("ck_rights_share_fraction"), "rights",
        "(share_numerator IS NULL) = (share_denominator IS NULL) AND (share_numerator IS NULL OR "
        "(share_numerator > 0 AND share_denominator > 0 AND share_numerator <= share_denominator))")
    op.create_check_constraint(op.f("ck_rights_rank"), "rights", "rank IS NULL OR (kind = 'mortgage' AND rank > 0)")

    op.drop_constraint(op.f("ck_api_users_role"), "api_users", type_="check")
    op.create_check_constraint(op.f("ck_api_users_role"), "api_users", "role IN ('officer', 'registrar', 'admin')")

    for table in AUDIT_COLUMNS:
        op.execute(_audit(table))
    for table in ("applications", "sources", "transactions"):
        _audit_triggers(table)
    op.execute(APPEND_ONLY_FUNCTION)
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION landflood_append_only()")
    op.execute(_application_guard())
    op.execute("CREATE TRIGGER guard BEFORE UPDATE OR DELETE ON applications "
               "FOR EACH ROW EXECUTE FUNCTION landflood_application_guard()")


def downgrade() -> None:
    op.execute("DROP TRIGGER guard ON applications")
    op.execute("DROP FUNCTION landflood_application_guard()")
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER append_only ON {table}")
    op.execute("DROP FUNCTION landflood_append_only()")
    for table in ("applications", "sources", "transactions"):
        for name in ("audit_insert", "audit_update", "audit_delete"):
            op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(f"DROP FUNCTION landflood_audit_{table}()")
    op.drop_constraint(op.f("ck_api_users_role"), "api_users", type_="check")
    op.execute("UPDATE api_users SET role = 'officer' WHERE role = 'registrar'")
    op.create_check_constraint(op.f("ck_api_users_role"), "api_users", "role IN ('officer', 'admin')")
    op.add_column("rights", sa.Column("share", sa.Numeric(5, 4), nullable=True))
    op.execute("ALTER TABLE rights DISABLE TRIGGER keep_history")
    op.execute("UPDATE rights SET share = round(share_numerator::numeric / share_denominator, 4) "
               "WHERE share_numerator IS NOT NULL")
    op.execute("ALTER TABLE rights ENABLE TRIGGER keep_history")
    op.drop_constraint(op.f("ck_rights_share_fraction"), "rights", type_="check")
    op.drop_constraint(op.f("ck_rights_rank"), "rights", type_="check")
    op.create_check_constraint(op.f("ck_rights_share_range"), "rights", "share IS NULL OR (share > 0 AND share <= 1)")
    op.drop_column("rights", "rank")
    op.drop_column("rights", "share_denominator")
    op.drop_column("rights", "share_numerator")
    op.execute(_audit("rights", RIGHTS_COLUMNS_0002))
    op.drop_table("issued_documents")
    op.execute("DROP SEQUENCE document_number_seq")
    op.drop_table("parcel_lineage")
    op.drop_table("transaction_changes")
    op.drop_table("transactions")
    op.drop_table("application_sources")
    op.drop_table("application_parcels")
    op.drop_index("ix_applications_state_due_on", table_name="applications")
    op.drop_table("applications")
    op.drop_table("sources")
    op.execute("DROP SEQUENCE application_number_seq")

