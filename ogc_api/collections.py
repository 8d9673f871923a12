"""The feature collections the API publishes, described once, from the data model.

Each collection is a SQL source with an allow-list of properties. Request text never becomes
SQL: a property name from a request is looked up here, and only the SQL written here is used.
Properties marked ``officer`` hold personal data; for the public they do not exist at all.

Vector tiles carry a property from its ``mvt_min_zoom`` on. Parcels (tiles from z13): what a map
styles or identifies a parcel by comes early (``land_use`` from z13, ``parcel_id`` and
``flood_risk`` from z14); the descriptive, bulky ones (address, land-use name, areas, the key's
parts, owner names for officers) only from ``DETAIL_ZOOM`` (z18), where a tile holds a street or
two. A map fetches the details of a clicked feature from the Features API instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: From this zoom on, vector tiles carry the descriptive properties too.
DETAIL_ZOOM = 18

_RISK_ORDER = "array_position(ARRAY['low','medium','high','very_high'], fr.risk_class)"


@dataclass(frozen=True)
class Prop:
    """A property: its SQL expression over the collection's source, its JSON type and titles."""

    name: str
    sql: str
    type: str  # JSON Schema type, or 'date-time' / 'date' for strings of that format
    title_en: str
    title_vi: str
    officer: bool = False
    queryable: bool = True
    mvt_min_zoom: int | None = None  # in vector tiles from this zoom on; None: never


@dataclass(frozen=True)
class Collection:
    id: str
    title_en: str
    title_vi: str
    description_en: str
    description_vi: str
    source: str  # FROM clause with aliases
    geom: str  # geometry expression in the city CRS
    geometry_type: str
    id_sql: str  # feature id (text)
    key: str  # unique, indexed sort key for keyset paging (bigint or text)
    id_where: str  # WHERE for one feature, with %(id)s
    props: tuple[Prop, ...]
    current: str | None = None  # WHERE that selects what is valid now (the default view)
    time_start: str | None = None
    time_end: str | None = None
    keywords: tuple[str, ...] = field(default_factory=tuple)

    def visible(self, officer: bool) -> tuple[Prop, ...]:
        return tuple(p for p in self.props if officer or not p.officer)

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)


def _current_or_dated(code: str, start: str) -> str:
    return (f"CASE WHEN {start}_to IS NULL THEN {code} "
            f"ELSE {code} || '@' || to_char({start}_from, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') END")


_RIGHTS_OF_VERSION = (
    "FROM rights r JOIN parties p ON p.id = r.party_id WHERE r.parcel_key = v.parcel_key "
    "AND tstzrange(r.valid_from, r.valid_to) && tstzrange(v.valid_from, v.valid_to)"
)

PARCELS = Collection(
    id="parcels",
    title_en="Cadastral parcels", title_vi="Thửa đất",
    description_en="Land parcels of the cadastre (VN-2000 / TM-3 105°, EPSG:5897), with their land use, "
    "areas, address and flood risk. Owners are shown to land registry officers only.",
    description_vi="Thửa đất địa chính (VN-2000 / TM-3 105°, EPSG:5897) với loại đất, diện tích, địa chỉ "
    "và mức nguy cơ ngập. Thông tin chủ sử dụng chỉ hiển thị cho cán bộ địa chính.",
    source="parcel_versions v JOIN land_use_types lu ON lu.code = v.land_use_code",
    geom="v.geom", geometry_type="MultiPolygon",
    id_sql=_current_or_dated("v.parcel_id", "v.valid"),
    key="v.id",
    id_where="v.parcel_id = split_part(%(id)s, '@', 1) AND CASE WHEN strpos(%(id)s, '@') = 0 "
    "THEN v.valid_to IS NULL "
    "ELSE to_char(v.valid_from, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') = split_part(%(id)s, '@', 2) END",
    current="v.valid_to IS NULL",
    time_start="v.valid_from", time_end="v.valid_to",
    keywords=("cadastre", "parcel", "thửa đất", "địa chính"),
    props=(
        Prop("parcel_id", "v.parcel_id", "string", "Parcel id (ward-sheet-number)", "Mã thửa", mvt_min_zoom=14),
        Prop("ward_code", "v.ward_code", "string", "Commune of the cadastral map", "Mã xã của bản đồ",
             mvt_min_zoom=DETAIL_ZOOM),
        Prop("map_sheet", "v.map_sheet", "integer", "Map sheet", "Số tờ bản đồ", mvt_min_zoom=DETAIL_ZOOM),
        Prop("parcel_no", "v.parcel_no", "integer", "Parcel number", "Số thửa", mvt_min_zoom=DETAIL_ZOOM),
        Prop("land_use", "v.land_use_code", "string", "Land-use code", "Mã loại đất", mvt_min_zoom=0),
        Prop("land_use_name", "lu.name_{lang}", "string", "Land use", "Loại đất", mvt_min_zoom=DETAIL_ZOOM),
        Prop("area_m2", "round(v.area_m2::numeric, 2)", "number", "Area (m², from geometry)", "Diện tích hình học (m²)",
             mvt_min_zoom=DETAIL_ZOOM),
        Prop("area_legal_m2", "v.area_legal_m2", "number", "Legal area (m²)", "Diện tích pháp lý (m²)",
             mvt_min_zoom=DETAIL_ZOOM),
        Prop("address", "v.address", "string", "Address", "Địa chỉ", mvt_min_zoom=DETAIL_ZOOM),
        Prop("commune_code", "v.commune_code", "string", "Current commune", "Mã xã/phường hiện nay"),
        Prop("flood_risk",
             "(SELECT fr.risk_class FROM flood_risk fr WHERE fr.ward_code = v.ward_code AND fr.map_sheet = v.map_sheet "
             f"AND fr.parcel_no = v.parcel_no ORDER BY {_RISK_ORDER} DESC LIMIT 1)",
             "string", "Flood risk (worst over scenarios)", "Nguy cơ ngập (cao nhất các kịch bản)", mvt_min_zoom=14),
        Prop("valid_from", "v.valid_from", "date-time", "Valid from", "Hiệu lực từ"),
        Prop("valid_to", "v.valid_to", "date-time", "Valid to", "Hiệu lực đến"),
        Prop("owner_names", f"(SELECT string_agg(p.full_name, '; ' ORDER BY p.full_name) {_RIGHTS_OF_VERSION})",
             "string", "Right holders", "Người sử dụng đất", officer=True, mvt_min_zoom=DETAIL_ZOOM),
        Prop("owner_id_numbers", f"(SELECT string_agg(p.id_number, '; ' ORDER BY p.full_name) {_RIGHTS_OF_VERSION})",
             "string", "Right holders' ID numbers", "Số giấy tờ tùy thân", officer=True),
        Prop("owners",
             "(SELECT json_agg(json_build_object('name', p.full_name, 'kind', p.kind, 'id_type', p.id_type, "
             "'id_number', p.id_number, 'birth_year', p.birth_year, 'address', p.address, 'right', r.kind, "
             "'share', r.share_numerator || '/' || r.share_denominator, 'certificate_no', r.certificate_no) "
             "ORDER BY p.full_name) "
             f"{_RIGHTS_OF_VERSION})",
             "array", "Right holders and their rights", "Người sử dụng đất và quyền", officer=True, queryable=False),
    ),
)

ADMIN_UNITS = Collection(
    id="admin-units",
    title_en="Administrative units", title_vi="Đơn vị hành chính",
    description_en="Hanoi's communes and wards since 1 July 2025, and (with datetime) the districts and "
    "communes before the reorganisation.",
    description_vi="Xã, phường của Hà Nội từ 1/7/2025; với tham số datetime: quận, huyện, xã trước sắp xếp.",
    source="admin_units a LEFT JOIN admin_units up ON up.id = a.parent_id",
    geom="a.geom", geometry_type="MultiPolygon",
    id_sql="CASE WHEN a.valid_to IS NULL THEN a.code ELSE a.code || '@' || a.valid_from::text END",
    key="a.id",
    id_where="(a.code = %(id)s AND a.valid_to IS NULL) OR a.code || '@' || a.valid_from::text = %(id)s",
    current="a.valid_to IS NULL",
    time_start="a.valid_from::timestamptz", time_end="a.valid_to::timestamptz",
    keywords=("administrative units", "đơn vị hành chính"),
    props=(
        Prop("code", "a.code", "string", "Official code", "Mã đơn vị"),
        Prop("name", "a.name", "string", "Name", "Tên"),
        Prop("level", "a.level", "string", "Level", "Cấp"),
        Prop("kind", "a.kind", "string", "Kind", "Loại"),
        Prop("parent_code", "up.code", "string", "Parent unit", "Đơn vị cấp trên"),
        Prop("valid_from", "a.valid_from", "date", "Valid from", "Hiệu lực từ"),
        Prop("valid_to", "a.valid_to", "date", "Valid to", "Hiệu lực đến"),
    ),
)

_EVENTS_OF_POINT = "FROM flood_events e WHERE e.point_id = w.id"

WATERLOGGING_POINTS = Collection(
    id="waterlogging-points",
    title_en="Waterlogging hotspots", title_vi="Điểm úng ngập",
    description_en="Known waterlogging hotspots and what has been observed there.",
    description_vi="Các điểm úng ngập đã biết và các lần ngập quan sát được.",
    source="waterlogging_points w", geom="w.geom", geometry_type="Point",
    id_sql="w.code", key="w.id", id_where="w.code = %(id)s",
    keywords=("waterlogging", "úng ngập"),
    props=(
        Prop("code", "w.code", "string", "Code", "Mã điểm", mvt_min_zoom=0),
        Prop("name", "w.name", "string", "Name", "Tên điểm", mvt_min_zoom=0),
        Prop("street", "w.street", "string", "Street", "Đường phố", mvt_min_zoom=12),
        Prop("district", "w.district", "string", "District (as recorded)", "Quận/huyện (theo hồ sơ)", mvt_min_zoom=12),
        Prop("commune_code", "w.commune_code", "string", "Current commune", "Mã xã/phường hiện nay"),
        Prop("description", "w.description", "string", "Description", "Mô tả", mvt_min_zoom=14),
        Prop("events", f"(SELECT count(*) {_EVENTS_OF_POINT})", "integer", "Observed events", "Số lần ngập",
             mvt_min_zoom=0),
        Prop("max_depth_m", f"(SELECT max(e.max_depth_m) {_EVENTS_OF_POINT})", "number", "Deepest observed (m)",
             "Độ sâu ngập lớn nhất (m)", mvt_min_zoom=0),
        Prop("last_event_at", f"(SELECT max(e.started_at) {_EVENTS_OF_POINT})", "date-time", "Last event",
             "Lần ngập gần nhất", mvt_min_zoom=12),
    ),
)

FLOOD_EVENTS = Collection(
    id="flood-events",
    title_en="Observed flood events", title_vi="Các lần ngập đã quan sát",
    description_en="Waterlogging observed at the hotspots: when, how long, how deep, after how much rain.",
    description_vi="Úng ngập quan sát tại các điểm: thời điểm, thời gian, độ sâu, lượng mưa.",
    source="flood_events e JOIN waterlogging_points w ON w.id = e.point_id",
    geom="w.geom", geometry_type="Point",
    id_sql="e.id::text", key="e.id", id_where="e.id::text = %(id)s",
    time_start="e.started_at",
    time_end="e.started_at + make_interval(mins => coalesce(e.duration_min, 0))",
    keywords=("flood events", "ngập"),
    props=(
        Prop("point_code", "w.code", "string", "Hotspot", "Mã điểm"),
        Prop("point_name", "w.name", "string", "Hotspot name", "Tên điểm"),
        Prop("started_at", "e.started_at", "date-time", "Started", "Bắt đầu"),
        Prop("duration_min", "e.duration_min", "integer", "Duration (min)", "Thời gian (phút)"),
        Prop("max_depth_m", "e.max_depth_m", "number", "Max depth (m)", "Độ sâu lớn nhất (m)"),
        Prop("rain_mm", "e.rain_mm", "number", "Rain (mm)", "Lượng mưa (mm)"),
        Prop("source", "e.source", "string", "Source", "Nguồn"),
    ),
)

RAIN_GAUGES = Collection(
    id="rain-gauges",
    title_en="Rain gauges", title_vi="Trạm đo mưa",
    description_en="Rain gauges; their time series are in the EDR collection 'rainfall'.",
    description_vi="Trạm đo mưa; chuỗi số liệu ở tập dữ liệu EDR 'rainfall'.",
    source="rain_gauges g", geom="g.geom", geometry_type="Point",
    id_sql="g.code", key="g.id", id_where="g.code = %(id)s",
    keywords=("rainfall", "lượng mưa"),
    props=(
        Prop("code", "g.code", "string", "Code", "Mã trạm"),
        Prop("name", "g.name", "string", "Name", "Tên trạm"),
        Prop("elevation_m", "g.elevation_m", "number", "Elevation (m)", "Độ cao (m)"),
        Prop("operator", "g.operator", "string", "Operator", "Đơn vị quản lý"),
        Prop("last_observation_at", "(SELECT max(o.observed_at) FROM rain_observations o WHERE o.gauge_id = g.id)",
             "date-time", "Last observation", "Số liệu gần nhất"),
    ),
)

FLOOD_RISK_ZONES = Collection(
    id="flood-risk-zones",
    title_en="Flood-risk zones", title_vi="Vùng nguy cơ ngập",
    description_en="Modelled flood extent per rainfall scenario, in water-depth classes.",
    description_vi="Vùng ngập mô phỏng theo kịch bản mưa, theo cấp độ sâu.",
    source="flood_zones z", geom="z.geom", geometry_type="MultiPolygon",
    id_sql="z.id::text", key="z.id", id_where="z.id::text = %(id)s",
    keywords=("flood risk", "nguy cơ ngập"),
    props=(
        Prop("scenario", "z.scenario", "string", "Scenario", "Kịch bản", mvt_min_zoom=0),
        Prop("depth_min_m", "z.depth_min_m", "number", "Depth from (m)", "Độ sâu từ (m)", mvt_min_zoom=0),
        Prop("depth_max_m", "z.depth_max_m", "number", "Depth to (m)", "Độ sâu đến (m)", mvt_min_zoom=0),
        Prop("risk_class", "z.risk_class", "string", "Risk class", "Cấp nguy cơ", mvt_min_zoom=0),
    ),
)

COLLECTIONS: dict[str, Collection] = {c.id: c for c in (
    PARCELS, ADMIN_UNITS, WATERLOGGING_POINTS, FLOOD_EVENTS, RAIN_GAUGES, FLOOD_RISK_ZONES,
)}
