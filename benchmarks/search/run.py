"""Officer search on 1,000,000 parcels: landflood's indexed search against the naive ILIKE scan.

    .venv/bin/python benchmarks/search/run.py [--parcels 1000000] [--queries 200] [--fresh]

A throwaway database, landflood_bench_search, in the managed cluster (or next to
LANDFLOOD_DATABASE_URL) is migrated and filled directly (COPY, triggers off: it is only read):
parcels on cadastral sheets of the 115 old communes of the sample city, with addresses on its real
streets ("Số 12 ngõ 34 phố Hàng Bạc, Phường Hàng Bạc"), and one holder each, with Vietnamese names
and CCCD numbers from the sample's generator (``etl.sample.people``: Nguyễn ~38 %, so names
share most of their trigrams, as in a real register). It is kept for later runs (--fresh
rebuilds it).

Then ``--queries`` searches of each kind, as an officer types them, are timed one by one:

- **name**: a holder's full name without diacritics, in lower case ("nguyen van an");
- **address**: the house and street of an address, without diacritics ("so 12 ngo 34 pho hang bac");
- **ID number**: a holder's 12-digit CCCD.

landflood's ``landdb.search.search(conn, q, include_people=True)`` (the hits with their holders)
against the peer: the query people write without an index for it, ``lower(column) ILIKE
'%' || lower(q) || '%'`` joined to the current parcels, LIMIT 20 — a sequential scan. The peer
gets the text with its diacritics (else it finds nothing: it has no folding), so it does the
work of finding; its hit counts for the text without diacritics are reported too.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.common import describe_machine, machine_load, save_results  # noqa: E402
from landdb.database import ensure_database  # noqa: E402
from landdb.migrate import upgrade  # noqa: E402
from landdb.search import fold, search  # noqa: E402
from landflood.settings import Settings  # noqa: E402

DB = "landflood_bench_search"
TABLES = ("map_sheets", "parcels", "parcel_versions", "parties", "rights")
PER_SHEET = 400  # parcels of one cadastral sheet

NAIVE = {
    "name": """SELECT v.parcel_id FROM parties p
               JOIN rights r ON r.party_id = p.id AND r.valid_to IS NULL
               JOIN parcel_versions v ON v.parcel_key = r.parcel_key AND v.valid_to IS NULL
               WHERE lower(p.full_name) ILIKE '%' || lower(:q) || '%' ORDER BY v.parcel_id LIMIT 20""",
    "address": """SELECT v.parcel_id FROM parcel_versions v
                  WHERE v.valid_to IS NULL AND lower(v.address) ILIKE '%' || lower(:q) || '%'
                  ORDER BY v.parcel_id LIMIT 20""",
    "id_number": """SELECT v.parcel_id FROM parties p
                    JOIN rights r ON r.party_id = p.id AND r.valid_to IS NULL
                    JOIN parcel_versions v ON v.parcel_key = r.parcel_key AND v.valid_to IS NULL
                    WHERE p.id_number ILIKE '%' || :q || '%' ORDER BY v.parcel_id LIMIT 20""",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200, help="searches of each kind")
    ap.add_argument("--fresh", action="store_true", help="rebuild the benchmark database")
    args = ap.parse_args()
    settings = Settings()
    server = ensure_database(settings)
    url = make_url(server).set(database=DB).render_as_string(hide_password=False)
    if args.fresh or _parcels(server, url) != args.parcels:
        _build(server, url, args.parcels)
    machine = describe_machine(server)
    engine = create_engine(url)
    with engine.connect() as conn:
        cases = _cases(conn, args.queries)
        plans = {kind: _plan(conn, cases[kind][0][0]) for kind in ("name", "address")}
        print(f"load average before the runs: {machine_load()}", flush=True)
        kinds = {kind: _measure(conn, kind, cases[kind]) for kind in ("name", "address", "id_number")}
    engine.dispose()
    result = {"parcels": args.parcels, "queries_per_kind": args.queries, "machine": machine,
              "load_average_after": machine_load(), "kinds": kinds, "plans": plans}
    out_dir = settings.var_dir / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = save_results(out_dir, "search", result)
    print(_markdown(result))
    print(f"\nresults: {saved}")


# --- the data ---------------------------------------------------------------------------------------

def _parcels(server: str, url: str) -> int | None:
    admin = create_engine(server)
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB}).first()
    admin.dispose()
    if not exists:
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM parcel_versions")).scalar() or 0)
    except Exception:  # a half-built database: rebuild it
        return None
    finally:
        engine.dispose()


def _build(server: str, url: str, n: int) -> None:
    from etl.sample import places
    from etl.sample.people import People

    started = time.perf_counter()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB}"'))
    admin.dispose()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist"))
    engine.dispose()
    upgrade(url)
    print(f"generating {n:,} parcels and their holders", flush=True)
    rng = np.random.default_rng(20251209)
    communes = places.old_communes()
    streets = [f"{s.kind} {s.name}" for s in places.streets()]
    owners = People(seed=7).persons(n, rng)
    house, lane = rng.integers(1, 200, n), rng.integers(0, 120, n)
    street = rng.integers(0, len(streets), n)
    sheets: set[tuple[str, int]] = set()
    parcel_rows, version_rows, party_rows, right_rows = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
    party_ids: dict[str, int] = {}
    for i in range(n):
        commune = communes[i % len(communes)]
        k = i // len(communes)
        sheet, number = 1 + k // PER_SHEET, 1 + k % PER_SHEET
        sheets.add((commune.code, sheet))
        addr = (f"Số {house[i]}{f' ngõ {lane[i]}' if lane[i] else ''} {streets[street[i]]}, {commune.name}")
        x, y = 500000 + (i % 1000) * 20.0, 2300000 + (i // 1000) * 20.0
        geom = f"SRID=5897;MULTIPOLYGON((({x} {y},{x + 18} {y},{x + 18} {y + 18},{x} {y + 18},{x} {y})))"
        parcel_rows.write(f"{commune.code}\t{sheet}\t{number}\n")
        version_rows.write(f"{commune.code}\t{sheet}\t{number}\tODT\t{addr}\t{commune.code}\t2024-01-01\t{geom}\n")
        name, cccd, year = owners[i]
        pid = party_ids.get(cccd)
        if pid is None:
            pid = party_ids[cccd] = len(party_ids) + 1
            party_rows.write(f"{pid}\tperson\t{name}\tCCCD\t{cccd}\t{year}\n")
        right_rows.write(f"{commune.code}\t{sheet}\t{number}\t{pid}\tuse_right\tCS {100000 + i}\t2024-01-01\n")
    sheet_rows = "".join(f"{w}\t{s}\n" for w, s in sorted(sheets))
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers, no FK checks
        conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
        indexes = conn.execute(text("""
            SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i
            WHERE indrelid::regclass::text = ANY(:tables) AND NOT indisprimary"""), {"tables": list(TABLES)}).all()
        constrained = set(conn.execute(text("SELECT conindid::regclass::text FROM pg_constraint "
                                            "WHERE conindid <> 0")).scalars())
        dropped = [(name, ddl) for name, ddl in indexes if name not in constrained]
        for name, _ in dropped:
            conn.execute(text(f"DROP INDEX {name}"))
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            for table, cols, buf in (
                    ("map_sheets", "ward_code, sheet_no", io.StringIO(sheet_rows)),
                    ("parcels", "ward_code, map_sheet, parcel_no", parcel_rows),
                    ("parcel_versions", "ward_code, map_sheet, parcel_no, land_use_code, address, commune_code, "
                                        "valid_from, geom", version_rows),
                    ("parties", "id, kind, full_name, id_type, id_number, birth_year", party_rows),
                    ("rights", "ward_code, map_sheet, parcel_no, party_id, kind, certificate_no, valid_from",
                     right_rows)):
                print(f"  COPY {table}", flush=True)
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    copy.write(buf.getvalue())
        print(f"  re-creating {len(dropped)} indexes", flush=True)
        for _, ddl in dropped:
            conn.execute(text(ddl))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('parties', 'id'), (SELECT max(id) FROM parties))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


# --- the runs ----------------------------------------------------------------------------------------

def _cases(conn: Connection, count: int) -> dict[str, list[tuple[str, str]]]:
    """(what landflood is asked, what the peer is asked) for each kind, drawn at random but the
    same each run."""
    conn.execute(text("SELECT setseed(0.42)"))
    people = conn.execute(text("SELECT full_name, id_number FROM parties ORDER BY random() LIMIT :n"),
                          {"n": count}).all()
    addresses = conn.execute(text("SELECT split_part(address, ',', 1) FROM parcel_versions "
                                  "ORDER BY random() LIMIT :n"), {"n": count}).scalars().all()
    conn.rollback()
    return {"name": [(fold(p.full_name), p.full_name) for p in people],
            "address": [(fold(a), a) for a in addresses],
            "id_number": [(p.id_number, p.id_number) for p in people]}


def _plan(conn: Connection, q: str) -> list[str]:
    """The plans of landflood's statements for ``q`` (as the database chooses them at this size)."""
    from sqlalchemy import event

    seen: list[tuple[str, dict]] = []

    def grab(_c, _cur, statement, parameters, _ctx, _many) -> None:
        seen.append((statement, parameters))
    event.listen(conn, "before_cursor_execute", grab)
    search(conn, q, include_people=True)
    event.remove(conn, "before_cursor_execute", grab)
    out = []
    for statement, params in seen:
        out += [r[0] for r in conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + statement, params)]
        out.append("")
    conn.rollback()
    return [line for line in out if "Scan" in line or "Execution Time" in line]


def _timed(fn) -> tuple[float, int]:
    t = time.perf_counter()
    n = fn()
    return (time.perf_counter() - t) * 1000, n


def _measure(conn: Connection, kind: str, cases: list[tuple[str, str]]) -> dict:
    print(f"{kind}: {len(cases)} searches each; load average {machine_load()}", flush=True)
    for ours, theirs in cases[:3]:  # warm the caches for both
        search(conn, ours, include_people=True)
        conn.execute(text(NAIVE[kind]), {"q": theirs}).all()
        conn.rollback()
    mine, peer, found, peer_found, peer_plain = [], [], 0, 0, 0
    for ours, theirs in cases:
        ms, hits = _timed(lambda q=ours: len(search(conn, q, include_people=True)))
        conn.rollback()
        mine.append(ms)
        found += hits > 0
        ms, hits = _timed(lambda q=theirs: len(conn.execute(text(NAIVE[kind]), {"q": q}).all()))
        conn.rollback()
        peer.append(ms)
        peer_found += hits > 0
    for ours, _ in cases[:20]:  # what the peer finds with the text as the officer typed it
        peer_plain += len(conn.execute(text(NAIVE[kind]), {"q": ours}).all()) > 0
        conn.rollback()
    return {"landflood_ms": _percentiles(mine), "naive_ms": _percentiles(peer),
            "landflood_found": f"{found}/{len(cases)}", "naive_found": f"{peer_found}/{len(cases)}",
            "naive_found_without_diacritics": f"{peer_plain}/20",
            "example": cases[0][0]}


def _percentiles(ms: list[float]) -> dict:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": round(q[49], 1), "p99": round(q[98], 1), "mean": round(statistics.fmean(ms), 1),
            "max": round(max(ms), 1)}


def _markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"{r['parcels']:,} parcels, {r['queries_per_kind']} searches of each kind; {m['nproc']} cores, "
             f"{m['cpu']}, PostgreSQL {m['postgresql']}, shared_buffers {m['shared_buffers']}; load average "
             f"{m['load_average_before']} before, {r['load_average_after']} after", "",
             "| search | landflood p50 | p99 | naive ILIKE p50 | p99 | p50 ratio | p99 ratio | found (landflood / "
             "naive; naive without diacritics) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for kind, k in r["kinds"].items():
        a, b = k["landflood_ms"], k["naive_ms"]
        lines.append(f"| {kind} (`{k['example']}`) | {a['p50']} ms | {a['p99']} ms | {b['p50']} ms | {b['p99']} ms | "
                     f"{b['p50'] / a['p50']:.0f}× | {b['p99'] / a['p99']:.0f}× | {k['landflood_found']} / "
                     f"{k['naive_found']}; {k['naive_found_without_diacritics']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
