"""The maps' words in Vietnamese and English (full diacritics), for the pages and their JavaScript."""

from __future__ import annotations

LANGS = ("vi", "en")

STRINGS: dict[str, dict[str, str]] = {
    "home_title": {"vi": "Bản đồ địa chính và ngập úng Hà Nội", "en": "Hanoi land registry and flooding maps"},
    "home_intro": {
        "vi": "Bản đồ trực tuyến cho cán bộ quy hoạch: nguy cơ ngập, điểm úng ngập, lượng mưa và "
              "loại đất của từng thửa. Người dùng GIS có thể kết nối thẳng tới các OGC API.",
        "en": "Web maps for planners: flood risk, waterlogging hotspots, rainfall and the land use "
              "of every parcel. GIS users can connect straight to the OGC APIs."},
    "flood_title": {"vi": "Bản đồ nguy cơ ngập", "en": "Flood-risk map"},
    "flood_desc": {
        "vi": "Độ sâu ngập theo kịch bản mưa, vùng nguy cơ ngập, điểm úng ngập và các lần ngập, trạm đo "
              "mưa, thửa đất theo cấp nguy cơ.",
        "en": "Water depth for a rainfall scenario, flood-risk zones, waterlogging hotspots and their "
              "events, rain gauges, parcels by risk class."},
    "landuse_title": {"vi": "Bản đồ hiện trạng sử dụng đất", "en": "Land-use map"},
    "landuse_desc": {
        "vi": "Thửa đất theo màu loại đất chính thức, ranh giới hành chính, tìm thửa theo mã hoặc địa chỉ.",
        "en": "Parcels in the official land-use colours, administrative boundaries, search by parcel "
              "id or address."},
    "for_gis": {"vi": "Dành cho người dùng GIS", "en": "For GIS users"},
    "api_landing": {"vi": "Trang chủ OGC API (Features, Tiles, EDR, Processes)",
                    "en": "OGC API landing page (Features, Tiles, EDR, Processes)"},
    "api_collections": {"vi": "Danh sách tập dữ liệu", "en": "Collections"},
    "api_openapi": {"vi": "Tài liệu OpenAPI", "en": "OpenAPI document"},
    "home": {"vi": "Trang chủ bản đồ", "en": "Maps home"},
    "other_lang": {"vi": "English", "en": "Tiếng Việt"},
    "basemap": {"vi": "Bản đồ nền OpenStreetMap", "en": "OpenStreetMap basemap"},
    "plain": {"vi": "Nền trơn (ngoại tuyến)", "en": "Plain background (offline)"},
    "offline": {"vi": "Không tải được bản đồ nền: đang dùng nền trơn.",
                "en": "The basemap cannot load: showing a plain background."},
    "parcels_landuse": {"vi": "Thửa đất theo loại đất", "en": "Parcels by land use"},
    "parcels_risk": {"vi": "Thửa đất theo nguy cơ ngập", "en": "Parcels by flood risk"},
    "zones": {"vi": "Vùng nguy cơ ngập", "en": "Flood-risk zones"},
    "depth": {"vi": "Độ sâu ngập (kịch bản)", "en": "Water depth (scenario)"},
    "hotspots": {"vi": "Điểm úng ngập", "en": "Waterlogging hotspots"},
    "gauges": {"vi": "Trạm đo mưa", "en": "Rain gauges"},
    "admin": {"vi": "Ranh giới xã, phường", "en": "Commune and ward boundaries"},
    "legend": {"vi": "Chú giải", "en": "Legend"},
    "scenario": {"vi": "Kịch bản mưa", "en": "Rainfall scenario"},
    "no_scenarios": {"vi": "Chưa có kịch bản ngập nào được tính.", "en": "No flood scenario has been computed yet."},
    "risk_low": {"vi": "Thấp", "en": "Low"},
    "risk_medium": {"vi": "Trung bình", "en": "Medium"},
    "risk_high": {"vi": "Cao", "en": "High"},
    "risk_very_high": {"vi": "Rất cao", "en": "Very high"},
    "risk_none": {"vi": "Không có nguy cơ", "en": "No risk"},
    "parcels_worst": {"vi": "Thửa đất: nguy cơ cao nhất qua các kịch bản",
                      "en": "Parcels: worst risk over the scenarios"},
    "zoom_in": {"vi": "Phóng to để xem thửa đất", "en": "Zoom in to see parcels"},
    "depth_m": {"vi": "Độ sâu (m)", "en": "Depth (m)"},
    "search": {"vi": "Tìm thửa đất", "en": "Find a parcel"},
    "search_placeholder": {"vi": "Mã thửa (00058-1-1) hoặc địa chỉ", "en": "Parcel id (00058-1-1) or address"},
    "ward": {"vi": "Xã/phường", "en": "Ward"},
    "sheet": {"vi": "Tờ", "en": "Sheet"},
    "number": {"vi": "Thửa", "en": "No."},
    "find": {"vi": "Tìm", "en": "Find"},
    "not_found": {"vi": "Không tìm thấy thửa đất nào.", "en": "No parcel found."},
    "searching": {"vi": "Đang tìm…", "en": "Searching…"},
    "loading": {"vi": "Đang tải…", "en": "Loading…"},
    "error": {"vi": "Không tải được dữ liệu.", "en": "The data could not be loaded."},
    "parcel": {"vi": "Thửa đất", "en": "Parcel"},
    "parcel_id": {"vi": "Mã thửa", "en": "Parcel id"},
    "land_use": {"vi": "Loại đất", "en": "Land use"},
    "area": {"vi": "Diện tích (m²)", "en": "Area (m²)"},
    "area_legal": {"vi": "Diện tích pháp lý (m²)", "en": "Legal area (m²)"},
    "address": {"vi": "Địa chỉ", "en": "Address"},
    "flood_risk": {"vi": "Nguy cơ ngập", "en": "Flood risk"},
    "max_depth": {"vi": "sâu nhất", "en": "deepest"},
    "no_risk_data": {"vi": "Chưa đánh giá", "en": "Not assessed"},
    "water": {"vi": "Mặt nước (sông, hồ, ao)", "en": "Water (rivers, lakes, ponds)"},
    "owners": {"vi": "Người sử dụng đất", "en": "Right holders"},
    "id_numbers": {"vi": "Số giấy tờ tùy thân", "en": "ID numbers"},
    "events": {"vi": "Số lần ngập", "en": "Observed events"},
    "deepest": {"vi": "Sâu nhất (m)", "en": "Deepest (m)"},
    "recent_events": {"vi": "Các lần ngập gần đây", "en": "Recent events"},
    "rain_48h": {"vi": "Mưa 48 giờ đến", "en": "Rain in the 48 hours to"},
    "total": {"vi": "Tổng", "en": "Total"},
    "no_rain": {"vi": "Không có số liệu mưa.", "en": "No rainfall data."},
    "sign_in": {"vi": "Đăng nhập cán bộ", "en": "Officer sign-in"},
    "token": {"vi": "Mã truy cập (token)", "en": "Access token"},
    "sign_in_button": {"vi": "Đăng nhập", "en": "Sign in"},
    "sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    "signed_in_as": {"vi": "Đã đăng nhập", "en": "Signed in as"},
    "sign_in_failed": {"vi": "Mã truy cập không hợp lệ.", "en": "The token is not valid."},
    "exported": {"vi": "Bản xuất ngoại tuyến, dữ liệu ngày", "en": "Offline export, data of"},
}


#: Labels of what only officers see: left out of the public's pages, which hold no word of it.
OFFICER_ONLY = ("owners", "id_numbers")


def strings(lang: str, officer: bool = True) -> dict[str, str]:
    """Every string in ``lang`` (Vietnamese when the language is not offered); without
    ``officer``, not the labels of owners' data."""
    lang = lang if lang in LANGS else "vi"
    return {key: texts[lang] for key, texts in STRINGS.items() if officer or key not in OFFICER_ONLY}
