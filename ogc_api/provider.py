"""landflood's own pygeoapi feature provider, for what pygeoapi renders itself (collection
pages, schemas). The items endpoints use :mod:`ogc_api.features` directly, which this wraps."""

from __future__ import annotations

import json
from typing import Any

from pygeoapi.provider.base import BaseProvider, ProviderItemNotFoundError

from landflood.errors import NotFoundError
from ogc_api import context
from ogc_api import crs as crsmod
from ogc_api.collections import COLLECTIONS
from ogc_api.features import ItemsQuery, get_item, query_items

_JSON_TYPES = {"date-time": ("string", "date-time"), "date": ("string", "date")}


class LandfloodProvider(BaseProvider):
    """Features from the landflood database; fields follow the caller's role."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.coll = COLLECTIONS[provider_def["data"]]
        self.id_field = "id"
        self.get_fields()

    def get_fields(self) -> dict[str, dict[str, str]]:
        fields = {}
        for p in self.coll.visible(context.is_officer()):
            kind, fmt = _JSON_TYPES.get(p.type, (p.type, None))
            fields[p.name] = {"type": kind, "title": p.title_en if context.lang() == "en" else p.title_vi,
                              **({"format": fmt} if fmt else {})}
        self._fields = fields
        return fields

    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results", bbox: list | None = None,
              datetime_: str | None = None, properties: list | None = None, sortby: list | None = None,
              select_properties: list | None = None, skip_geometry: bool = False, **kwargs: Any) -> dict:
        q = ItemsQuery(coll=self.coll, officer=context.is_officer(), lang=context.lang(), limit=limit,
                       offset=offset, bbox=bbox or None, skip_geometry=skip_geometry)
        page = query_items(context.state().pools, q)
        return {"type": "FeatureCollection", "features": json.loads(page["features"]),
                "numberMatched": page["matched"], "numberReturned": page["returned"]}

    def get(self, identifier: str, **kwargs: Any) -> dict:
        try:
            text, _ = get_item(context.state().pools, self.coll, identifier, context.is_officer(),
                               context.lang(), crsmod.SUPPORTED[0])
        except NotFoundError as exc:
            raise ProviderItemNotFoundError(str(exc)) from exc
        return json.loads(text)
