"""Officer search: holders' names and addresses found without diacritics or case, ID numbers and
certificate serials by index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09

``landflood_fold(text)`` is a text in lower case without diacritics: every Latin letter with
diacritics up to U+1EFF (all of Vietnamese's, NFC, upper and lower case) becomes its plain letter,
đ and Đ become d, then ``lower``. It is IMMUTABLE (built from ``translate`` and ``lower``; the
``unaccent`` extension's function is only STABLE, so no index could use it), so expression
indexes can hold it: trigram GIN indexes (pg_trgm) on the folded names of parties and on the
folded addresses of current parcel versions answer ``%`` / ``<%`` (word similarity) and
``LIKE`` on them without reading the table. ``landdb/search.py`` folds its queries with the same
function, so the two sides never disagree.

``landflood_code_key(text)`` is a certificate serial as people type it: folded, only its letters
and digits ("BĐ 123456", "bd-123456" and "BD123456" are one key); a B-tree on it finds a right by
its certificate. ID numbers get a plain B-tree (the unique constraint leads with ``id_type``).
A B-tree on the current versions' (commune_code, map_sheet, parcel_no) finds a parcel by today's
commune with the sheet and number of its cadastral map (which restart per pre-2025 commune).
"""

import unicodedata
from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _folding() -> tuple[str, str]:
    """(letters, their plain lower-case ASCII letter) for translate(): every Latin letter with
    diacritics up to U+1EFF (all of Vietnamese's), đ and Đ included (as migration 0008 folds)."""
    source, target = [], []
    for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        base = "d" if char in "đĐ" else unicodedata.normalize("NFD", char)[0].lower()
        if base.isascii() and base.isalpha() and base != char:
            source.append(char)
            target.append(base)
    return "".join(source), "".join(target)


def _functions() -> str:
    letters, plain = _folding()
    return f"""
CREATE FUNCTION landflood_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(translate(value, '{letters}', '{plain}'))
$$;
CREATE FUNCTION landflood_code_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(landflood_fold(value), '[^a-z0-9]+', '', 'g')
$$;
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(_functions())
    op.execute("CREATE INDEX ix_parties_full_name_trgm ON parties USING gin (landflood_fold(full_name) gin_trgm_ops)")
    op.execute("CREATE INDEX ix_parcel_versions_address_trgm ON parcel_versions "
               "USING gin (landflood_fold(address) gin_trgm_ops) WHERE valid_to IS NULL")
    op.execute("CREATE INDEX ix_rights_certificate_key ON rights (landflood_code_key(certificate_no))")
    op.create_index("ix_parties_id_number", "parties", ["id_number"])
    op.execute("CREATE INDEX ix_parcel_versions_commune_sheet_no ON parcel_versions "
               "(commune_code, map_sheet, parcel_no) WHERE valid_to IS NULL")


def downgrade() -> None:
    for index in ("ix_parcel_versions_commune_sheet_no", "ix_parties_id_number", "ix_rights_certificate_key",
                  "ix_parcel_versions_address_trgm", "ix_parties_full_name_trgm"):
        op.execute(f"DROP INDEX {index}")
    op.execute("DROP FUNCTION landflood_code_key(text)")
    op.execute("DROP FUNCTION landflood_fold(text)")
    # pg_trgm stays, as postgis and btree_gist do: another schema in the database may use it.
