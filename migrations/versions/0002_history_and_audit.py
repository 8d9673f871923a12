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

VERSIONED = ("parcel_versions", "rights")
AUDITED = ("admin_units", "parcel_versions", "parties", "rights")

KEEP_HISTORY = """
CREATE FUNCTION landflood_keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% is append-only history: close the version (set valid_to) instead of deleting it',
            TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.valid_to IS NOT NULL THEN
        RAISE EXCEPTION 'version % of % is closed (valid_to %) and cannot change',
            OLD.id, TG_TABLE_NAME, OLD.valid_to USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- Generated columns (parcel_id, area_m2) are not computed yet in a BEFORE trigger: compare
    -- the stored columns only.
    IF (to_jsonb(NEW) - '{valid_to,commune_code,parcel_id,area_m2}'::text[])
       IS DISTINCT FROM (to_jsonb(OLD) - '{valid_to,commune_code,parcel_id,area_m2}'::text[]) THEN
        RAISE EXCEPTION '% keeps history: close version % (set valid_to) and insert a new version instead of editing it',
            TG_TABLE_NAME, OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$
"""

ROW_KEY = """
CREATE FUNCTION landflood_row_key(r jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN r ? 'parcel_no'
                THEN concat_ws('-', r->>'ward_code', r->>'map_sheet', r->>'parcel_no') || '#' || (r->>'id')
                ELSE r->>'id' END
$$
"""

AUDIT = """
CREATE FUNCTION landflood_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    who text := coalesce(nullif(current_setting('landflood.actor', true), ''), session_user);
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (actor, action, table_name, row_key, old, new)
        SELECT who, TG_OP, TG_TABLE_NAME, landflood_row_key(j), NULL, j
        FROM (SELECT to_jsonb(n) - 'geom' AS j FROM new_rows n) s;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO audit_log (actor, action, table_name, row_key, old, new)
        SELECT who, TG_OP, TG_TABLE_NAME, landflood_row_key(nj), oj, nj
        FROM (SELECT to_jsonb(o) - 'geom' AS oj, to_jsonb(n) - 'geom' AS nj
              FROM old_rows o JOIN new_rows n USING (id)) s;
    ELSE
        INSERT INTO audit_log (actor, action, table_name, row_key, old, new)
        SELECT who, TG_OP, TG_TABLE_NAME, landflood_row_key(j), j, NULL
        FROM (SELECT to_jsonb(o) - 'geom' AS j FROM old_rows o) s;
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(KEEP_HISTORY)
    op.execute(ROW_KEY)
    op.execute(AUDIT)
    for table in VERSIONED:
        op.execute(
            f"CREATE TRIGGER keep_history BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION landflood_keep_history()"
        )
    for table in AUDITED:
        op.execute(
            f"CREATE TRIGGER audit_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION landflood_audit()"
        )
        op.execute(
            f"CREATE TRIGGER audit_update AFTER UPDATE ON {table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION landflood_audit()"
        )
        op.execute(
            f"CREATE TRIGGER audit_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION landflood_audit()"
        )


def downgrade() -> None:
    for table in AUDITED:
        for name in ("audit_insert", "audit_update", "audit_delete"):
            op.execute(f"DROP TRIGGER {name} ON {table}")
    for table in VERSIONED:
        op.execute(f"DROP TRIGGER keep_history ON {table}")
    op.execute("DROP FUNCTION landflood_audit()")
    op.execute("DROP FUNCTION landflood_row_key(jsonb)")
    op.execute("DROP FUNCTION landflood_keep_history()")
