"""Depression filling: landflood's priority-flood against pysheds (and RichDEM) on synthetic DEMs.

    .venv/bin/python benchmarks/flood/run.py [--sizes 1000 4000 10000] [--rounds 1]

The other tools live in their own virtualenv, var/bench/flood-tools (created on first use with
pip from PyPI: pysheds, and py-richdem, RichDEM's binary wheel); they are never project
dependencies. Each tool runs in a subprocess on the same float32 DEM (a .npy file) and only
the filling call is timed; the results are compared with landflood's cell by cell.

The DEMs (cached under var/bench/flood/) are synthetic but shaped like a city's: gentle
relief of a few metres at kilometre scale, 0.5 m features at 50-cell scale and 2 cm noise,
so there are many small depressions and a few large ones, as on a 5 m city DEM.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH = ROOT / "var" / "bench"
TOOLS = BENCH / "flood-tools"
TOOL_PACKAGES = {"pysheds": "pysheds", "richdem": "py-richdem"}

_RUNNER = r"""
import json, sys, time
import numpy as np
tool, src, dst = sys.argv[1:4]
z = np.load(src)
if tool == "pysheds":
    from affine import Affine
    from pyproj import Proj
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder
    vf = ViewFinder(affine=Affine(5, 0, 0, 0, -5, 5 * z.shape[0]), shape=z.shape, nodata=np.float32(-9999),
                    crs=Proj("EPSG:5897"))
    raster = Raster(z, viewfinder=vf)
    grid = Grid.from_raster(raster)
    t = time.perf_counter()
    out = grid.fill_depressions(raster)
    seconds = time.perf_counter() - t
else:
    import richdem as rd
    r = rd.rdarray(z, no_data=-9999.0)
    r.geotransform = [0, 5, 0, 5 * z.shape[0], 0, -5]
    t = time.perf_counter()
    out = rd.FillDepressions(r, epsilon=False, in_place=False)
    seconds = time.perf_counter() - t
np.save(dst, np.asarray(out, np.float32))
print("RESULT " + json.dumps({"seconds": seconds}))
"""


def synthetic(n: int, seed: int = 1) -> np.ndarray:
    """A city-like DEM of n × n cells (see the module docstring)."""
    rng = np.random.default_rng(seed)
    z = np.full((n, n), 8.0, np.float32)
    for cells, amp in ((max(4, n // 400), 3.0), (max(4, n // 50), 0.5)):
        coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
        z += amp * ndimage.zoom(coarse, n / (cells + 1), order=1)[:n, :n]
    z += rng.normal(0, 0.02, (n, n)).astype(np.float32)
    return z


def dem_file(n: int) -> Path:
    path = BENCH / "flood" / f"dem-{n}.npy"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, synthetic(n))
    return path


def ensure_tools() -> dict[str, str]:
    """The tools that installed: name -> their virtualenv's python (or the reason they did not)."""
    py = TOOLS / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
    out = {}
    for tool, package in TOOL_PACKAGES.items():
        probe = subprocess.run([str(py), "-c", f"import {tool}"], capture_output=True)
        if probe.returncode != 0:
            print(f"installing {package} into {TOOLS}")
            done = subprocess.run([str(py), "-m", "pip", "install", "-q", package], capture_output=True, text=True)
            if done.returncode != 0:
                out[tool] = "not installable: " + (done.stderr.strip().splitlines() or ["?"])[-1]
                continue
        out[tool] = str(py)
    return out


def run_tool(py: str, tool: str, src: Path) -> tuple[float, np.ndarray]:
    dst = src.with_name(f"{src.stem}-{tool}.npy")
    done = subprocess.run([py, "-c", _RUNNER, tool, str(src), str(dst)], capture_output=True, text=True)
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode != 0 or not line:
        raise RuntimeError(f"{tool} failed: {done.stderr.strip()[-500:]}")
    out = np.load(dst)
    dst.unlink()
    return json.loads(line[0][7:])["seconds"], out


def run_landflood(src: Path) -> tuple[float, np.ndarray]:
    from flood.fill import fill_depressions

    fill_depressions(np.zeros((8, 8), np.float32))  # compile (cached after the first run)
    z = np.load(src)
    t = time.perf_counter()
    out = fill_depressions(z)
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 10000])
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    tools = ensure_tools()
    rows = []
    for n in args.sizes:
        src = dem_file(n)
        best: dict[str, float] = {}
        ours = None
        for _ in range(args.rounds):
            sec, ours = run_landflood(src)
            best["landflood"] = min(best.get("landflood", np.inf), sec)
            for tool, py in tools.items():
                if py.startswith("not installable"):
                    continue
                sec, theirs = run_tool(py, tool, src)
                best[tool] = min(best.get(tool, np.inf), sec)
                diff = float(np.nanmax(np.abs(theirs.astype(np.float64) - ours)))
                best[f"{tool}_max_abs_diff_m"] = diff
        raised = int((ours > np.load(src)).sum())
        row = {"size": n, "cells": n * n, "raised_cells": raised, **best}
        rows.append(row)
        print(_line(row), flush=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = BENCH / f"flood-{stamp}.json"
    load = os.getloadavg()
    out.write_text(json.dumps({"rows": rows, "tools": tools, "loadavg": load, "cpus": os.cpu_count()}, indent=2))
    print("\n| DEM | cells | tool | seconds | cells/s | landflood speed-up |"
          "\n| --- | ---: | --- | ---: | ---: | ---: |")
    for r in rows:
        for tool in ["landflood", *[t for t in TOOL_PACKAGES if t in r]]:
            sec = r[tool]
            ratio = "" if tool == "landflood" else f"{sec / r['landflood']:.1f}×"
            print(f"| {r['size']:,}² | {r['cells']:,} | {tool} | {sec:.2f} | {r['cells'] / sec:,.0f} | {ratio} |")
    print(f"\nwritten {out} (load average {load[0]:.2f})")


def _line(row: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items())


if __name__ == "__main__":
    main()
