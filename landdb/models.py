"""The data model: land administration (after ISO 19152 LADM) and the flood programme.

Spatial data is stored in the city's cadastral CRS (VN-2000 / TM-3 zone 482, EPSG:5897 for
Hanoi), so surveyed coordinates are kept exactly as measured. The database enforces what it
can: typed geometry columns (SRID and type), valid non-empty geometries, natural keys, foreign
keys, value ranges and non-overlapping lifespans of versions (one current version per key by a
partial unique index; overlaps refused by a set-based trigger, see migration 0006).

Parcel and right rows are versions: ``valid_from``/``valid_to`` bound their lifespan, a change
closes the current version and inserts a new one, and a trigger (see the migration) refuses to
rewrite or delete history.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import Label

from landdb.codes import APPLICATION_STATES, DOCUMENT_KINDS, RISK_CLASSES, ROLES, SERVICES, SOURCE_KINDS

#: VN-2000 / TM-3 zone 482 (central meridian 105°00', k = 0.9999): Hanoi's cadastral CRS.
CITY_SRID = 5897
#: Hanoi in longitude, latitude (CRS84), with a margin of about 3 km around the province's
#: boundary (lon 105.285–106.020, lat 20.564–21.386): where the city's data may lie.
CITY_EXTENT = (105.25, 20.53, 106.05, 21.42)

#: The parts of a parcel's natural key: a 5-digit commune code, a map sheet number that fits the
#: 15 bits the packed key gives it, a positive parcel number that fits its 31 bits.
WARD_CODE_PATTERN = r"^[0-9]{5}$"
MAX_MAP_SHEET = 2**15 - 1
MAX_PARCEL_NO = 2**31 - 1

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _geom(geometry_type: str) -> Geometry:
    # Spatial indexes are declared explicitly in __table_args__ so that alembic sees them.
    return Geometry(geometry_type, srid=CITY_SRID, spatial_index=False)


def _valid_geom(column: str = "geom") -> CheckConstraint:
    return CheckConstraint(f"ST_IsValid({column}) AND NOT ST_IsEmpty({column})", name=f"{column}_valid")


def _folded(column: str) -> Label:
    """A column in lower case without diacritics (``landflood_fold``, migration 0010), for a trigram index."""
    return literal_column(f"landflood_fold({column})").label(f"{column}_folded")


def _lifespan() -> CheckConstraint:
    return CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="lifespan")


def _gist(table: str, column: str = "geom") -> Index:
    return Index(f"ix_{table}_{column}", column, postgresql_using="gist")


# --- administrative units -----------------------------------------------------------------


class AdminUnit(Base):
    """A province, district or commune, as it was between ``valid_from`` and ``valid_to``.

    Hanoi had 30 district-level units and 526 communes until 30 June 2025; since 1 July 2025
    it has 126 communes (51 phường, 75 xã) and no districts. Codes are the official GSO codes.
    """

    __tablename__ = "admin_units"
    __table_args__ = (
        CheckConstraint(r"code ~ '^[0-9]{2,5}$'", name="code_format"),
        CheckConstraint("level IN ('province', 'district', 'commune')", name="level"),
        CheckConstraint(
            "kind IN ('thanh_pho', 'tinh', 'quan', 'huyen', 'thi_xa', 'phuong', 'xa', 'thi_tran', 'dac_khu')",
            name="kind",
        ),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="lifespan"),
        _valid_geom(),
        ExcludeConstraint(
            ("code", "="), (text("daterange(valid_from, valid_to)"), "&&"),
            using="gist", name="ex_admin_units_code_lifespan",
        ),
        _gist("admin_units"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, comment="Official Vietnamese name, NFC")
    level: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class AdminUnitSuccession(Base):
    """Which old units a new unit was formed from (one old commune may feed several new ones)."""

    __tablename__ = "admin_unit_successions"

    predecessor_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), primary_key=True)
    successor_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), primary_key=True, index=True)


# --- land-use types -----------------------------------------------------------------------


class LandUseType(Base):
    """A land-use code of Circular 08/2024/TT-BTNMT, Appendix II (groups and leaf codes)."""

    __tablename__ = "land_use_types"
    __table_args__ = (
        CheckConstraint(r"code ~ '^[A-Z]{3}$'", name="code_format"),
        CheckConstraint(r"color ~ '^#[0-9A-Fa-f]{6}$'", name="color_format"),
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    parent_group: Mapped[str | None] = mapped_column(ForeignKey("land_use_types.code"))
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    color: Mapped[str] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer)


class LandUseLegacyCode(Base):
    """An older code (Circular 27/2018/TT-BTNMT) still found in data, and its current code."""

    __tablename__ = "land_use_legacy_codes"

    legacy_code: Mapped[str] = mapped_column(Text, primary_key=True)
    circular: Mapped[str] = mapped_column(Text)
    name_vi: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(ForeignKey("land_use_types.code"))
    note: Mapped[str | None] = mapped_column(Text)


# --- cadastre: map sheets, parcels, parties, rights -----------------------------------------

def _ward_code() -> CheckConstraint:
    return CheckConstraint(f"ward_code ~ '{WARD_CODE_PATTERN}'", name="ward_code_format")


class MapSheet(Base):
    """A cadastral map sheet. Sheet numbers restart in each (pre-2025) commune."""

    __tablename__ = "map_sheets"
    __table_args__ = (
        _ward_code(),
        CheckConstraint("sheet_no > 0", name="sheet_no_positive"),
        CheckConstraint(f"sheet_no < {MAX_MAP_SHEET + 1}", name="sheet_no_max"),  # 15 bits of PARCEL_KEY
        CheckConstraint("scale IS NULL OR scale IN (200, 500, 1000, 2000, 5000, 10000)", name="scale"),
        CheckConstraint("geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))", name="geom_valid"),
    )

    ward_code: Mapped[str] = mapped_column(Text, primary_key=True, comment="Commune of the cadastral map")
    sheet_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    scale: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(_geom("POLYGON"), nullable=True)


class Parcel(Base):
    """The identity of a parcel (land unit): its natural key. Its content lives in versions."""

    __tablename__ = "parcels"
    __table_args__ = (
        _ward_code(),
        CheckConstraint("parcel_no > 0", name="parcel_no_positive"),
        ForeignKeyConstraint(["ward_code", "map_sheet"], ["map_sheets.ward_code", "map_sheets.sheet_no"]),
    )

    ward_code: Mapped[str] = mapped_column(Text, primary_key=True)
    map_sheet: Mapped[int] = mapped_column(Integer, primary_key=True)
    parcel_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    parcel_id: Mapped[str] = mapped_column(
        Text, Computed("ward_code || '-' || map_sheet::text || '-' || parcel_no::text", persisted=True), unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


_PARCEL_KEY = ("ward_code", "map_sheet", "parcel_no")

#: The natural key packed into one bigint (15 bits of map sheet, 17 of ward code, 31 of parcel
#: number; map_sheets caps sheet numbers at MAX_MAP_SHEET), so that indexes and joins on the key compare
#: one integer instead of three columns with text. The order keeps the fields that vary most apart
#: when PostgreSQL's bigint hash folds the two 32-bit halves together (ward first made hash joins on
#: it collide badly).
PARCEL_KEY_SQL = "(map_sheet::bigint << 48) | (ward_code::bigint << 31) | parcel_no::bigint"


def _parcel_key() -> Mapped[int]:
    return mapped_column(BigInteger, Computed(PARCEL_KEY_SQL, persisted=True),
                         comment="The natural key packed into one integer (see PARCEL_KEY_SQL)")


def _parcel_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(list(_PARCEL_KEY), [f"parcels.{c}" for c in _PARCEL_KEY])


class ParcelVersion(Base):
    """One version of a parcel (LADM spatial unit): land use, areas, address and geometry."""

    __tablename__ = "parcel_versions"
    __table_args__ = (
        _parcel_fk(),
        _lifespan(),
        _valid_geom(),
        CheckConstraint("area_legal_m2 IS NULL OR area_legal_m2 > 0", name="area_legal_positive"),
        Index("uq_parcel_versions_current", "parcel_key", unique=True, postgresql_where=text("valid_to IS NULL")),
        Index("ix_parcel_versions_parcel_key", "parcel_key"),
        _gist("parcel_versions"),
        # Officer search (migration 0010): addresses without diacritics, today's commune with sheet and number.
        Index("ix_parcel_versions_address_trgm", _folded("address"), postgresql_using="gin",
              postgresql_ops={"address_folded": "gin_trgm_ops"}, postgresql_where=text("valid_to IS NULL")),
        Index("ix_parcel_versions_commune_sheet_no", "commune_code", "map_sheet", "parcel_no",
              postgresql_where=text("valid_to IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ward_code: Mapped[str] = mapped_column(Text)
    map_sheet: Mapped[int] = mapped_column(Integer)
    parcel_no: Mapped[int] = mapped_column(Integer)
    parcel_id: Mapped[str] = mapped_column(
        Text, Computed("ward_code || '-' || map_sheet::text || '-' || parcel_no::text", persisted=True), index=True
    )
    parcel_key: Mapped[int] = _parcel_key()
    land_use_code: Mapped[str] = mapped_column(ForeignKey("land_use_types.code"), index=True)
    area_legal_m2: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), comment="Area as recorded")
    area_m2: Mapped[float] = mapped_column(Double, Computed("ST_Area(geom)", persisted=True),
                                           comment="Area on the VN-2000 plane")
    address: Mapped[str | None] = mapped_column(Text)
    commune_code: Mapped[str | None] = mapped_column(Text, index=True, comment="Current commune, assigned spatially")
    source: Mapped[str | None] = mapped_column(Text, comment="The load or edit that made this version")
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


class Party(Base):
    """A person, household or organisation holding rights. Holds personal data: never public."""

    __tablename__ = "parties"
    __table_args__ = (
        CheckConstraint("kind IN ('person', 'household', 'organization', 'state')", name="kind"),
        CheckConstraint(
            "id_type IS NULL OR id_type IN ('CCCD', 'CMND', 'passport', 'business_registration', 'other')",
            name="id_type",
        ),
        CheckConstraint(
            r"id_type IS DISTINCT FROM 'CCCD' OR id_number ~ '^[0-9]{12}$'", name="cccd_format"
        ),
        CheckConstraint("(id_type IS NULL) = (id_number IS NULL)", name="id_pair"),
        CheckConstraint("birth_year IS NULL OR birth_year BETWEEN 1880 AND 2100", name="birth_year"),
        UniqueConstraint("id_type", "id_number"),
        # Officer search (migration 0010): names without diacritics or case, ID numbers of any type.
        Index("ix_parties_full_name_trgm", _folded("full_name"), postgresql_using="gin",
              postgresql_ops={"full_name_folded": "gin_trgm_ops"}),
        Index("ix_parties_id_number", "id_number"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text)
    id_type: Mapped[str | None] = mapped_column(Text)
    id_number: Mapped[str | None] = mapped_column(Text)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Right(Base):
    """A right, restriction or responsibility (LADM RRR) of a party on a parcel, versioned."""

    __tablename__ = "rights"
    __table_args__ = (
        _parcel_fk(),
        _lifespan(),
        CheckConstraint(
            "kind IN ('ownership', 'use_right', 'lease', 'mortgage', 'restriction', 'easement')", name="kind"
        ),
        CheckConstraint("(share_numerator IS NULL) = (share_denominator IS NULL) AND (share_numerator IS NULL OR "
                        "(share_numerator > 0 AND share_denominator > 0 AND share_numerator <= share_denominator))",
                        name="share_fraction"),
        CheckConstraint("rank IS NULL OR (kind = 'mortgage' AND rank > 0)", name="rank"),
        Index("uq_rights_current", "parcel_key", "party_id", "kind", unique=True,
              postgresql_where=text("valid_to IS NULL")),
        Index("ix_rights_parcel", "parcel_key"),
        Index("ix_rights_certificate_key", text("landflood_code_key(certificate_no)")),  # officer search (0010)
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ward_code: Mapped[str] = mapped_column(Text)
    map_sheet: Mapped[int] = mapped_column(Integer)
    parcel_no: Mapped[int] = mapped_column(Integer)
    parcel_key: Mapped[int] = _parcel_key()
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    #: A co-owner's share as an exact fraction (1/3 has no exact decimal).
    share_numerator: Mapped[int | None] = mapped_column(Integer)
    share_denominator: Mapped[int | None] = mapped_column(Integer)
    rank: Mapped[int | None] = mapped_column(SmallInteger, comment="A mortgage's rank on the parcel (1 first)")
    certificate_no: Mapped[str | None] = mapped_column(Text, comment="Land use right certificate (GCN) number")
    use_term_end: Mapped[dt.date | None] = mapped_column(Date, comment="NULL: long-term (lâu dài)")
    description: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# --- the registry's workflow (migration 0009) ---------------------------------------------


def _code_list(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


class Source(Base):
    """A document an application rests on (LADM LA_Source); its file, if any, is stored by hash."""

    __tablename__ = "sources"
    __table_args__ = (
        _code_list("kind", SOURCE_KINDS, "kind"),
        CheckConstraint(r"file_sha256 IS NULL OR file_sha256 ~ '^[0-9a-f]{64}$'", name="file_sha256_format"),
        CheckConstraint("(file_sha256 IS NULL) = (file_name IS NULL) AND (file_sha256 IS NULL) = (file_bytes IS NULL)",
                        name="file_parts"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    number: Mapped[str | None] = mapped_column(Text, comment="The document's own number")
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    issued_by: Mapped[str | None] = mapped_column(Text, comment="The body that issued it")
    description: Mapped[str | None] = mapped_column(Text)
    file_sha256: Mapped[str | None] = mapped_column(Text, comment="The attached file, stored by its content hash")
    file_name: Mapped[str | None] = mapped_column(Text)
    media_type: Mapped[str | None] = mapped_column(Text)
    file_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(Text)


class Application(Base):
    """A request to the registry (hồ sơ) for one service on some parcels, from lodging to its end."""

    __tablename__ = "applications"
    __table_args__ = (
        _code_list("service", SERVICES, "service"),
        _code_list("state", APPLICATION_STATES, "state"),
        CheckConstraint("(approved_at IS NULL) = (approved_by IS NULL)", name="approved"),
        CheckConstraint("(registered_at IS NULL) = (registered_by IS NULL) AND "
                        "(registered_at IS NULL) = (state <> 'registered')", name="registered"),
        CheckConstraint("(closed_at IS NULL) = (closed_by IS NULL) AND (closed_at IS NULL) = "
                        "(state NOT IN ('rejected', 'cancelled', 'withdrawn'))", name="closed"),
        Index("ix_applications_state_due_on", "state", "due_on"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    number: Mapped[str] = mapped_column(Text, unique=True, comment="Số hồ sơ, as HS-2026-000123")
    idempotency_key: Mapped[str | None] = mapped_column(
        Text, unique=True, comment="The client's key: lodging again with it returns the same application")
    service: Mapped[str] = mapped_column(Text)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("parties.id"))
    request: Mapped[dict] = mapped_column(JSONB, comment="What is asked, as lodged")
    state: Mapped[str] = mapped_column(Text, server_default="lodged")
    lodged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lodged_by: Mapped[str] = mapped_column(Text)
    due_on: Mapped[dt.date] = mapped_column(Date, comment="The service's deadline, in working days")
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    registered_by: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(Text)
    close_reason: Mapped[str | None] = mapped_column(Text)
    check_report: Mapped[dict | None] = mapped_column(JSONB, comment="The last run of the rules")


class ApplicationParcel(Base):
    """A parcel an application concerns."""

    __tablename__ = "application_parcels"
    __table_args__ = (_parcel_fk(), Index("ix_application_parcels_parcel_key", "parcel_key"))

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    ward_code: Mapped[str] = mapped_column(Text)
    map_sheet: Mapped[int] = mapped_column(Integer)
    parcel_no: Mapped[int] = mapped_column(Integer)
    parcel_key: Mapped[int] = mapped_column(BigInteger, Computed(PARCEL_KEY_SQL, persisted=True), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("parcel_versions.id"),
                                            comment="The parcel's version when the application was lodged")


class ApplicationSource(Base):
    __tablename__ = "application_sources"

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)


class Transaction(Base):
    """The registration of an application: the one moment its changes entered the register."""

    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    registered_by: Mapped[str] = mapped_column(Text)


class TransactionChange(Base):
    """A parcel version or right a transaction closed or opened."""

    __tablename__ = "transaction_changes"
    __table_args__ = (
        CheckConstraint("table_name IN ('parcel_versions', 'rights')", name="table"),
        CheckConstraint("change IN ('closed', 'opened')", name="change"),
        Index("ix_transaction_changes_row", "table_name", "row_id"),
    )

    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), primary_key=True)
    table_name: Mapped[str] = mapped_column(Text, primary_key=True)
    row_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    change: Mapped[str] = mapped_column(Text, primary_key=True)


class ParcelLineage(Base):
    """Which parcel version a new one came from: its split parent, its merge parents, or its
    version before a boundary correction."""

    __tablename__ = "parcel_lineage"
    __table_args__ = (
        CheckConstraint("kind IN ('split', 'merge', 'boundary_correction')", name="kind"),
        CheckConstraint("child_version_id <> parent_version_id", name="not_itself"),
    )

    child_version_id: Mapped[int] = mapped_column(ForeignKey("parcel_versions.id"), primary_key=True)
    parent_version_id: Mapped[int] = mapped_column(ForeignKey("parcel_versions.id"), primary_key=True, index=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"))
    kind: Mapped[str] = mapped_column(Text)


class IssuedDocument(Base):
    """A document the registry issued (certificate data, map extract, flood statement): what its
    printed number and QR code verify."""

    __tablename__ = "issued_documents"
    __table_args__ = (
        _code_list("kind", DOCUMENT_KINDS, "kind"),
        CheckConstraint("audience IN ('officer', 'public')", name="audience"),
        CheckConstraint("content_sha256 ~ '^[0-9a-f]{64}$'", name="sha256"),
    )

    number: Mapped[str] = mapped_column(Text, primary_key=True, comment="Printed on the document, as TL-2026-000045")
    kind: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(Text, comment="officer: with holders' data; public: without")
    version_id: Mapped[int] = mapped_column(ForeignKey("parcel_versions.id"), index=True,
                                            comment="The parcel version it shows")
    scenario: Mapped[str | None] = mapped_column(Text, comment="A flood statement's scenarios, if only some")
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    issued_by: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(Text, comment="SHA-256 of the data it states")


# --- waterlogging, rainfall ----------------------------------------------------------------


class WaterloggingPoint(Base):
    """A known waterlogging hotspot (điểm úng ngập).

    A hotspot from a list without codes gets its ``name_key`` as code (migration 0008 defines the
    key); a later file with real codes matches it by that key.
    """

    __tablename__ = "waterlogging_points"
    __table_args__ = (
        _valid_geom(), _gist("waterlogging_points"),
        CheckConstraint("max_depth_m IS NULL OR (max_depth_m >= 0 AND max_depth_m <= 5)", name="max_depth_range"),
        CheckConstraint("trigger_rain_mm IS NULL OR trigger_rain_mm >= 0", name="trigger_rain_nonnegative"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    street: Mapped[str | None] = mapped_column(Text)
    district: Mapped[str | None] = mapped_column(Text, comment="District name as the programme records it")
    commune_code: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    name_key: Mapped[str | None] = mapped_column(
        Text, Computed("landflood_name_key(name, district)", persisted=True), index=True,
        comment="Name and district as one key (landflood_name_key): the identity of a hotspot without a code")
    max_depth_m: Mapped[Decimal | None] = mapped_column(
        Numeric(4, 2), comment="Deepest flooding the source records here")
    trigger_rain_mm: Mapped[Decimal | None] = mapped_column(
        Numeric(6, 1), comment="Rain that floods the hotspot, as the source records it")
    geom = mapped_column(_geom("POINT"), nullable=False)


class FloodEvent(Base):
    """An observed waterlogging event at a hotspot."""

    __tablename__ = "flood_events"
    __table_args__ = (
        CheckConstraint("duration_min IS NULL OR duration_min > 0", name="duration_positive"),
        CheckConstraint("max_depth_m IS NULL OR (max_depth_m >= 0 AND max_depth_m <= 5)", name="depth_range"),
        CheckConstraint("rain_mm IS NULL OR rain_mm >= 0", name="rain_nonnegative"),
        UniqueConstraint("point_id", "started_at"),
        Index("ix_flood_events_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("waterlogging_points.id"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    duration_min: Mapped[int | None] = mapped_column(Integer)
    max_depth_m: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    rain_mm: Mapped[Decimal | None] = mapped_column(Numeric(6, 1), comment="Rain that caused it")
    source: Mapped[str | None] = mapped_column(Text)


class RainGauge(Base):
    """A rain gauge (trạm đo mưa)."""

    __tablename__ = "rain_gauges"
    __table_args__ = (_valid_geom(), _gist("rain_gauges"))

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    elevation_m: Mapped[float | None] = mapped_column(Double)
    operator: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(_geom("POINT"), nullable=False)


class RainObservation(Base):
    """Rain measured at a gauge over the interval that ends at ``observed_at``."""

    __tablename__ = "rain_observations"
    __table_args__ = (
        CheckConstraint("interval_min > 0", name="interval_positive"),
        CheckConstraint("rain_mm >= 0 AND rain_mm < 1000", name="rain_range"),
        Index("ix_rain_observations_observed_at", "observed_at"),
    )

    gauge_id: Mapped[int] = mapped_column(ForeignKey("rain_gauges.id"), primary_key=True)
    observed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    interval_min: Mapped[int] = mapped_column(SmallInteger)
    rain_mm: Mapped[float] = mapped_column(Double)


# --- flood modelling ------------------------------------------------------------------------


class FloodScenario(Base):
    """A rainfall scenario: a design storm, an observed storm or a nowcast."""

    __tablename__ = "flood_scenarios"
    __table_args__ = (
        CheckConstraint(r"name ~ '^[a-z0-9][a-z0-9_.-]*$'", name="name_format"),
        CheckConstraint("kind IN ('design', 'observed', 'nowcast')", name="kind"),
        CheckConstraint("rain_mm > 0 AND duration_h > 0", name="storm_positive"),
        CheckConstraint("drainage_mm_h >= 0", name="drainage_nonnegative"),
    )

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    rain_mm: Mapped[float] = mapped_column(Double)
    duration_h: Mapped[float] = mapped_column(Double)
    drainage_mm_h: Mapped[float] = mapped_column(Double)
    infiltration: Mapped[bool] = mapped_column(server_default=text("true"))
    storm_start: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Raster(Base):
    """A raster file on disk (Cloud-Optimized GeoTIFF): a DEM or a scenario's water depth."""

    __tablename__ = "rasters"
    __table_args__ = (
        CheckConstraint("kind IN ('dem', 'flood_depth', 'rainfall')", name="kind"),
        CheckConstraint("kind <> 'flood_depth' OR scenario IS NOT NULL", name="depth_has_scenario"),
        CheckConstraint("width > 0 AND height > 0 AND res_m > 0", name="shape_positive"),
        _valid_geom("footprint"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str | None] = mapped_column(ForeignKey("flood_scenarios.name", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    crs: Mapped[str] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    res_m: Mapped[float] = mapped_column(Double)
    nodata: Mapped[float | None] = mapped_column(Double)
    footprint = mapped_column(_geom("POLYGON"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FloodRisk(Base):
    """A parcel's exposure to one scenario and its risk class."""

    __tablename__ = "flood_risk"
    __table_args__ = (
        _parcel_fk(),
        CheckConstraint("max_depth_m >= 0 AND mean_depth_m >= 0 AND mean_depth_m <= max_depth_m", name="depths"),
        CheckConstraint("flooded_fraction >= 0 AND flooded_fraction <= 1", name="fraction_range"),
        CheckConstraint(f"risk_class IN {RISK_CLASSES}", name="risk_class"),
        Index("ix_flood_risk_parcel", "ward_code", "map_sheet", "parcel_no"),  # a parcel's risk over scenarios
    )

    scenario: Mapped[str] = mapped_column(ForeignKey("flood_scenarios.name", ondelete="CASCADE"), primary_key=True)
    ward_code: Mapped[str] = mapped_column(Text, primary_key=True)
    map_sheet: Mapped[int] = mapped_column(Integer, primary_key=True)
    parcel_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    max_depth_m: Mapped[float] = mapped_column(Double)
    mean_depth_m: Mapped[float] = mapped_column(Double)
    flooded_fraction: Mapped[float] = mapped_column(Double)
    events_nearby: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    risk_class: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FloodZone(Base):
    """Flood extent of a scenario in one depth class."""

    __tablename__ = "flood_zones"
    __table_args__ = (
        CheckConstraint("depth_min_m >= 0 AND (depth_max_m IS NULL OR depth_max_m > depth_min_m)", name="depths"),
        CheckConstraint(f"risk_class IN {RISK_CLASSES}", name="risk_class"),
        _valid_geom(),
        _gist("flood_zones"),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    scenario: Mapped[str] = mapped_column(ForeignKey("flood_scenarios.name", ondelete="CASCADE"), index=True)
    depth_min_m: Mapped[float] = mapped_column(Double)
    depth_max_m: Mapped[float | None] = mapped_column(Double)
    risk_class: Mapped[str] = mapped_column(Text)
    geom = mapped_column(_geom("MULTIPOLYGON"), nullable=False)


# --- audit ----------------------------------------------------------------------------------


class AuditEntry(Base):
    """Who changed what, when. Written by triggers (see the migration), never by hand."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("action IN ('INSERT', 'UPDATE', 'DELETE')", name="action"),
        Index("ix_audit_log_table_at", "table_name", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(Text)
    row_key: Mapped[str] = mapped_column(Text)
    old: Mapped[dict | None] = mapped_column(JSONB)
    new: Mapped[dict | None] = mapped_column(JSONB)


# --- API access ---------------------------------------------------------------------------


class ApiUser(Base):
    """Someone who may sign in to the API with a bearer token. Only the token's hash is stored."""

    __tablename__ = "api_users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="role"),
        CheckConstraint(r"token_hash ~ '^[0-9a-f]{64}$'", name="token_hash_format"),
        Index("uq_api_users_name_active", "name", unique=True, postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(Text, unique=True, comment="SHA-256 of the token")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: A revoked user is kept (the audit log names its id); only active names are unique.
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ApiSession(Base):
    """A signed-in browser: the cookie holds a random secret, this table only its hash."""

    __tablename__ = "api_sessions"
    __table_args__ = (
        CheckConstraint(r"secret_hash ~ '^[0-9a-f]{64}$'", name="secret_hash_format"),
        CheckConstraint("expires_at > created_at", name="expiry"),
    )

    secret_hash: Mapped[str] = mapped_column(Text, primary_key=True,
                                             comment="SHA-256 of the cookie's session secret")
    user_id: Mapped[int] = mapped_column(ForeignKey("api_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
