"""Which column of a file holds which field: the usual Vietnamese export names, recognised
case- and diacritic-insensitively, or a small mapping file (TOML or JSON) for anything else.

A mapping file names the file's column for each field it overrides, for example::

    map_sheet = "TO_BD"
    parcel_no = "THUA"
    land_use = "MDSD_2019"
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from etl.read import norm_name
from etl.report import shown, shown_error, shown_names
from landflood.errors import DataError

#: Field -> accepted column names (after norm_name). The first names are the common ones.
PARCEL_FIELDS: dict[str, tuple[str, ...]] = {
    "ward_code": ("maxa", "maphuongxa", "maxaphuong", "madvhc", "madonvihanhchinh", "wardcode"),
    "map_sheet": ("soto", "shbando", "sohieutobando", "sotobando", "tobando", "toso", "tobandoso", "mapsheet",
                  "sheet"),
    "parcel_no": ("sothua", "shthua", "sothututhua", "sohieuthua", "thuaso", "thuadatso", "sothuadat", "parcelno",
                  "parcel"),
    "area_legal": ("dientich", "dtich", "dientichphaply", "dtpl", "dientichgcn", "arealegal", "area"),
    "land_use": ("maloaidat", "khloaidat", "loaidat", "kyhieuloaidat", "mucdichsudung", "mdsd", "landuse"),
    "owner_name": ("tenchu", "chusudung", "tenchusudung", "chusohuu", "hoten", "owner", "ownername"),
    "owner_id": ("socccd", "cccd", "socmnd", "cmnd", "socccdcmnd", "socmndcccd", "sodinhdanh", "sogiayto",
                 "sogiaytotuythan", "ownerid"),
    "birth_year": ("namsinh", "birthyear"),
    "address": ("diachi", "diachithua", "diachithuadat", "vitri", "address"),
}
#: Units a legal area may be given in (header "Diện tích (m²)", "Diện tích (ha)"), as m² each.
AREA_UNITS = {"m2": 1.0, "m": 1.0, "ha": 10_000.0}


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


#: A unit in brackets at the end of a header: "Độ sâu (cm)", "Diện tích [m²]".
_BRACKETED = re.compile(r"^(.*?)\s*[(\[]([^()\[\]]*)[)\]]\s*$")
#: A required field, or a tuple of fields any one of which will do.
Required = str | tuple[str, ...]


def header_parts(column: str) -> tuple[str, str | None]:
    """(normalised name, normalised unit) of a header: "Độ sâu (cm)" → ("dosau", "cm"). A unit
    written into the name ("do_sau_cm") is only found against a field's names (``column_unit``)."""
    m = _BRACKETED.match(column)
    if m and norm_name(m.group(1)):
        return norm_name(m.group(1)), norm_name(m.group(2)) or None
    return norm_name(column), None


def column_unit(column: str, aliases: tuple[str, ...], units: dict[str, float]) -> str | None:
    """The unit a header gives, in brackets or as the end of a known name ("do_sau_cm"); None if none.

    Raises DataError for a bracketed unit that is not one of ``units``.
    """
    name, unit = header_parts(column)
    if unit is not None:
        if unit not in units:
            raise DataError(f"column {shown(column, 40)} gives its values in {shown(unit, 20)}; this field takes "
                            f"{', '.join(units)} (name the unit in the header, e.g. ({next(iter(units))}))")
        return unit
    return next((u for u in units if any(name == alias + u for alias in aliases)), None)


def _names(head: tuple[str, str, str | None], alias: str, units: dict[str, float]) -> bool:
    """Whether a header ((normalised whole, name, unit) from header_parts) is ``alias``, with or without
    a unit, in brackets or at its end."""
    whole, name, unit = head
    if alias in (whole, name):
        return True
    return unit is None and any(name == alias + u for u in units)


def resolve(columns: list[str], known: dict[str, tuple[str, ...]], mapping: dict[str, str],
            required: tuple[Required, ...], units: dict[str, dict[str, float]] | None = None) -> dict[str, str]:
    """Field -> the file's column, from ``mapping`` first, then the known names (``units`` gives the
    units a field's header may name: "Độ sâu (cm)", "do_sau_cm").

    Raises DataError naming the missing fields and the names looked for, the columns found and
    the file's columns, and pointing at --mapping.
    """
    unknown = set(mapping) - set(known)
    if unknown:
        raise DataError(f"the mapping names unknown fields {shown_names(sorted(unknown))}; "
                        f"known fields: {', '.join(sorted(known))}")
    heads = [(norm_name(c), *header_parts(c)) for c in columns]
    found: dict[str, str] = {}
    for field, aliases in known.items():
        if field in mapping:
            if mapping[field] not in columns:
                raise DataError(f"the mapping says {field} is column {shown(mapping[field])}, which the file "
                                f"does not have; its columns are {shown_names(columns)}")
            found[field] = mapping[field]
            continue
        field_units = (units or {}).get(field, {})
        for alias in aliases:  # the first names are the likeliest: try them first
            col = next((c for c, head in zip(columns, heads, strict=True) if _names(head, alias, field_units)), None)
            if col is not None:
                found[field] = col
                break
    missing = [(r,) if isinstance(r, str) else r for r in required]
    missing = [r for r in missing if not any(f in found for f in r)]
    if missing:
        names = [" or ".join(r) for r in missing]
        looked = "; ".join(f"{f}: {', '.join(known[f][:4])}" for r in missing for f in r)
        raise DataError(
            f"cannot find the column(s) for {', '.join(names)} (looked for {looked}); {found_text(found)}, "
            f"among the file's {shown_names(columns)}. Name them in a mapping file: --mapping FILE with lines "
            f"like {missing[0][0]} = \"COLUMN\""
        )
    return found


def found_text(found: dict[str, str]) -> str:
    """What a message says of the columns it did recognise: "found name = 'Tên điểm', district = 'Quận'"."""
    if not found:
        return "found none of the known columns"
    return "found " + ", ".join(f"{field} = {shown(col, 40)}" for field, col in found.items())
