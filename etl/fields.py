"""Which column of a file holds which field: the usual Vietnamese export names, recognised
case- and diacritic-insensitively, or a small mapping file (TOML or JSON) for anything else.

A mapping file names the file's column for each field it overrides, for example::

    map_sheet = "TO_BD"
    parcel_no = "THUA"
    land_use = "MDSD_2019"
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from etl.read import norm_name
from etl.report import shown, shown_error, shown_names
from landflood.errors import DataError

#: Field -> accepted column names (after norm_name). The first names are the common ones.
PARCEL_FIELDS: dict[str, tuple[str, ...]] = {
    "ward_code": ("maxa", "maphuongxa", "maxaphuong", "madvhc", "madonvihanhchinh", "wardcode"),
    "map_sheet": ("soto", "shbando", "sohieutobando", "sotobando", "tobando", "toso", "mapsheet", "sheet"),
    "parcel_no": ("sothua", "shthua", "sothututhua", "sohieuthua", "thuaso", "parcelno", "parcel"),
    "area_legal": ("dientich", "dtich", "dientichphaply", "dtpl", "dientichgcn", "arealegal", "area"),
    "land_use": ("maloaidat", "khloaidat", "loaidat", "kyhieuloaidat", "mucdichsudung", "mdsd", "landuse"),
    "owner_name": ("tenchu", "chusudung", "tenchusudung", "chusohuu", "hoten", "owner", "ownername"),
    "owner_id": ("socccd", "cccd", "socmnd", "cmnd", "sogiayto", "sogiaytotuythan", "ownerid"),
    "birth_year": ("namsinh", "birthyear"),
    "address": ("diachi", "diachithua", "vitri", "address"),
}


def load_mapping(path: Path | None) -> dict[str, str]:
    """Read a mapping file (``field = "column"``); an empty mapping when ``path`` is None."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        mapping = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the mapping file {path}: {shown_error(exc)}") from exc
    if not all(isinstance(v, str) for v in mapping.values()):
        raise DataError(f"{path}: every entry must be field = \"column name\"")
    return mapping


def resolve(columns: list[str], known: dict[str, tuple[str, ...]], mapping: dict[str, str],
            required: tuple[str, ...]) -> dict[str, str]:
    """Field -> the file's column, from ``mapping`` first, then the known names.

    Raises DataError naming the missing fields, the names that were looked for and the
    file's columns, and pointing at --mapping.
    """
    unknown = set(mapping) - set(known)
    if unknown:
        raise DataError(f"the mapping names unknown fields {shown_names(sorted(unknown))}; "
                        f"known fields: {', '.join(sorted(known))}")
    by_norm = {norm_name(c): c for c in columns}
    found: dict[str, str] = {}
    for field, aliases in known.items():
        if field in mapping:
            if mapping[field] not in columns:
                raise DataError(f"the mapping says {field} is column {shown(mapping[field])}, which the file "
                                f"does not have; its columns are {shown_names(columns)}")
            found[field] = mapping[field]
            continue
        col = next((by_norm[a] for a in aliases if a in by_norm), None)
        if col is not None:
            found[field] = col
    missing = [f for f in required if f not in found]
    if missing:
        looked = "; ".join(f"{f}: {', '.join(known[f][:4])}" for f in missing)
        raise DataError(
            f"cannot find the column(s) for {', '.join(missing)} (looked for {looked}); the file has "
            f"{shown_names(columns)}. Name them in a mapping file: --mapping FILE with lines like "
            f"{missing[0]} = \"COLUMN\""
        )
    return found
