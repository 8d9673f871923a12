"""Officer search: holders' names and addresses found without diacritics or case, ID numbers and
certificate serials by index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09

``landflood_fold(text)`` is a text in lower case without diacritics: decomposed (NFD), without
the combining marks of Vietnamese's letters, đ and Đ as d, then ``lower`` — every Vietnamese
letter, upper or lower case, becomes its plain letter. It is IMMUTABLE (``normalize``,
``translate`` and ``lower`` are; the ``unaccent`` extension's function is only STABLE, so no
index could use it), so expression
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

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: The combining marks of Vietnamese's letters once decomposed (NFD): grave, acute, circumflex,
#: tilde, breve, hook above, horn, dot below. ư is u + horn, ặ is a + breve + dot below, …
MARKS = "\u0300\u0301\u0302\u0303\u0306\u0309\u031b\u0323"


def _functions() -> str:
    # normalize() and a translate() over ten characters: a tenth of the time a translate() over
    # every precomposed Latin letter takes (migration 0008's), which matters on every recheck of
    # a trigram search and on every row a load writes.
    return f"""
CREATE FUNCTION landflood_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(translate(normalize(value, NFD), 'đĐ{MARKS}', 'dd'))
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
