"""The documents the registry issues, each as HTML and PDF, in Vietnamese (labels bilingual
where natural), drawn from the register alone:

- the **certificate data sheet** (``certificate_data``, numbered DL-…): the fields of page 1 of
  the certificate of Circular 10/2024/TT-BTNMT (holders, parcel, area, form of use, purpose,
  term, origin) and page 2's sketch with the vertex table in VN-2000 and the edge lengths.
  Officers only: it names the holders.
- the **cadastral map extract** (``map_extract``, TL-…): the parcel and its neighbours at an exact
  scale, with the data table; the public's has no holders.
- the **flood-risk statement** (``flood_statement``, NN-…): the parcel's modelled risk per
  scenario and the flood events recorded near it. Public.

Each is built as a dataclass (what it states), rendered with the Jinja2 templates in
``registry/templates`` and made a PDF by WeasyPrint. :func:`issue` numbers a document, prints the
number and a QR code of its verification URL on it, and records it in ``issued_documents`` with
the SHA-256 of the PDF; :func:`preview` renders the HTML without a number. The SQL is in
``landdb`` (``parcels``, ``parties``, ``land_use``, ``flood``, ``admin``, ``documents``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from typing import ClassVar
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import Connection

from landdb import admin, land_use, parties, registry
from landdb import documents as document_db
from landdb import flood as flood_db
from landdb import parcels as parcel_db
from landdb.codes import RISK_CLASSES
from landdb.land_use import WATER_CODES
from landflood.errors import DataError, NotFoundError
from registry import drawing, pdf

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
#: Recorded flood events are listed when their hotspot is this close to the parcel (as flood.risk counts them).
EVENTS_RADIUS_M = 200.0
ID_TYPES = {"CCCD": "CCCD (Căn cước công dân)", "CMND": "CMND (Chứng minh nhân dân)", "passport": "Hộ chiếu",
            "business_registration": "Giấy chứng nhận đăng ký doanh nghiệp", "other": "Giấy tờ khác"}
PARTY_KINDS = {"person": "Ông/Bà", "household": "Hộ gia đình", "organization": "Tổ chức", "state": "Nhà nước"}
#: Where a holder's right came from, when a registered transaction opened it (else its description, if any).
ORIGINS = {"transfer": "Nhận chuyển nhượng quyền sử dụng đất", "split": "Tách thửa", "merge": "Hợp thửa",
           "boundary_correction": "Chỉnh lý ranh giới thửa đất", "mortgage": "Đăng ký thế chấp",
           "mortgage_cancellation": "Xóa đăng ký thế chấp"}
RISK_NAMES = {"low": ("Thấp", "low"), "medium": ("Trung bình", "medium"), "high": ("Cao", "high"),
              "very_high": ("Rất cao", "very high")}
assert set(RISK_NAMES) == set(RISK_CLASSES)
NOT_RECORDED = "Chưa ghi nhận trong cơ sở dữ liệu / not recorded"


def vn_number(value: float | Decimal, places: int, thousands: bool = True) -> str:
    """A number as Vietnamese writes it: ``1.234,5`` (a dot groups thousands, a comma marks decimals)."""
    text = f"{value:,.{places}f}" if thousands else f"{value:.{places}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def vn_date(when: dt.datetime | dt.date) -> str:
    """``ngày 05 tháng 12 năm 2026`` (in Hanoi's time)."""
    if isinstance(when, dt.datetime):
        when = when.astimezone(HANOI).date()
    return f"ngày {when.day:02d} tháng {when.month:02d} năm {when.year}"


# --- what each document states -----------------------------------------------------------------

@dataclass(frozen=True)
class Parcel:
    """The parcel as every document names it (its current version)."""

    parcel_id: str
    ward_code: str
    map_sheet: int
    parcel_no: int
    version_id: int
    valid_from: dt.datetime
    area_m2: Decimal  # to 0.1 m²: the legal area as recorded, else the area on the plane
    area_is_legal: bool
    land_use_code: str
    land_use_vi: str
    land_use_en: str
    address: str | None
    commune: str | None
    geom: object = field(repr=False, compare=False)

    @property
    def area_text(self) -> str:
        return f"{vn_number(self.area_m2, 1)} m²"


@dataclass(frozen=True)
class Holder:
    """A holder of the parcel (a use right or ownership), with their personal data."""

    kind: str
    name: str
    id_type: str | None
    id_number: str | None
    birth_year: int | None
    address: str | None
    share: str | None  # "1/2" when the parcel is held in common
    term: str  # "Lâu dài" or the date the use ends
    certificate_no: str | None


@dataclass(frozen=True)
class CertificateData:
    kind: ClassVar[str] = "certificate_data"
    template: ClassVar[str] = "certificate.html"
    audience: ClassVar[str] = "officer"
    parcel: Parcel
    holders: list[Holder]
    form_of_use: str
    term: str
    origin: str
    rings: list[list[drawing.Vertex]]
    edges: list[drawing.Edge]
    sketch_svg: str

    @property
    def scenario(self) -> str | None:
        return None


@dataclass(frozen=True)
class MapExtract:
    kind: ClassVar[str] = "map_extract"
    template: ClassVar[str] = "extract.html"
    parcel: Parcel
    scale: int
    map_svg: str
    neighbours: int
    holders: list[Holder] | None  # None: the public's version (no holders)

    @property
    def audience(self) -> str:
        return "public" if self.holders is None else "officer"

    @property
    def scenario(self) -> str | None:
        return None


@dataclass(frozen=True)
class ScenarioRisk:
    name: str
    description: str | None
    rain_mm: float
    duration_h: float
    drainage_mm_h: float
    risk_vi: str | None  # None: not modelled for this parcel
    risk_en: str | None
    risk_class: str | None
    max_depth_m: float | None
    mean_depth_m: float | None
    flooded_pct: float | None
    events_nearby: int | None


@dataclass(frozen=True)
class FloodStatement:
    kind: ClassVar[str] = "flood_statement"
    template: ClassVar[str] = "flood_statement.html"
    audience: ClassVar[str] = "public"
    parcel: Parcel
    scenarios: list[ScenarioRisk]
    events: list[dict]
    water: bool  # the parcel is permanent water (river, lake, pond)

    @property
    def scenario(self) -> str | None:
        return None  # every modelled scenario is stated


Document = CertificateData | MapExtract | FloodStatement
#: What makes a document of a parcel: (connection, parcel_id) -> the document.
Builder = Callable[[Connection, str], Document]


def _parcel(conn: Connection, parcel_id: str) -> tuple[parcel_db.ParcelVersion, Parcel]:
    key = parcel_db.ParcelKey.parse(parcel_id)
    if (problem := key.problem()) is not None:
        raise DataError(f"{parcel_id!r} is not a parcel id: {problem}")
    version = parcel_db.get(conn, key)  # NotFoundError when it has no current version
    use = next((t for t in land_use.types(conn) if t.code == version.land_use_code), None)
    commune = admin.commune_around(conn, version.geom)
    legal = version.area_legal_m2
    area = Decimal(str(legal if legal is not None else version.area_m2)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return version, Parcel(
        parcel_id=key.parcel_id, ward_code=key.ward_code, map_sheet=key.map_sheet, parcel_no=key.parcel_no,
        version_id=version.id, valid_from=version.valid_from, area_m2=area, area_is_legal=legal is not None,
        land_use_code=version.land_use_code, land_use_vi=use.name_vi if use else version.land_use_code,
        land_use_en=use.name_en if use else "", address=version.address, commune=commune[1] if commune else None,
        geom=version.geom)


def _term(end: dt.date | None) -> str:
    return "Lâu dài / long-term" if end is None else f"Đến {vn_date(end)} / until {end.isoformat()}"


def _holders(conn: Connection, key: parcel_db.ParcelKey) -> list[parties.RightRow]:
    return [r for r in parties.current_rights(conn, [key]) if r.kind in parties.HOLDING_KINDS]


def _holder(r: parties.RightRow, shared: bool) -> Holder:
    share = r.share if r.share is not None else None
    return Holder(kind=PARTY_KINDS.get(r.party_kind, r.party_kind), name=r.party_name,
                  id_type=ID_TYPES.get(r.id_type or "", r.id_type), id_number=r.id_number, birth_year=r.birth_year,
                  address=r.party_address, share=f"{share.numerator}/{share.denominator}" if shared and share else None,
                  term=_term(r.use_term_end), certificate_no=r.certificate_no)


def certificate(conn: Connection, parcel_id: str) -> CertificateData:
    """The certificate data sheet of the parcel's current version (names the holders: officers only)."""
    version, parcel = _parcel(conn, parcel_id)
    rights = _holders(conn, version.key)
    if not rights:
        raise NotFoundError(f"parcel {parcel.parcel_id} has no current holder: there is no certificate to state")
    shared = len(rights) > 1
    holders = [_holder(r, shared) for r in rights]
    if shared:
        total = sum((r.share for r in rights if r.share is not None), Fraction(0))
        form = "Sử dụng chung / held in common: " + "; ".join(f"{h.name} {h.share or '?'}" for h in holders)
        if total != 1:
            form += f" (tổng / total {total.numerator}/{total.denominator})"
    else:
        form = "Sử dụng riêng / held individually"
    terms = sorted({h.term for h in holders})
    changes = {c.row_id: c for c in registry.changes_of(conn, "rights", [r.id for r in rights]) if c.change == "opened"}
    origins = []
    for r in rights:
        if r.id in changes:
            c = changes[r.id]
            origins.append(f"{ORIGINS.get(c.service, c.service)} (hồ sơ {c.application_number}, "
                           f"{vn_date(c.registered_at)})")
        elif r.description:
            origins.append(r.description)
    rings, edges = drawing.vertices(version.geom)
    return CertificateData(parcel=parcel, holders=holders, form_of_use=form, term="; ".join(terms),
                           origin="; ".join(dict.fromkeys(origins)) or NOT_RECORDED, rings=rings, edges=edges,
                           sketch_svg=drawing.sketch(version.geom, rings, edges))


def extract(conn: Connection, parcel_id: str, *, scale: int | None = None, officer: bool = False) -> MapExtract:
    """The cadastral map extract at ``scale`` (or the most detailed of drawing.SCALES the parcel fits);
    with the holders when ``officer``, without them for the public."""
    version, parcel = _parcel(conn, parcel_id)
    chosen = drawing.choose_scale(version.geom, scale)
    ground = drawing.frame(version.geom, chosen)
    near = parcel_db.current_near(conn, ground, 0.0, [version.key])
    neighbours = [drawing.Neighbour(n.geom, str(n.key.parcel_no) if n.key.map_sheet == version.key.map_sheet
                                    else f"{n.key.parcel_no} (tờ {n.key.map_sheet})") for n in near]
    label = [str(parcel.parcel_no), vn_number(parcel.area_m2, 1), parcel.land_use_code]
    holders = None
    if officer:
        rights = _holders(conn, version.key)
        holders = [_holder(r, len(rights) > 1) for r in rights]
    return MapExtract(parcel=parcel, scale=chosen, map_svg=drawing.extract_map(version.geom, label, neighbours, chosen),
                      neighbours=len(near), holders=holders)


def flood_statement(conn: Connection, parcel_id: str) -> FloodStatement:
    """The parcel's modelled flood risk in every scenario, and the events recorded near it."""
    version, parcel = _parcel(conn, parcel_id)
    risk = {r["scenario"]: r for r in flood_db.risk_for_parcel(conn, parcel.parcel_id)}
    rows = []
    for s in flood_db.scenarios(conn):
        r = risk.get(s["name"])
        names = RISK_NAMES.get(r["risk_class"]) if r else None
        rows.append(ScenarioRisk(
            name=s["name"], description=s["description"], rain_mm=s["rain_mm"], duration_h=s["duration_h"],
            drainage_mm_h=s["drainage_mm_h"], risk_vi=names[0] if names else None,
            risk_en=names[1] if names else None, risk_class=r["risk_class"] if r else None,
            max_depth_m=r["max_depth_m"] if r else None, mean_depth_m=r["mean_depth_m"] if r else None,
            flooded_pct=100.0 * r["flooded_fraction"] if r else None, events_nearby=r["events_nearby"] if r else None))
    events = flood_db.events_near(conn, version.geom.wkb, EVENTS_RADIUS_M)
    return FloodStatement(parcel=parcel, scenarios=rows, events=events, water=version.land_use_code in WATER_CODES)


# --- rendering and issuing ------------------------------------------------------------------------

@dataclass(frozen=True)
class Issue:
    """What is printed about the issue itself: the number, when and by whom, the QR code."""

    number: str | None  # None: a preview
    issued_at: dt.datetime
    issued_by: str
    verify_url: str | None
    qr_svg: str | None


@dataclass(frozen=True)
class Issued:
    number: str
    kind: str
    pdf: bytes
    sha256: str
    verify_url: str


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("registry", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["vn"] = vn_number
    env.filters["vn_date"] = vn_date
    env.filters["local"] = lambda t: t.astimezone(HANOI).strftime("%d/%m/%Y %H:%M")
    return env


def html(doc: Document, issue: Issue) -> str:
    """The document's HTML (self-contained: inline SVG, no link outside it)."""
    return _templates().get_template(doc.template).render(doc=doc, issue=issue, kind=doc.kind)


def verify_url(public_url: str, number: str) -> str:
    return f"{public_url.rstrip('/')}/registry/documents/{number}"


def preview(conn: Connection, doc: Document, *, by: str) -> str:
    """The document as HTML, marked as a preview: no number, no QR code, nothing recorded."""
    return html(doc, Issue(number=None, issued_at=document_db.now(conn), issued_by=by, verify_url=None, qr_svg=None))


def issue(conn: Connection, doc: Document, *, issued_by: str, public_url: str) -> Issued:
    """Number the document, render its PDF (number, QR code and verification URL printed on it) and
    record it in ``issued_documents`` with the PDF's SHA-256, in ``conn``'s transaction: if that
    rolls back, the number is skipped (sequences do not roll back) and nothing is recorded."""
    at = document_db.now(conn)
    number = document_db.next_number(conn, doc.kind, at.astimezone(HANOI).year)
    url = verify_url(public_url, number)
    data = pdf.write_pdf(html(doc, Issue(number=number, issued_at=at, issued_by=issued_by, verify_url=url,
                                         qr_svg=pdf.qr_svg(url))))
    sha = hashlib.sha256(data).hexdigest()
    document_db.record(conn, number=number, kind=doc.kind, audience=doc.audience, version_id=doc.parcel.version_id,
                       scenario=doc.scenario, issued_by=issued_by, content_sha256=sha)
    return Issued(number=number, kind=doc.kind, pdf=data, sha256=sha, verify_url=url)


KIND_NAMES = {"certificate_data": ("Dữ liệu giấy chứng nhận quyền sử dụng đất", "Certificate data sheet"),
              "map_extract": ("Trích lục bản đồ địa chính", "Cadastral map extract"),
              "flood_statement": ("Thông tin nguy cơ ngập úng", "Flood-risk statement")}


def verify(conn: Connection, number: str) -> document_db.IssuedDocument:
    """The issued document with this number (NotFoundError when none was issued with it)."""
    found = document_db.get(conn, number.strip()) if len(number) <= 40 else None
    if found is None:
        raise NotFoundError(f"no document numbered {number[:40]!r} was issued by this registry: check the number "
                            "printed on it (as TL-2026-000045)")
    return found


def verification(found: document_db.IssuedDocument, *, officer: bool) -> dict[str, object]:
    """What the verification page states of an issued document: never a holder; the issuing officer
    only for officers."""
    vi, en = KIND_NAMES[found.kind]
    out: dict[str, object] = {
        "number": found.number, "kind": found.kind, "title": {"vi": vi, "en": en}, "parcel_id": found.parcel_id,
        "parcel_version": found.version_id, "parcel_version_valid_from": found.version_valid_from.isoformat(),
        "parcel_changed_since": found.version_valid_to.isoformat() if found.version_valid_to else None,
        "audience": found.audience, "issued_at": found.issued_at.isoformat(), "sha256": found.content_sha256}
    if officer:
        out["issued_by"] = found.issued_by
    return out


def verification_html(found: document_db.IssuedDocument, *, officer: bool) -> str:
    vi, en = KIND_NAMES[found.kind]
    return _templates().get_template("verification.html").render(d=found, officer=officer, kind_vi=vi, kind_en=en)
