"""Initial schema: administrative units, land-use types, cadastre (LADM), flood programme, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 16:25:23.235900
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # btree_gist: exclusion constraints that mix '=' on keys with '&&' on lifespans.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_geospatial_table('admin_units',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False, comment='Official Vietnamese name, NFC'),
    sa.Column('level', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=5897, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    postgresql.ExcludeConstraint((sa.column('code'), '='), (sa.text('daterange(valid_from, valid_to)'), '&&'), using='gist', name='ex_admin_units_code_lifespan'),
    sa.CheckConstraint("code ~ '^[0-9]{2,5}$'", name=op.f('ck_admin_units_code_format')),
    sa.CheckConstraint("kind IN ('thanh_pho', 'tinh', 'quan', 'huyen', 'thi_xa', 'phuong', 'xa', 'thi_tran', 'dac_khu')", name=op.f('ck_admin_units_kind')),
    sa.CheckConstraint("level IN ('province', 'district', 'commune')", name=op.f('ck_admin_units_level')),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_admin_units_geom_valid')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_admin_units_lifespan')),
    sa.ForeignKeyConstraint(['parent_id'], ['admin_units.id'], name=op.f('fk_admin_units_parent_id_admin_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_units'))
    )
    op.create_geospatial_index('ix_admin_units_geom', 'admin_units', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_admin_units_parent_id'), 'admin_units', ['parent_id'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('table_name', sa.Text(), nullable=False),
    sa.Column('row_key', sa.Text(), nullable=False),
    sa.Column('old', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('new', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.CheckConstraint("action IN ('INSERT', 'UPDATE', 'DELETE')", name=op.f('ck_audit_log_action')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_table_at', 'audit_log', ['table_name', 'at'], unique=False)
    op.create_table('flood_scenarios',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('rain_mm', sa.Double(), nullable=False),
    sa.Column('duration_h', sa.Double(), nullable=False),
    sa.Column('drainage_mm_h', sa.Double(), nullable=False),
    sa.Column('infiltration', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('storm_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('design', 'observed', 'nowcast')", name=op.f('ck_flood_scenarios_kind')),
    sa.CheckConstraint("name ~ '^[a-z0-9][a-z0-9_.-]*$'", name=op.f('ck_flood_scenarios_name_format')),
    sa.CheckConstraint('drainage_mm_h >= 0', name=op.f('ck_flood_scenarios_drainage_nonnegative')),
    sa.CheckConstraint('rain_mm > 0 AND duration_h > 0', name=op.f('ck_flood_scenarios_storm_positive')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_flood_scenarios'))
    )
    op.create_table('land_use_types',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('parent_group', sa.Text(), nullable=True),
    sa.Column('name_vi', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=False),
    sa.Column('color', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.CheckConstraint("code ~ '^[A-Z]{3}$'", name=op.f('ck_land_use_types_code_format')),
    sa.CheckConstraint("color ~ '^#[0-9A-Fa-f]{6}$'", name=op.f('ck_land_use_types_color_format')),
    sa.ForeignKeyConstraint(['parent_group'], ['land_use_types.code'], name=op.f('fk_land_use_types_parent_group_land_use_types')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_land_use_types'))
    )
    op.create_geospatial_table('map_sheets',
    sa.Column('ward_code', sa.Text(), nullable=False, comment='Commune of the cadastral map'),
    sa.Column('sheet_no', sa.Integer(), nullable=False),
    sa.Column('scale', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POLYGON', srid=5897, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.CheckConstraint("ward_code ~ '^[0-9]{5}$'", name=op.f('ck_map_sheets_ward_code_format')),
    sa.CheckConstraint('geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))', name=op.f('ck_map_sheets_geom_valid')),
    sa.CheckConstraint('scale IS NULL OR scale IN (200, 500, 1000, 2000, 5000, 10000)', name=op.f('ck_map_sheets_scale')),
    sa.CheckConstraint('sheet_no > 0', name=op.f('ck_map_sheets_sheet_no_positive')),
    sa.CheckConstraint('sheet_no < 32768', name=op.f('ck_map_sheets_sheet_no_max')),
    sa.PrimaryKeyConstraint('ward_code', 'sheet_no', name=op.f('pk_map_sheets'))
    )
    op.create_table('parties',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('id_type', sa.Text(), nullable=True),
    sa.Column('id_number', sa.Text(), nullable=True),
    sa.Column('birth_year', sa.SmallInteger(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("id_type IS DISTINCT FROM 'CCCD' OR id_number ~ '^[0-9]{12}$'", name=op.f('ck_parties_cccd_format')),
    sa.CheckConstraint("id_type IS NULL OR id_type IN ('CCCD', 'CMND', 'passport', 'business_registration', 'other')", name=op.f('ck_parties_id_type')),
    sa.CheckConstraint("kind IN ('person', 'household', 'organization', 'state')", name=op.f('ck_parties_kind')),
    sa.CheckConstraint('(id_type IS NULL) = (id_number IS NULL)', name=op.f('ck_parties_id_pair')),
    sa.CheckConstraint('birth_year IS NULL OR birth_year BETWEEN 1880 AND 2100', name=op.f('ck_parties_birth_year')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parties')),
    sa.UniqueConstraint('id_type', 'id_number', name=op.f('uq_parties_id_type_id_number'))
    )
    op.create_geospatial_table('rain_gauges',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('elevation_m', sa.Double(), nullable=True),
    sa.Column('operator', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=5897, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_rain_gauges_geom_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rain_gauges')),
    sa.UniqueConstraint('code', name=op.f('uq_rain_gauges_code'))
    )
    op.create_geospatial_index('ix_rain_gauges_geom', 'rain_gauges', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('waterlogging_points',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('street', sa.Text(), nullable=True),
    sa.Column('district', sa.Text(), nullable=True, comment='District name as the programme records it'),
    sa.Column('commune_code', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=5897, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_waterlogging_points_geom_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waterlogging_points')),
    sa.UniqueConstraint('code', name=op.f('uq_waterlogging_points_code'))
    )
    op.create_geospatial_index('ix_waterlogging_points_geom', 'waterlogging_points', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('admin_unit_successions',
    sa.Column('predecessor_id', sa.Integer(), nullable=False),
    sa.Column('successor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['predecessor_id'], ['admin_units.id'], name=op.f('fk_admin_unit_successions_predecessor_id_admin_units')),
    sa.ForeignKeyConstraint(['successor_id'], ['admin_units.id'], name=op.f('fk_admin_unit_successions_successor_id_admin_units')),
    sa.PrimaryKeyConstraint('predecessor_id', 'successor_id', name=op.f('pk_admin_unit_successions'))
    )
    op.create_index(op.f('ix_admin_unit_successions_successor_id'), 'admin_unit_successions', ['successor_id'], unique=False)
    op.create_table('flood_events',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_min', sa.Integer(), nullable=True),
    sa.Column('max_depth_m', sa.Numeric(precision=4, scale=2), nullable=True),
    sa.Column('rain_mm', sa.Numeric(precision=6, scale=1), nullable=True, comment='Rain that caused it'),
    sa.Column('source', sa.Text(), nullable=True),
    sa.CheckConstraint('duration_min IS NULL OR duration_min > 0', name=op.f('ck_flood_events_duration_positive')),
    sa.CheckConstraint('max_depth_m IS NULL OR (max_depth_m >= 0 AND max_depth_m <= 5)', name=op.f('ck_flood_events_depth_range')),
    sa.CheckConstraint('rain_mm IS NULL OR rain_mm >= 0', name=op.f('ck_flood_events_rain_nonnegative')),
    sa.ForeignKeyConstraint(['point_id'], ['waterlogging_points.id'], name=op.f('fk_flood_events_point_id_waterlogging_points')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flood_events')),
    sa.UniqueConstraint('point_id', 'started_at', name=op.f('uq_flood_events_point_id_started_at'))
    )
    op.create_index('ix_flood_events_started_at', 'flood_events', ['started_at'], unique=False)
    op.create_geospatial_table('flood_zones',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('depth_min_m', sa.Double(), nullable=False),
    sa.Column('depth_max_m', sa.Double(), nullable=True),
    sa.Column('risk_class', sa.Text(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=5897, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("risk_class IN ('low', 'medium', 'high', 'very_high')", name=op.f('ck_flood_zones_risk_class')),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_flood_zones_geom_valid')),
    sa.CheckConstraint('depth_min_m >= 0 AND (depth_max_m IS NULL OR depth_max_m > depth_min_m)', name=op.f('ck_flood_zones_depths')),
    sa.ForeignKeyConstraint(['scenario'], ['flood_scenarios.name'], name=op.f('fk_flood_zones_scenario_flood_scenarios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flood_zones'))
    )
    op.create_geospatial_index('ix_flood_zones_geom', 'flood_zones', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_flood_zones_scenario'), 'flood_zones', ['scenario'], unique=False)
    op.create_table('land_use_legacy_codes',
    sa.Column('legacy_code', sa.Text(), nullable=False),
    sa.Column('circular', sa.Text(), nullable=False),
    sa.Column('name_vi', sa.Text(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['code'], ['land_use_types.code'], name=op.f('fk_land_use_legacy_codes_code_land_use_types')),
    sa.PrimaryKeyConstraint('legacy_code', name=op.f('pk_land_use_legacy_codes'))
    )
    op.create_table('parcels',
    sa.Column('ward_code', sa.Text(), nullable=False),
    sa.Column('map_sheet', sa.Integer(), nullable=False),
    sa.Column('parcel_no', sa.Integer(), nullable=False),
    sa.Column('parcel_id', sa.Text(), sa.Computed("ward_code || '-' || map_sheet::text || '-' || parcel_no::text", persisted=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("ward_code ~ '^[0-9]{5}$'", name=op.f('ck_parcels_ward_code_format')),
    sa.CheckConstraint('parcel_no > 0', name=op.f('ck_parcels_parcel_no_positive')),
    sa.ForeignKeyConstraint(['ward_code', 'map_sheet'], ['map_sheets.ward_code', 'map_sheets.sheet_no'], name=op.f('fk_parcels_ward_code_map_sheets')),
    sa.PrimaryKeyConstraint('ward_code', 'map_sheet', 'parcel_no', name=op.f('pk_parcels')),
    sa.UniqueConstraint('parcel_id', name=op.f('uq_parcels_parcel_id'))
    )
    op.create_table('rain_observations',
    sa.Column('gauge_id', sa.Integer(), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('interval_min', sa.SmallInteger(), nullable=False),
    sa.Column('rain_mm', sa.Double(), nullable=False),
    sa.CheckConstraint('interval_min > 0', name=op.f('ck_rain_observations_interval_positive')),
    sa.CheckConstraint('rain_mm >= 0 AND rain_mm < 1000', name=op.f('ck_rain_observations_rain_range')),
    sa.ForeignKeyConstraint(['gauge_id'], ['rain_gauges.id'], name=op.f('fk_rain_observations_gauge_id_rain_gauges')),
    sa.PrimaryKeyConstraint('gauge_id', 'observed_at', name=op.f('pk_rain_observations'))
    )
    op.create_index('ix_rain_observations_observed_at', 'rain_observations', ['observed_at'], unique=False)
    op.create_geospatial_table('rasters',
    sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=True),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('crs', sa.Text(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('res_m', sa.Double(), nullable=False),
    sa.Column('nodata', sa.Double(), nullable=True),
    sa.Column('footprint', Geometry(geometry_type='POLYGON', srid=5897, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind <> 'flood_depth' OR scenario IS NOT NULL", name=op.f('ck_rasters_depth_has_scenario')),
    sa.CheckConstraint("kind IN ('dem', 'flood_depth', 'rainfall')", name=op.f('ck_rasters_kind')),
    sa.CheckConstraint('ST_IsValid(footprint) AND NOT ST_IsEmpty(footprint)', name=op.f('ck_rasters_footprint_valid')),
    sa.CheckConstraint('width > 0 AND height > 0 AND res_m > 0', name=op.f('ck_rasters_shape_positive')),
    sa.ForeignKeyConstraint(['scenario'], ['flood_scenarios.name'], name=op.f('fk_rasters_scenario_flood_scenarios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rasters')),
    sa.UniqueConstraint('name', name=op.f('uq_rasters_name'))
    )
    op.create_table('flood_risk',
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('ward_code', sa.Text(), nullable=False),
    sa.Column('map_sheet', sa.Integer(), nullable=False),
    sa.Column('parcel_no', sa.Integer(), nullable=False),
    sa.Column('max_depth_m', sa.Double(), nullable=False),
    sa.Column('mean_depth_m', sa.Double(), nullable=False),
    sa.Column('flooded_fraction', sa.Double(), nullable=False),
    sa.Column('events_nearby', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('risk_class', sa.Text(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("risk_class IN ('low', 'medium', 'high', 'very_high')", name=op.f('ck_flood_risk_risk_class')),
    sa.CheckConstraint('flooded_fraction >= 0 AND flooded_fraction <= 1', name=op.f('ck_flood_risk_fraction_range')),
    sa.CheckConstraint('max_depth_m >= 0 AND mean_depth_m >= 0 AND mean_depth_m <= max_depth_m', name=op.f('ck_flood_risk_depths')),
    sa.ForeignKeyConstraint(['scenario'], ['flood_scenarios.name'], name=op.f('fk_flood_risk_scenario_flood_scenarios'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ward_code', 'map_sheet', 'parcel_no'], ['parcels.ward_code', 'parcels.map_sheet', 'parcels.parcel_no'], name=op.f('fk_flood_risk_ward_code_parcels')),
    sa.PrimaryKeyConstraint('scenario', 'ward_code', 'map_sheet', 'parcel_no', name=op.f('pk_flood_risk'))
    )
    op.create_geospatial_table('parcel_versions',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('ward_code', sa.Text(), nullable=False),
    sa.Column('map_sheet', sa.Integer(), nullable=False),
    sa.Column('parcel_no', sa.Integer(), nullable=False),
    sa.Column('parcel_id', sa.Text(), sa.Computed("ward_code || '-' || map_sheet::text || '-' || parcel_no::text", persisted=True), nullable=False),
    sa.Column('parcel_key', sa.BigInteger(), sa.Computed('(map_sheet::bigint << 48) | (ward_code::bigint << 31) | parcel_no::bigint', persisted=True), nullable=False, comment='The natural key packed into one integer (see PARCEL_KEY_SQL)'),
    sa.Column('land_use_code', sa.Text(), nullable=False),
    sa.Column('area_legal_m2', sa.Numeric(precision=14, scale=2), nullable=True, comment='Area as recorded'),
    sa.Column('area_m2', sa.Double(), sa.Computed('ST_Area(geom)', persisted=True), nullable=False, comment='Area on the VN-2000 plane'),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('commune_code', sa.Text(), nullable=True, comment='Current commune, assigned spatially'),
    sa.Column('source', sa.Text(), nullable=True, comment='The load or edit that made this version'),
    sa.Column('valid_from', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=5897, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    postgresql.ExcludeConstraint((sa.column('parcel_key'), '='), (sa.text('tstzrange(valid_from, valid_to)'), '&&'), using='gist', name='ex_parcel_versions_lifespan'),
    sa.CheckConstraint('ST_IsValid(geom) AND NOT ST_IsEmpty(geom)', name=op.f('ck_parcel_versions_geom_valid')),
    sa.CheckConstraint('area_legal_m2 IS NULL OR area_legal_m2 > 0', name=op.f('ck_parcel_versions_area_legal_positive')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_parcel_versions_lifespan')),
    sa.ForeignKeyConstraint(['land_use_code'], ['land_use_types.code'], name=op.f('fk_parcel_versions_land_use_code_land_use_types')),
    sa.ForeignKeyConstraint(['ward_code', 'map_sheet', 'parcel_no'], ['parcels.ward_code', 'parcels.map_sheet', 'parcels.parcel_no'], name=op.f('fk_parcel_versions_ward_code_parcels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parcel_versions'))
    )
    op.create_index(op.f('ix_parcel_versions_commune_code'), 'parcel_versions', ['commune_code'], unique=False)
    op.create_geospatial_index('ix_parcel_versions_geom', 'parcel_versions', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_parcel_versions_land_use_code'), 'parcel_versions', ['land_use_code'], unique=False)
    op.create_index(op.f('ix_parcel_versions_parcel_id'), 'parcel_versions', ['parcel_id'], unique=False)
    op.create_index('uq_parcel_versions_current', 'parcel_versions', ['parcel_key'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))
    op.create_table('rights',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('ward_code', sa.Text(), nullable=False),
    sa.Column('map_sheet', sa.Integer(), nullable=False),
    sa.Column('parcel_no', sa.Integer(), nullable=False),
    sa.Column('parcel_key', sa.BigInteger(), sa.Computed('(map_sheet::bigint << 48) | (ward_code::bigint << 31) | parcel_no::bigint', persisted=True), nullable=False, comment='The natural key packed into one integer (see PARCEL_KEY_SQL)'),
    sa.Column('party_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('share', sa.Numeric(precision=5, scale=4), nullable=True),
    sa.Column('certificate_no', sa.Text(), nullable=True, comment='Land use right certificate (GCN) number'),
    sa.Column('use_term_end', sa.Date(), nullable=True, comment='NULL: long-term (lâu dài)'),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    postgresql.ExcludeConstraint((sa.column('parcel_key'), '='), (sa.column('party_id'), '='), (sa.column('kind'), '='), (sa.text('tstzrange(valid_from, valid_to)'), '&&'), using='gist', name='ex_rights_lifespan'),
    sa.CheckConstraint("kind IN ('ownership', 'use_right', 'lease', 'mortgage', 'restriction', 'easement')", name=op.f('ck_rights_kind')),
    sa.CheckConstraint('share IS NULL OR (share > 0 AND share <= 1)', name=op.f('ck_rights_share_range')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_rights_lifespan')),
    sa.ForeignKeyConstraint(['party_id'], ['parties.id'], name=op.f('fk_rights_party_id_parties')),
    sa.ForeignKeyConstraint(['ward_code', 'map_sheet', 'parcel_no'], ['parcels.ward_code', 'parcels.map_sheet', 'parcels.parcel_no'], name=op.f('fk_rights_ward_code_parcels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rights'))
    )
    op.create_index('ix_rights_parcel', 'rights', ['parcel_key'], unique=False)
    op.create_index(op.f('ix_rights_party_id'), 'rights', ['party_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rights_party_id'), table_name='rights')
    op.drop_index('ix_rights_parcel', table_name='rights')
    op.drop_table('rights')
    op.drop_index('uq_parcel_versions_current', table_name='parcel_versions', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_index(op.f('ix_parcel_versions_parcel_id'), table_name='parcel_versions')
    op.drop_index(op.f('ix_parcel_versions_land_use_code'), table_name='parcel_versions')
    op.drop_geospatial_index('ix_parcel_versions_geom', table_name='parcel_versions', postgresql_using='gist', column_name='geom')
    op.drop_index(op.f('ix_parcel_versions_commune_code'), table_name='parcel_versions')
    op.drop_geospatial_table('parcel_versions')
    op.drop_table('flood_risk')
    op.drop_geospatial_table('rasters')
    op.drop_index('ix_rain_observations_observed_at', table_name='rain_observations')
    op.drop_table('rain_observations')
    op.drop_table('parcels')
    op.drop_table('land_use_legacy_codes')
    op.drop_index(op.f('ix_flood_zones_scenario'), table_name='flood_zones')
    op.drop_geospatial_index('ix_flood_zones_geom', table_name='flood_zones', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('flood_zones')
    op.drop_index('ix_flood_events_started_at', table_name='flood_events')
    op.drop_table('flood_events')
    op.drop_index(op.f('ix_admin_unit_successions_successor_id'), table_name='admin_unit_successions')
    op.drop_table('admin_unit_successions')
    op.drop_geospatial_index('ix_waterlogging_points_geom', table_name='waterlogging_points', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('waterlogging_points')
    op.drop_geospatial_index('ix_rain_gauges_geom', table_name='rain_gauges', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('rain_gauges')
    op.drop_table('parties')
    op.drop_geospatial_table('map_sheets')
    op.drop_table('land_use_types')
    op.drop_table('flood_scenarios')
    op.drop_index('ix_audit_log_table_at', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index(op.f('ix_admin_units_parent_id'), table_name='admin_units')
    op.drop_geospatial_index('ix_admin_units_geom', table_name='admin_units', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('admin_units')
