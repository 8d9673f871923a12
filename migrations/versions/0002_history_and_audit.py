"""History is append-only, and every change to the register is audited.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Parcel and right versions may only be *closed* (valid_to set once) — and a parcel version's
derived commune assignment refreshed; any other UPDATE or any DELETE is refused, so history
cannot be overwritten. Audit triggers are statement-level with transition tables so that a bulk
load of millions of rows writes its audit rows set-based. The actor is the session setting
``landflood.actor`` (``SET LOCAL landflood.actor = '...'``), else the database user.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Columns written to the audit log: all but the geometry, which would make every entry large
# and, converted to JSON row by row, made bulk loads several times slower.
AUDIT_COLUMNS = {
    "admin_units": ("id", "code", "name", "level", "kind", "parent_id", "valid_from", "valid_to"),
    "parcel_versions": ("id", "ward_code", "map_sheet", "parcel_no", "land_use_code", "area_legal_m2",
                        "address", "commune_code", "source", "valid_from", "valid_to"),
    "parties": ("id", "kind", "full_name", "id_type", "id_number", "birth_year", "address", "phone"),
    "rights": ("id", "ward_code", "map_sheet", "parcel_no", "party_id", "kind", "share", "certificate_no",
               "use_term_end", "description", "valid_from", "valid_to"),
}
# What a version may change once stored: only its closing time (and a parcel's derived commune).
MUTABLE = {"parcel_versions": ("valid_to", "commune_code"), "rights": ("valid_to",)}
# Generated columns: not computed yet in a BEFORE trigger, so left out of the comparison.
GENERATED = {"parcel_versions": ("parcel_id", "parcel_key", "area_m2"), "rights": ("parcel_key",)}


def _keep_history(table: str) -> str:
    kept = [c for c in ("valid_to", "commune_code") if c in MUTABLE[table]]
    resets = " ".join(f"n.{c} := OLD.{c};" for c in (*kept, *GENERATED[table]))
    edited = f"{table} keeps history: close version % (set valid_to) and insert a new version instead of editing it"
    return f"""
CREATE FUNCTION landflood_keep_history_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n {table} := NEW;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '{table} is append-only history: close the version (set valid_to) instead of deleting it'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.valid_to IS NOT NULL THEN
        RAISE EXCEPTION 'version % of {table} is closed (valid_to %) and cannot change', OLD.id, OLD.valid_to
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    {resets}
    IF n IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION '{edited}',
            OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$
"""


def _audit(table: str) -> str:
    cols = AUDIT_COLUMNS[table]

    def obj(alias: str) -> str:
        return "jsonb_build_object(" + ", ".join(f"'{c}', {alias}.{c}" for c in cols) + ")"

    key = ("concat_ws('-', {a}.ward_code, {a}.map_sheet, {a}.parcel_no) || '#' || {a}.id"
           if "parcel_no" in cols else "{a}.id::text")
    return f"""
CREATE FUNCTION landflood_audit_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
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


def upgrade() -> None:
    for table in MUTABLE:
        op.execute(_keep_history(table))
        op.execute(
            f"CREATE TRIGGER keep_history BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION landflood_keep_history_{table}()"
        )
    for table in AUDIT_COLUMNS:
        op.execute(_audit(table))
        fn = f"landflood_audit_{table}()"
        op.execute(
            f"CREATE TRIGGER audit_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}"
        )
        op.execute(
            f"CREATE TRIGGER audit_update AFTER UPDATE ON {table} "
            f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {fn}"
        )
        op.execute(
            f"CREATE TRIGGER audit_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}"
        )


def downgrade() -> None:
    for table in AUDIT_COLUMNS:
        for name in ("audit_insert", "audit_update", "audit_delete"):
            op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(f"DROP FUNCTION landflood_audit_{table}()")
    for table in MUTABLE:
        op.execute(f"DROP TRIGGER keep_history ON {table}")
        op.execute(f"DROP FUNCTION landflood_keep_history_{table}()")
