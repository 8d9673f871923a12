"""What registering each service changes in the register, inside the caller's one database
transaction (so all parcels and rights change together, or none): versions closed and opened,
rights closed and opened, lineage, and the transaction that records them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import Connection

from landdb import parcels as parcel_db
from landdb import parties as party_db
from landdb import registry as registry_db
from landdb.parcels import ParcelData, ParcelKey, ParcelVersion
from landdb.parties import HOLDING_KINDS, NewRight, RightRow
from registry.applications import Holder, NewParcel, Request

#: Deadlines in working days (2024 Land Law procedures: split/merge 15 days, as Decree 101/2024 sets).
DEADLINE_DAYS = {"split": 15, "merge": 15, "boundary_correction": 15, "transfer": 10, "mortgage": 3,
                 "mortgage_cancellation": 3}


@dataclass
class Outcome:
    """What a registration changed."""

    closed_versions: list[int] = field(default_factory=list)
    opened_versions: list[int] = field(default_factory=list)
    closed_rights: list[int] = field(default_factory=list)
    opened_rights: list[int] = field(default_factory=list)
    parcels: list[str] = field(default_factory=list)  # the parcels as they are afterwards

    def as_dict(self) -> dict[str, list]:
        return {"closed_versions": self.closed_versions, "opened_versions": self.opened_versions,
                "closed_rights": self.closed_rights, "opened_rights": self.opened_rights, "parcels": self.parcels}


def holding_kind(rights: list[RightRow]) -> str:
    return next((r.kind for r in rights if r.kind in HOLDING_KINDS), "use_right")


def _area(p: NewParcel) -> Decimal:
    return p.area_legal_m2 if p.area_legal_m2 is not None else Decimal(str(round(p.geom.area, 1)))


def _holder_rights(conn: Connection, key: ParcelKey, holders: tuple[Holder, ...], kind: str,
                   certificate_no: str | None = None) -> list[NewRight]:
    return [NewRight(key, party_db.find_or_add_party(conn, h.party), kind, share=h.share,
                     certificate_no=certificate_no) for h in holders]


def _copies(key: ParcelKey, rights: list[RightRow], holding: bool) -> list[NewRight]:
    """The rights carried over to ``key``: the holders' (``holding``) or the burdens (mortgages...)."""
    return [NewRight(key, r.party_id, r.kind, r.share, r.rank, None if holding else r.certificate_no,
                     r.use_term_end, r.description)
            for r in rights if (r.kind in HOLDING_KINDS) == holding]


def register(conn: Connection, app: registry_db.Application, req: Request, old: list[ParcelVersion],
             rights: list[RightRow], actor: str) -> Outcome:
    """Apply the application's service; parcels and rights are locked by the caller."""
    out = Outcome()
    tx = registry_db.insert_transaction(conn, app.id, actor)
    lineage: list[tuple[int, int]] = []
    new_rights: list[NewRight] = []
    if req.service in ("split", "merge"):
        parent = old[0]
        numbers = [p.parcel_no for p in req.new_parcels]
        free = iter(parcel_db.allocate_numbers(conn, parent.key.ward_code, parent.key.map_sheet,
                                               sum(n is None for n in numbers)))
        keys = [ParcelKey(parent.key.ward_code, parent.key.map_sheet, n if n is not None else next(free))
                for n in numbers]
        for v in old:
            out.closed_versions.append(parcel_db.close_version(conn, v.key))
        out.closed_rights = [r.id for r in rights]
        party_db.close_rights(conn, out.closed_rights)
        kind = holding_kind(rights)
        for key, p in zip(keys, req.new_parcels, strict=True):
            vid = parcel_db.open_version(conn, ParcelData(
                key, p.land_use or parent.land_use_code, p.geom, _area(p), p.address or parent.address,
                source=app.number), new_parcel=True)
            out.opened_versions.append(vid)
            lineage += [(vid, pv) for pv in out.closed_versions]
            first = [r for r in rights if r.key == parent.key]
            holders = _holder_rights(conn, key, p.holders, kind) if p.holders else _copies(key, first, True)
            new_rights += holders + _copies(key, first, False)
            out.parcels.append(key.parcel_id)
    elif req.service == "boundary_correction":
        v, p = old[0], req.new_parcels[0]
        closed = parcel_db.close_version(conn, v.key)
        vid = parcel_db.open_version(conn, ParcelData(v.key, p.land_use or v.land_use_code, p.geom, _area(p),
                                                      p.address or v.address, source=app.number), new_parcel=False)
        out.closed_versions, out.opened_versions, out.parcels = [closed], [vid], [v.key.parcel_id]
        lineage = [(vid, closed)]
    else:
        key = old[0].key
        out.parcels = [key.parcel_id]
        if req.transfer is not None:
            t = req.transfer
            leaving = [r for r in rights if r.kind in HOLDING_KINDS and (not t.from_ids or r.id_number in t.from_ids)]
            out.closed_rights = [r.id for r in leaving]
            new_rights = _holder_rights(conn, key, t.to, holding_kind(rights), t.certificate_no)
        elif req.mortgage is not None:
            m = req.mortgage
            ranks = [r.rank or 0 for r in rights if r.kind == "mortgage"]
            note = f"Hợp đồng thế chấp {m.contract_no}" + (f", {m.amount_vnd:,} VND" if m.amount_vnd else "")
            new_rights = [NewRight(key, party_db.find_or_add_party(conn, m.mortgagee), "mortgage",
                                   rank=m.rank or max(ranks, default=0) + 1, use_term_end=m.until,
                                   description=note)]
        elif req.cancellation is not None:
            out.closed_rights = [r.id for r in cancelled(rights, req)]
        party_db.close_rights(conn, out.closed_rights)
    out.opened_rights = party_db.open_rights(conn, new_rights)
    registry_db.record_changes(conn, tx, "parcel_versions", "closed", out.closed_versions)
    registry_db.record_changes(conn, tx, "parcel_versions", "opened", out.opened_versions)
    registry_db.record_changes(conn, tx, "rights", "closed", out.closed_rights)
    registry_db.record_changes(conn, tx, "rights", "opened", out.opened_rights)
    registry_db.add_lineage(conn, tx, req.service, lineage)
    return out


def cancelled(rights: list[RightRow], req: Request) -> list[RightRow]:
    """The mortgages a cancellation names."""
    c = req.cancellation
    if c is None:
        return []
    return [r for r in rights if r.kind == "mortgage" and (c.rank is None or r.rank == c.rank)
            and (c.mortgagee_id is None or r.id_number == c.mortgagee_id)]


def resulting_holders(req: Request, rights: list[RightRow]) -> list[tuple[str, list[tuple[str, Fraction]]]]:
    """Per resulting parcel (a label), its holders' (name, share) after registration."""
    current = [(r.party_name, r.share or Fraction(1)) for r in rights if r.kind in HOLDING_KINDS]
    if req.service == "split":
        return [(f"new parcel {i + 1}", [(h.party.full_name, h.share) for h in p.holders] if p.holders else current)
                for i, p in enumerate(req.new_parcels)]
    if req.service == "transfer" and req.transfer is not None:
        t = req.transfer
        staying = [(r.party_name, r.share or Fraction(1)) for r in rights
                   if r.kind in HOLDING_KINDS and t.from_ids and r.id_number not in t.from_ids]
        return [(req.parcels[0].parcel_id, staying + [(h.party.full_name, h.share) for h in t.to])]
    if req.service == "merge":
        first = [(r.party_name, r.share or Fraction(1)) for r in rights
                 if r.kind in HOLDING_KINDS and r.key == req.parcels[0]]
        return [("the merged parcel", first)]
    return []
