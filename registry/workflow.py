"""The registry's procedure: lodge an application, check it against the rule catalogue, approve,
register (one database transaction), or close it (reject, cancel, withdraw).

Every step runs in its own transaction with the actor recorded for the audit (``api:<name>#id``,
``cli:<officer>``). Lodging with an idempotency key already used returns the application lodged
with it (or a conflict when the request differs); approving or registering again by the same
actor returns the application as it is. Two registrations of one parcel queue on its row lock:
the second sees the first's result and gets a conflict (LF-R0306 or the application's state).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import mapping
from sqlalchemy import Connection, Engine

from landdb import admin as admin_db
from landdb import parcels as parcel_db
from landdb import parties as party_db
from landdb import registry as registry_db
from landdb.audit import set_actor
from landdb.codes import REGISTRAR_ROLES
from landdb.models import CITY_SRID
from landdb.parcels import ParcelKey, ParcelVersion
from landdb.parties import HOLDING_KINDS, RightRow
from landflood.errors import ConflictError, NotFoundError, PermissionDeniedError, RulesConflictError, RulesNotMetError
from registry import calendar, rules, services
from registry.applications import Request, SourceData, parse
from registry.rules import Fault, Moment, Result

#: Source documents each service needs before approval (LF-R0303): all of a tuple's kinds, where
#: a nested tuple means any one of them.
REQUIRED_SOURCES: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "split": ("application_form", "cadastral_survey"),
    "merge": ("application_form", "cadastral_survey"),
    "boundary_correction": ("application_form", "cadastral_survey"),
    "transfer": ("application_form", ("contract", "gift_deed", "inheritance_record", "court_decision")),
    "mortgage": ("application_form", "mortgage_contract"),
    "mortgage_cancellation": ("application_form", "mortgage_release"),
}
_TO_CRS84 = pyproj.Transformer.from_crs(CITY_SRID, 4326, always_xy=True)


@dataclass
class Facts:
    """What the rules look at, read once per check."""

    request: Request
    step: Moment
    actor: str
    current: list[ParcelVersion]
    missing: list[ParcelKey]
    rights: list[RightRow]
    others: list[tuple[str, str, str]]
    sources: list[SourceData]
    application: registry_db.Application | None = None
    lodged: dict[ParcelKey, int] | None = None


def _facts(conn: Connection, req: Request, step: Moment, actor: str,
           app: registry_db.Application | None = None, lock: bool = False) -> Facts:
    current, missing = [], []
    for key in sorted(req.parcels):
        if lock:
            parcel_db.lock(conn, key)
        try:
            current.append(parcel_db.get(conn, key))
        except NotFoundError:
            missing.append(key)
    sources = list(req.sources)
    lodged = None
    if app is not None:
        stored = registry_db.sources_of(conn, app.id)
        sources = [SourceData(s.kind, s.number, s.issued_on, s.issued_by, s.description) for s in stored]
        lodged = registry_db.lodged_versions(conn, app.id)
    return Facts(req, step, actor, current, missing, party_db.current_rights(conn, list(req.parcels), lock=lock),
                 registry_db.open_on(conn, list(req.parcels), besides=app.id if app else None), sources, app, lodged)


def _identified(p: party_db.PartyData) -> bool:
    if not p.full_name:
        return False
    if p.kind == "person":
        return bool(p.id_number and p.id_number.isdigit() and len(p.id_number) in (9, 12))
    return bool(p.id_number)


def evaluate(conn: Connection, f: Facts) -> list[Result]:
    """Run every rule of the catalogue due at ``f.step`` for the request's service."""
    req = f.request
    new = [p.geom for p in req.new_parcels]
    old = [v.geom for v in f.current]
    holding = [r for r in f.rights if r.kind in HOLDING_KINDS]
    mortgages = [r for r in f.rights if r.kind == "mortgage"]
    today = calendar.today()

    def check(code: str) -> list[Fault]:  # noqa: C901 - one branch per rule, in catalogue order
        if code == "LF-R0101":
            return rules.invalid(new)
        if code == "LF-R0102":
            return rules.not_single(new)
        valid = all(g.is_valid for g in new) and bool(old)
        if code == "LF-R0103":
            return rules.union_differs(old, new) if valid else []
        if code == "LF-R0104":
            return rules.overlapping(new) if valid else []
        if code == "LF-R0105":
            if not valid:
                return []
            near = parcel_db.current_near(conn, shapely.union_all(new), 1.0, list(req.parcels))
            return rules.overlapping_neighbours(new, [(v.key.parcel_id, v.geom) for v in near])
        if code == "LF-R0106":
            return rules.slivers(new, old if req.service != "boundary_correction" else new) if valid else []
        if code == "LF-R0107":
            around = admin_db.commune_around(conn, old[0]) if old else None
            return rules.outside(new, around[2], around[1]) if around and valid else []
        if code == "LF-R0108":
            return rules.area_sum_differs([float(v.area_legal_m2 or v.area_m2) for v in f.current],
                                          [float(p.area_legal_m2 or p.geom.area) for p in req.new_parcels])
        if code == "LF-R0109":
            return rules.area_off(new, [float(p.area_legal_m2) if p.area_legal_m2 is not None else None
                                        for p in req.new_parcels])
        if code == "LF-R0110":
            return rules.not_adjacent(old) if len(old) > 1 else []
        if code == "LF-R0111":
            given = [ParcelKey(req.parcels[0].ward_code, req.parcels[0].map_sheet, p.parcel_no)
                     for p in req.new_parcels if p.parcel_no is not None]
            twice = {k for k in given if given.count(k) > 1}
            taken = parcel_db.taken_numbers(conn, given) if given else []
            return [Fault(f"parcel number {k.parcel_no} on sheet {k.map_sheet} is {why}", parcel_id=k.parcel_id)
                    for k, why in [(k, "given twice") for k in sorted(twice)] + [(k, "already used") for k in taken]]
        if code == "LF-R0201":
            return [fault for label, hs in services.resulting_holders(req, f.rights) if hs
                    for fault in rules.shares_off(hs, label)]
        if code == "LF-R0202":
            named = [("the applicant", req.applicant)]
            named += [(f"new parcel {i + 1}'s holder", h.party) for i, p in enumerate(req.new_parcels)
                      for h in p.holders or ()]
            named += [("a transferee", h.party) for h in (req.transfer.to if req.transfer else ())]
            named += [("the mortgagee", req.mortgage.mortgagee)] if req.mortgage else []
            return [Fault(f"{who} ({p.full_name or 'no name'}) has no valid ID number (12-digit CCCD or 9-digit "
                          "CMND for a person)") for who, p in named if not _identified(p)]
        if code == "LF-R0203":
            return [Fault(f"parcel {v.key.parcel_id} has no holder", v.geom, v.key.parcel_id) for v in f.current
                    if not any(r.key == v.key for r in holding)]
        if code == "LF-R0204":
            def holders_of(k: ParcelKey) -> list[tuple[int, Any]]:
                return sorted((r.party_id, r.share) for r in holding if r.key == k)
            faults = [Fault(f"parcel {v.key.parcel_id} has other holders or shares than {f.current[0].key.parcel_id}",
                            v.geom, v.key.parcel_id) for v in f.current[1:]
                      if holders_of(v.key) != holders_of(f.current[0].key)]
            return faults + [Fault(f"parcel {r.key.parcel_id} is mortgaged to {r.party_name} (rank {r.rank})",
                                   parcel_id=r.key.parcel_id) for r in mortgages]
        if code == "LF-R0205":
            ids = {r.id_number for r in holding}
            return [Fault(f"{i} does not hold parcel {req.parcels[0].parcel_id}")
                    for i in (req.transfer.from_ids if req.transfer else ()) if i not in ids]
        if code == "LF-R0206":
            rank = req.mortgage.rank if req.mortgage else None
            return [Fault(f"rank {rank} is already {r.party_name}'s mortgage") for r in mortgages if r.rank == rank]
        if code == "LF-R0207":
            return [] if services.cancelled(f.rights, req) else [Fault("the parcel has no such current mortgage")]
        if code == "LF-R0208":
            return [Fault(f"parcel {r.key.parcel_id} is mortgaged to {r.party_name} (rank {r.rank})",
                          parcel_id=r.key.parcel_id) for r in mortgages]
        if code == "LF-R0209":
            return [Fault(f"{r.party_name}'s term on {r.key.parcel_id} ended on {r.use_term_end}",
                          parcel_id=r.key.parcel_id) for r in holding if r.use_term_end and r.use_term_end < today]
        if code == "LF-R0301":
            return [Fault(f"parcel {k.parcel_id} has no current version (split, merged or never registered)",
                          parcel_id=k.parcel_id) for k in f.missing]
        if code == "LF-R0302":
            return [Fault(f"application {n} ({s}) is open on parcel {p}", parcel_id=p) for n, s, p in f.others]
        if code == "LF-R0303":
            kinds = {s.kind for s in f.sources}
            need = REQUIRED_SOURCES[req.service]
            return [Fault(f"no {' or '.join(n) if isinstance(n, tuple) else n} document is attached") for n in need
                    if not (set(n) & kinds if isinstance(n, tuple) else n in kinds)]
        if code == "LF-R0304":
            return [Fault(f"{s.kind} {s.number or ''} is dated {s.issued_on}, after today ({today})")
                    for s in f.sources if s.issued_on and s.issued_on > today]
        if code == "LF-R0305":
            lodger = f.application.lodged_by if f.application else None
            return [Fault(f"{f.actor} lodged this application, so another registrar approves it")] \
                if f.step == "approve" and lodger == f.actor else []
        if code == "LF-R0306":
            now = {v.key: v.id for v in f.current}
            return [Fault(f"parcel {k.parcel_id} changed since the application was lodged", parcel_id=k.parcel_id)
                    for k, vid in (f.lodged or {}).items() if now.get(k) != vid]
        if code == "LF-R0307":
            due = f.application.due_on if f.application else None
            return [Fault(f"the application was due on {due}")] if due and today > due else []
        if code == "LF-R0308":
            ids = {r.id_number for r in holding} | {h.party.id_number for h in
                                                    (req.transfer.to if req.transfer else ())}
            return [] if req.applicant.id_number in ids else \
                [Fault(f"{req.applicant.full_name} is not among the holders")]
        raise AssertionError(f"rule {code} has no check")

    return [Result(r, check(r.code)) for r in rules.CATALOGUE if r.runs_at(f.step, req.service)]


def _feature(fault: Fault) -> dict[str, Any]:
    geom = shapely.transform(fault.geom, lambda xy: _crs84(xy)) if fault.geom is not None else None
    return {"type": "Feature", "geometry": mapping(geom) if geom is not None else None,
            "properties": {"message": fault.message, "parcel_id": fault.parcel_id}}


def _crs84(xy: Any) -> Any:
    x, y = _TO_CRS84.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def report(results: list[Result], step: Moment, number: str | None) -> dict[str, Any]:
    """The rule-check report: every rule run, its result and the features at fault (CRS84)."""
    failed = [r for r in results if not r.passed]
    return {
        "application": number, "step": step,
        "checked_at": dt.datetime.now(calendar.HANOI).isoformat(timespec="seconds"),
        "passed": not any(r.rule.severity == "critical" for r in failed),
        "critical_failures": [r.rule.code for r in failed if r.rule.severity == "critical"],
        "warnings": [r.rule.code for r in failed if r.rule.severity == "warning"],
        "results": [{"code": r.rule.code, "severity": r.rule.severity, "status": "passed" if r.passed else "failed",
                     "title": {"vi": r.rule.title_vi, "en": r.rule.title_en},
                     "fix": {"vi": r.rule.fix_vi, "en": r.rule.fix_en} if not r.passed else None,
                     "tolerance": r.rule.tolerance,
                     "features": {"type": "FeatureCollection", "features": [_feature(x) for x in r.faults]}}
                    for r in results],
    }


def _raise_if_failed(rep: dict[str, Any], results: list[Result], what: str) -> None:
    if rep["passed"]:
        return
    failed = [r for r in results if not r.passed and r.rule.severity == "critical"]
    first = "; ".join(f"{r.rule.code} {r.rule.title_en}: {r.faults[0].message}" for r in failed[:3])
    message = f"{what} fails {len(failed)} critical rule(s): {first}. The report lists each rule and what to fix"
    if any(r.rule.conflict for r in failed):
        raise RulesConflictError(message, rep)
    raise RulesNotMetError(message, rep)


def _fingerprint(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def lodge(engine: Engine, doc: dict[str, Any], actor: str, idempotency_key: str | None = None
          ) -> registry_db.Application:
    """Lodge the application ``doc``; nothing is stored if a critical lodge rule fails."""
    req = parse(doc)
    stored_doc = {**doc, "_fingerprint": _fingerprint(doc)}
    with engine.begin() as conn:
        set_actor(conn, actor)
        if idempotency_key:
            again = registry_db.by_idempotency_key(conn, idempotency_key)
            if again is not None:
                if again.request.get("_fingerprint") != stored_doc["_fingerprint"]:
                    raise ConflictError(f"idempotency key {idempotency_key!r} was used for application "
                                        f"{again.number} with another request; use a new key")
                return again
        facts = _facts(conn, req, "lodge", actor, lock=True)
        results = evaluate(conn, facts)
        rep = report(results, "lodge", None)
        _raise_if_failed(rep, results, "the application")
        today = calendar.today()
        number = registry_db.next_number(conn, today.year)
        app_id = registry_db.insert(
            conn, number=number, idempotency_key=idempotency_key, service=req.service,
            applicant_id=party_db.find_or_add_party(conn, req.applicant), request=stored_doc, lodged_by=actor,
            due_on=calendar.add_working_days(today, services.DEADLINE_DAYS[req.service]))
        registry_db.add_parcels(conn, app_id, [(v.key, v.id) for v in facts.current])
        for s in req.sources:
            sid = registry_db.add_source(conn, kind=s.kind, number=s.number, issued_on=s.issued_on,
                                         issued_by=s.issued_by, description=s.description, created_by=actor)
            registry_db.link_source(conn, app_id, sid)
        rep["application"] = number
        registry_db.save_report(conn, app_id, rep)
        return registry_db.get(conn, number)


def attach_source(engine: Engine, number: str, source: SourceData, actor: str) -> registry_db.Source:
    """Attach a source document (its metadata) to an open application."""
    with engine.begin() as conn:
        set_actor(conn, actor)
        app = registry_db.get(conn, number, lock=True)
        if app.state not in registry_db.OPEN_STATES:
            raise ConflictError(f"application {number} is {app.state}: documents go to open applications only")
        sid = registry_db.add_source(conn, kind=source.kind, number=source.number, issued_on=source.issued_on,
                                     issued_by=source.issued_by, description=source.description, created_by=actor)
        registry_db.link_source(conn, app.id, sid)
        return registry_db.source(conn, sid)


def check(engine: Engine, number: str, actor: str) -> dict[str, Any]:
    """Run the rules of the application's next step and keep the report with it."""
    with engine.begin() as conn:
        set_actor(conn, actor)
        app = registry_db.get(conn, number, lock=True)
        step: Moment = "register" if app.state == "approved" else "approve"
        results = evaluate(conn, _facts(conn, parse(_request(app)), step, actor, app))
        rep = report(results, step, number)
        if app.state in registry_db.OPEN_STATES:
            registry_db.save_report(conn, app.id, rep)
        return rep


def _request(app: registry_db.Application) -> dict[str, Any]:
    return {k: v for k, v in app.request.items() if k != "_fingerprint"}


def _registrar(role: str) -> None:
    if role not in REGISTRAR_ROLES:
        raise PermissionDeniedError(f"approving and registering need the role {' or '.join(REGISTRAR_ROLES)}; "
                                    f"yours is {role}: ask a registrar")


def approve(engine: Engine, number: str, actor: str, role: str) -> registry_db.Application:
    """Approve a lodged application (a registrar other than the lodging officer)."""
    _registrar(role)
    return _step(engine, number, actor, "approve")


def register(engine: Engine, number: str, actor: str, role: str) -> registry_db.Application:
    """Register an approved application: the register changes, in one transaction."""
    _registrar(role)
    return _step(engine, number, actor, "register")


def _step(engine: Engine, number: str, actor: str, step: Moment) -> registry_db.Application:
    done: registry_db.Step = "approved" if step == "approve" else "registered"
    before = "lodged" if step == "approve" else "approved"
    failure: Exception | None = None
    with engine.begin() as conn:
        set_actor(conn, actor)
        app = registry_db.get(conn, number, lock=True)
        by = app.approved_by if step == "approve" else app.registered_by
        if app.state == done or (step == "approve" and app.state == "registered"):
            if by == actor or step == "approve":
                return app  # a retry: already done
            raise ConflictError(f"application {number} is already {done} by {by}")
        if app.state != before:
            raise ConflictError(f"application {number} is {app.state}; only a{'n' if before[0] in 'a' else ''} "
                                f"{before} application can be {done}")
        req = parse(_request(app))
        facts = _facts(conn, req, step, actor, app, lock=True)
        results = evaluate(conn, facts)
        rep = report(results, step, number)
        registry_db.save_report(conn, app.id, rep)
        try:
            _raise_if_failed(rep, results, f"application {number}")
        except (RulesNotMetError, RulesConflictError) as exc:
            failure = exc  # raised once the report is committed
        else:
            if step == "register":
                outcome = services.register(conn, app, req, facts.current, facts.rights, actor)
                rep["registered"] = outcome.as_dict()
                registry_db.save_report(conn, app.id, rep)
            registry_db.move(conn, app.id, done, actor)
            return registry_db.get(conn, number)
    assert failure is not None
    raise failure


def close(engine: Engine, number: str, state: registry_db.Step, actor: str, role: str,
          reason: str) -> registry_db.Application:
    """Reject (registrars), cancel (officers) or withdraw (at the applicant's request) an open application."""
    if state == "rejected":
        _registrar(role)
    if state not in registry_db.CLOSING_STATES:
        raise ValueError(state)
    with engine.begin() as conn:
        set_actor(conn, actor)
        app = registry_db.get(conn, number, lock=True)
        if app.state == state:
            return app
        if app.state not in registry_db.OPEN_STATES:
            raise ConflictError(f"application {number} is {app.state}; only open applications can be {state}")
        registry_db.move(conn, app.id, state, actor, reason)
        return registry_db.get(conn, number)
