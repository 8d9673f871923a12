"""A small register for the registry's tests: three parcels on one map sheet, each held by people."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import pytest
from shapely.geometry import box
from sqlalchemy import Engine, create_engine

from landdb import parcels as parcel_db
from landdb import parties as party_db
from landdb.audit import set_actor
from landdb.parcels import ParcelData, ParcelKey

X0, Y0 = 585_000.0, 2_326_000.0  # VN-2000 / TM-3 105° (EPSG:5897), central Hanoi
AN = {"name": "Nguyễn Văn An", "id_number": "001085012345", "birth_year": 1985}
BINH = {"name": "Trần Thị Bình", "id_number": "001190067890", "birth_year": 1990}


@dataclass(frozen=True)
class City:
    engine: Engine
    a: ParcelKey  # 20 m × 10 m, An 1/2 and Bình 1/2
    b: ParcelKey  # east of a, same holders and shares
    c: ParcelKey  # north of a, Bình alone


def lot(dx: float, dy: float, w: float = 20, h: float = 10):  # type: ignore[no-untyped-def]
    return box(X0 + dx, Y0 + dy, X0 + dx + w, Y0 + dy + h)


@pytest.fixture
def city(fresh_db: str) -> Iterator[City]:
    engine = create_engine(fresh_db)
    keys = [ParcelKey("00031", 12, n) for n in (45, 46, 47)]
    with engine.begin() as conn:
        set_actor(conn, "test:setup")
        an = party_db.find_or_add_party(conn, party_db.PartyData(AN["name"], id_type="CCCD", id_number=AN["id_number"]))
        binh = party_db.find_or_add_party(conn, party_db.PartyData(BINH["name"], id_type="CCCD",
                                                                  id_number=BINH["id_number"]))
        for key, geom in zip(keys, [lot(0, 0), lot(20, 0), lot(0, 10)], strict=True):
            parcel_db.lock(conn, key, register=True)
            parcel_db.save(conn, ParcelData(key, "ODT", geom, address="Số 1 phố Hàng Bạc"))
        party_db.open_rights(conn, [
            party_db.NewRight(keys[0], an, "use_right", Fraction(1, 2)),
            party_db.NewRight(keys[0], binh, "use_right", Fraction(1, 2)),
            party_db.NewRight(keys[1], an, "use_right", Fraction(1, 2)),
            party_db.NewRight(keys[1], binh, "use_right", Fraction(1, 2)),
            party_db.NewRight(keys[2], binh, "use_right", Fraction(1))])
    yield City(engine, *keys)
    engine.dispose()
