"""Every query on parties (owners, with personal data) and their rights."""

from __future__ import annotations

from sqlalchemy import Connection, text

# Owners are matched by their ID number (12 digits: CCCD, 9: old CMND); without one, by name and
# birth year, which can merge two namesakes: files without ID numbers cannot tell them apart.
def _id_type(col: str) -> str:
    return f"CASE WHEN {col} ~ '^[0-9]{{12}}$' THEN 'CCCD' WHEN {col} ~ '^[0-9]{{9}}$' THEN 'CMND' ELSE 'other' END"


_ID_TYPE = _id_type("owner_id")


def stage_merge_owners(conn: Connection) -> dict[str, int]:
    """Create the owners of the good staged parcels and give each parcel its current use right.

    A parcel whose holder changed gets the old right closed and a new one opened; an unchanged
    holder is left alone. Returns counts of parties and rights inserted and rights closed.
    """
    parties = conn.execute(text(f"""
        INSERT INTO parties (kind, full_name, id_type, id_number, birth_year)
        SELECT DISTINCT ON ({_ID_TYPE}, owner_id) 'person', owner_name, {_ID_TYPE}, owner_id, birth_year
        FROM stage_parcels WHERE problem IS NULL AND owner_name IS NOT NULL AND owner_id IS NOT NULL
        ORDER BY {_ID_TYPE}, owner_id, row_no
        ON CONFLICT (id_type, id_number) DO NOTHING
    """)).rowcount
    parties += conn.execute(text("""
        INSERT INTO parties (kind, full_name, birth_year)
        SELECT DISTINCT 'person', owner_name, birth_year FROM stage_parcels s
        WHERE problem IS NULL AND owner_name IS NOT NULL AND owner_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM parties p WHERE p.id_number IS NULL AND p.full_name = s.owner_name
                          AND p.birth_year IS NOT DISTINCT FROM s.birth_year)
    """)).rowcount
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_owner ON COMMIT DROP AS
        SELECT s.ward_code, s.map_sheet, s.parcel_no, p.id AS party_id
        FROM stage_parcels s JOIN parties p ON p.id_type = {_id_type('s.owner_id')}
             AND p.id_number = s.owner_id
        WHERE s.problem IS NULL AND s.owner_name IS NOT NULL AND s.owner_id IS NOT NULL
        UNION ALL
        SELECT s.ward_code, s.map_sheet, s.parcel_no, min(p.id)
        FROM stage_parcels s JOIN parties p ON p.id_number IS NULL AND p.full_name = s.owner_name
             AND p.birth_year IS NOT DISTINCT FROM s.birth_year
        WHERE s.problem IS NULL AND s.owner_name IS NOT NULL AND s.owner_id IS NULL
        GROUP BY s.ward_code, s.map_sheet, s.parcel_no
    """))
    closed = conn.execute(text("""
        UPDATE rights r SET valid_to = now()
        FROM stage_owner o
        WHERE r.ward_code = o.ward_code AND r.map_sheet = o.map_sheet AND r.parcel_no = o.parcel_no
          AND r.kind = 'use_right' AND r.valid_to IS NULL AND r.party_id <> o.party_id
    """)).rowcount
    rights = conn.execute(text("""
        INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, share, valid_from)
        SELECT o.ward_code, o.map_sheet, o.parcel_no, o.party_id, 'use_right', 1, now() FROM stage_owner o
        WHERE NOT EXISTS (SELECT 1 FROM rights r WHERE r.ward_code = o.ward_code AND r.map_sheet = o.map_sheet
                          AND r.parcel_no = o.parcel_no AND r.kind = 'use_right' AND r.valid_to IS NULL
                          AND r.party_id = o.party_id)
    """)).rowcount
    return {"parties_inserted": parties, "rights_inserted": rights, "rights_closed": closed}
