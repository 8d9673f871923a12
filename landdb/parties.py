"""Every query on parties (owners, with personal data) and their rights."""

from __future__ import annotations

from sqlalchemy import Connection, text

from landdb.parcel_load import GOOD

# Owners are matched by their ID number (12 digits: CCCD, 9: old CMND; the loader sets id_type);
# without one, by name and birth year, which can merge two namesakes: files without ID numbers
# cannot tell them apart.


def stage_merge_owners(conn: Connection) -> dict[str, int]:
    """Create the owners of the good staged parcels and give each parcel its current use right.

    A parcel whose holder changed gets the old right closed and a new one opened; an unchanged
    holder is left alone. Returns counts of parties and rights inserted and rights closed.
    """
    parties = _insert_parties(conn)
    conn.execute(text(f"""
        CREATE TEMP TABLE stage_owner ON COMMIT DROP AS
        SELECT s.pkey, s.ward_code, s.map_sheet, s.parcel_no, p.id AS party_id
        FROM stage_parcels s JOIN parties p ON p.id_type = s.id_type AND p.id_number = s.owner_id
        WHERE {GOOD} AND s.owner_name IS NOT NULL AND s.owner_id IS NOT NULL
        UNION ALL
        SELECT s.pkey, s.ward_code, s.map_sheet, s.parcel_no, min(p.id)
        FROM stage_parcels s JOIN parties p ON p.id_number IS NULL AND p.full_name = s.owner_name
             AND p.birth_year IS NOT DISTINCT FROM s.birth_year
        WHERE {GOOD} AND s.owner_name IS NOT NULL AND s.owner_id IS NULL
        GROUP BY s.pkey, s.ward_code, s.map_sheet, s.parcel_no;
        ANALYZE stage_owner;
        CREATE TEMP TABLE stage_held ON COMMIT DROP AS
        SELECT r.id, r.parcel_key, r.party_id FROM rights r JOIN stage_owner o ON r.parcel_key = o.pkey
        WHERE r.kind = 'use_right' AND r.valid_to IS NULL;
        ANALYZE stage_held;
    """))
    closed = conn.execute(text("""
        UPDATE rights SET valid_to = now()
        WHERE id IN (SELECT h.id FROM stage_held h JOIN stage_owner o ON o.pkey = h.parcel_key
                     WHERE h.party_id <> o.party_id)
    """)).rowcount
    rights = conn.execute(text("""
        INSERT INTO rights (ward_code, map_sheet, parcel_no, party_id, kind, share_numerator, share_denominator,
                            valid_from)
        SELECT o.ward_code, o.map_sheet, o.parcel_no, o.party_id, 'use_right', 1, 1, now() FROM stage_owner o
        WHERE NOT EXISTS (SELECT 1 FROM stage_held h WHERE h.parcel_key = o.pkey AND h.party_id = o.party_id)
        ORDER BY o.pkey
    """)).rowcount
    return {"parties_inserted": parties, "rights_inserted": rights, "rights_closed": closed}


def _insert_parties(conn: Connection) -> int:
    """Parties not known yet: by ID number (the first row of each wins), else by name and birth year."""
    inserted = conn.execute(text(f"""
        INSERT INTO parties (kind, full_name, id_type, id_number, birth_year)
        SELECT 'person', s.owner_name, s.id_type, s.owner_id, s.birth_year
        FROM stage_parcels s JOIN (
            SELECT min(s.row_no) AS row_no FROM stage_parcels s
            WHERE {GOOD} AND s.owner_name IS NOT NULL AND s.owner_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM parties p WHERE p.id_type = s.id_type AND p.id_number = s.owner_id)
            GROUP BY s.id_type, s.owner_id) f USING (row_no)
        ORDER BY s.id_type, s.owner_id
        ON CONFLICT (id_type, id_number) DO NOTHING
    """)).rowcount
    return inserted + conn.execute(text(f"""
        INSERT INTO parties (kind, full_name, birth_year)
        SELECT DISTINCT 'person', owner_name, birth_year FROM stage_parcels s
        WHERE {GOOD} AND owner_name IS NOT NULL AND owner_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM parties p WHERE p.id_number IS NULL AND p.full_name = s.owner_name
                          AND p.birth_year IS NOT DISTINCT FROM s.birth_year)
    """)).rowcount
