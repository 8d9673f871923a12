"""The benchmark's results: the machine, the summary JSON and the Markdown table."""

from __future__ import annotations

import datetime as dt
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from servers import (  # also puts the repository on sys.path
    DB_NAME,
    FEATURE_SCENARIOS,
    SCENARIOS,
    SERVERS,
    VIEW,
    path_for,
)

from benchmarks import common  # noqa: E402


def verification_text(v: dict) -> str:
    lines = ["verification (before timing):"]
    for row in v["bbox"] + v["cql2-bbox"]:
        lines.append(f"  bbox {row['bbox']}: database {row['database']}, "
                     + ", ".join(f"{n} matched {row[n]['matched']} returned {row[n]['returned']}"
                                 for n in SERVERS if n in row))
    for row in v["item"]:
        lines.append(f"  item {row['id']}: " + ", ".join(
            f"{n} {row.get(f'{n}_offset_m')} m from landflood's first vertex" for n in SERVERS if n in row))
    for row in v["tiles"]:
        lines.append(f"  tile {row['tile']}: " + ", ".join(
            f"{n} {row[n]['status']} {row[n]['bytes']} bytes" for n in ("landflood", "tipg")))
    lines += [f"  PROBLEM: {p}" for p in v["problems"]] or ["  all consistent"]
    return "\n".join(lines)


def describe_machine(server: str, tipg_py: Path, pygeoapi_py: Path) -> dict:
    """The machine (benchmarks.common) and the versions of the servers and of wrk."""
    def version(python: Path, dist: str) -> str:
        return subprocess.run([str(python), "-c", f"from importlib.metadata import version; print(version('{dist}'))"],
                              capture_output=True, text=True).stdout.strip()

    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {**common.describe_machine(server), "tipg": version(tipg_py, "tipg"),
            "uvicorn": version(tipg_py, "uvicorn"), "pygeoapi": version(pygeoapi_py, "pygeoapi"),
            "gunicorn": metadata.version("gunicorn"), "flask": metadata.version("flask"),
            "wrk": ((wrk.stdout + wrk.stderr).strip().splitlines() or [""])[0]}


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2) if a and b else None


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def summary(args, machine: dict, scenarios: list[str], verification: dict, runs: list[dict],
             sequential: dict, sql: dict, urls: dict) -> dict:
    table: dict = {}
    for scenario in scenarios:
        for name in SCENARIOS[scenario][1]:
            mine = [r for r in runs if r["scenario"] == scenario and r["server"] == name]
            responses = max(1, sum(r["requests"] for r in mine))
            table.setdefault(scenario, {})[name] = {
                "rps": _median([r["rps"] for r in mine]),
                "p50_ms": _median([r["p50_us"] / 1000 for r in mine]),
                "p99_ms": _median([r["p99_us"] / 1000 for r in mine]),
                "errors": sum(r["errors"] for r in mine),
                "kib_per_response": round(sum(r["bytes"] for r in mine) / responses / 1024, 1),
            }
        t = table[scenario]
        t["ratio_rps_landflood_tipg"] = _ratio(t["landflood"]["rps"], t["tipg"]["rps"])
        t["ratio_p99_landflood_tipg"] = _ratio(t["landflood"]["p99_ms"], t["tipg"]["p99_ms"])
        if "pygeoapi" in t:
            t["ratio_rps_landflood_pygeoapi"] = _ratio(t["landflood"]["rps"], t["pygeoapi"]["rps"])
    goals = {}
    for scenario in scenarios:
        t = table[scenario]
        if scenario in FEATURE_SCENARIOS:
            goals[scenario] = (t["ratio_rps_landflood_tipg"] or 0) >= 2 and (t["ratio_p99_landflood_tipg"] or 9) <= 0.5
        else:
            goals[scenario] = (t["ratio_rps_landflood_tipg"] or 0) >= 1
    return {
        "when": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "benchmarks/api/run.py " + " ".join(sys.argv[1:]),
        "parcels": args.parcels, "database": DB_NAME, "view_for_peers": VIEW,
        "settings": {"duration_s": args.duration, "warmup_s": args.warmup, "rounds": args.rounds,
                     "clients": args.clients, "workers": args.workers, "threads": args.threads,
                     "load_generator": "wrk (Debian), Lua script rotating over a fixed URL list, keep-alive",
                     "servers": {
                         "landflood": f"gunicorn -w {args.workers} --threads {args.threads} "
                                      "'landflood.app:create_app()'",
                         "tipg": f"uvicorn tipg.main:app --workers {args.workers} (uvloop, httptools)",
                         "pygeoapi": f"gunicorn -w {args.workers} --threads {args.threads} pygeoapi.flask_app:APP "
                                     "(provider PostgreSQL = pygeoapi.provider.sql.PostgreSQLProvider)"}},
        "machine": {**machine, "load_average_after": common.machine_load()},
        "urls_per_scenario": {s: len(urls[s]) for s in scenarios},
        "example_paths": {s: {n: path_for(n, urls[s][0]) for n in SCENARIOS[s][1]} for s in scenarios},
        "verification": verification,
        "results": table, "goals_met": goals,
        "sequential_p50_ms": sequential, "sql_landflood": sql,
        "runs": runs,
    }


def markdown(r: dict) -> str:
    m, s = r["machine"], r["settings"]
    lines = [
        f"{r['parcels']:,} parcels, {r['when']}; {m['nproc']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, load average "
        f"{m['load_average_before']} before, {m['load_average_after']} after; PostgreSQL {m['postgresql']}, "
        f"PostGIS {m['postgis']}, shared_buffers {m['shared_buffers']}; tipg {m['tipg']} (uvicorn {m['uvicorn']}), "
        f"pygeoapi {m['pygeoapi']}, gunicorn {m['gunicorn']}; {m['wrk']}",
        f"{s['clients']} keep-alive connections (wrk), {s['workers']} worker processes per server "
        f"(gunicorn with {s['threads']} threads each for landflood and pygeoapi; uvicorn for tipg); "
        f"{s['warmup_s']} s warm-up + {s['duration_s']} s per run, {s['rounds']} rounds interleaved, medians.",
        "",
        "| scenario | server | req/s | p50 ms | p99 ms | errors | KiB/resp | req/s ÷ tipg | p99 ÷ tipg |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario, t in r["results"].items():
        for name in SERVERS:
            if name not in t:
                continue
            x = t[name]
            ratio = (f"**{t['ratio_rps_landflood_tipg']}** | **{t['ratio_p99_landflood_tipg']}**"
                     if name == "landflood" else " | ")
            lines.append(f"| {scenario} | {name} | {x['rps']:,.1f} | {x['p50_ms']:.1f} | {x['p99_ms']:.1f} | "
                         f"{x['errors']} | {x['kib_per_response']:.1f} | {ratio} |")
    lines += ["", "One request at a time (median ms): each server over HTTP, and the SQL landflood sends "
              "for the same requests run directly in PostgreSQL.", "",
              "| scenario | SQL (landflood's statements) | landflood HTTP | landflood overhead "
              "| tipg HTTP | pygeoapi HTTP |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for scenario, seq in r["sequential_p50_ms"].items():
        sql = r["sql_landflood"][scenario]["median_ms"]
        lines.append(f"| {scenario} | {sql:.1f} ({r['sql_landflood'][scenario]['statements_per_request']} statements) "
                     f"| {seq['landflood']:.1f} | {seq['landflood'] - sql:.1f} | {seq['tipg']:.1f} | "
                     f"{seq.get('pygeoapi', float('nan')):.1f} |")
    met = [k for k, v in r["goals_met"].items() if v]
    missed = [k for k, v in r["goals_met"].items() if not v]
    lines += ["", f"goal (features: ≥ 2× tipg req/s and p99 ≤ ½ tipg's; tiles: ≥ tipg req/s): met for "
              f"{', '.join(met) or 'none'}; missed for {', '.join(missed) or 'none'}"
              + ("" if r["verification"]["ok"] else " — NOT VERIFIED")]
    return "\n".join(lines)
