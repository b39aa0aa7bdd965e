"""Benchmark: peak memory of ``flarecast data info`` on a 2 GB CSV table (read in chunks).

Usage::

    python benchmarks/bench_memory.py [--size-gb 2] [--folder /tmp] [--keep] [--write]

Writes a SYNTHETIC canonical CSV table of ``--size-gb`` GB (time, noaa_ar,
harpnum, goes_class, LON_FWT, LAT_FWT and 20 SHARP-like features, about 8
million rows, no duplicate rows, 0.1 % rows with a missing feature) into
``--folder`` after checking its free space, runs ``flarecast data info FILE
--json`` in a fresh interpreter and reads that process's own peak resident
memory (``VmHWM`` from ``/proc/self/status``; ``ru_maxrss`` would include the
parent's, which the child inherits at exec). For contrast, it measures a
full read (``read_table``) of the file's first 100 MB the same way. The CSV
is deleted afterwards unless ``--keep``. With ``--write`` the figures and the
machine go under "## Memory" in ``benchmarks/RESULTS.md`` (that section only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FEATURES = ("USFLUX", "TOTUSJZ", "TOTUSJH", "ABSNJZH", "SAVNCPP", "TOTPOT", "MEANPOT", "AREA_ACR",
            "MEANGAM", "MEANGBT", "MEANGBZ", "MEANGBH", "MEANJZD", "MEANALP", "MEANJZH", "MEANSHR",
            "SHRGT45", "R_VALUE", "TOTBSQ", "TOTFZ")  # fmt: skip
ROWS_PER_BLOCK = 200_000
# The child reports its own peak RSS however it ends (click exits through SystemExit).
CHILD = """
import re, sys
try:
    if sys.argv[1] == "info":
        from flarecast.cli import main
        main(args=["data", "info", sys.argv[2], "--json"], prog_name="flarecast")
    else:
        from flarecast.data.tables.read import read_table
        read_table(sys.argv[2], max_bytes="none")
finally:
    status = open("/proc/self/status").read()
    sys.stderr.write("\\nVmHWM_KB " + re.search(r"VmHWM:\\s+(\\d+)", status).group(1) + "\\n")
"""


def block(rng: np.random.Generator, start: int, n: int) -> str:
    """``n`` CSV lines; every row has its own time (12 min apart), so no two rows are equal."""
    t = pd.Timestamp("2010-05-01", tz="UTC") + pd.to_timedelta(
        (start + np.arange(n)) * 720, unit="s"
    )
    times = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    ar = rng.integers(11000, 13000, n)
    flux = 10 ** rng.uniform(-7.5, -3.3, n)
    letters = np.array(list("ABCMX"))[np.clip(np.floor(np.log10(flux)).astype(int) + 8, 0, 4)]
    mags = np.floor(flux / 10.0 ** np.floor(np.log10(flux)) * 10) / 10
    classes = np.char.add(letters, np.char.mod("%.1f", mags))
    classes[rng.random(n) < 0.6] = "N"
    feats = rng.lognormal(20, 3, size=(n, len(FEATURES)))
    text = np.char.mod("%.6g", feats)
    text[rng.random(n) < 0.001, 3] = ""  # a few missing values: the policy is exercised
    rest = [",".join(row) for row in text]
    lon = np.char.mod("%.3f", rng.uniform(-70, 70, n))
    lat = np.char.mod("%.3f", rng.uniform(-35, 35, n))
    lines = [
        f"{a},{b},{b - 7000},{c},{d},{e},{f}"
        for a, b, c, d, e, f in zip(times, ar, classes, lon, lat, rest, strict=True)
    ]
    return "\n".join(lines) + "\n"


def write_csv(path: Path, size: int) -> int:
    rng = np.random.default_rng(0)
    rows = 0
    with open(path, "w") as fh:
        fh.write("time,noaa_ar,harpnum,goes_class,LON_FWT,LAT_FWT," + ",".join(FEATURES) + "\n")
        while fh.tell() < size:
            fh.write(block(rng, rows, ROWS_PER_BLOCK))
            rows += ROWS_PER_BLOCK
    return rows


def peak(mode: str, path: Path) -> tuple[float, float, str]:
    """(peak RSS in MB, wall seconds, stdout) of a fresh interpreter doing ``mode`` on ``path``."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path)], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    match = re.search(r"VmHWM_KB (\d+)", done.stderr)
    if done.returncode or not match:
        raise SystemExit(f"{mode} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(match.group(1)) / 1024, wall, done.stdout


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1).strip() if found else cpu
    ram = ""
    if Path("/proc/meminfo").exists():
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f", {kb / 2**20:.0f} GiB RAM"
    return (
        f"{platform.machine()} {cpu}, {os.cpu_count()} CPUs visible{ram}, {platform.system()}; "
        f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}; "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


def write_results(section: str) -> None:
    """Replace (or add) the "## Memory" section of RESULTS.md, leaving the others alone."""
    from flarecast.io import atomic_open

    results = Path(__file__).with_name("RESULTS.md")
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    pattern = re.compile(r"^## Memory\n.*?(?=^## |\Z)", re.S | re.M)
    body = section.rstrip() + "\n\n"
    text = (
        pattern.sub(lambda _: body, text) if pattern.search(text) else text.rstrip() + "\n\n" + body
    )
    with atomic_open(results) as fh:
        fh.write(text.rstrip() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--keep", action="store_true", help="keep the CSV")
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS.md")
    args = parser.parse_args()
    if not Path("/proc/self/status").exists():
        raise SystemExit("needs Linux /proc to read a process's own peak memory")
    size = int(args.size_gb * 1e9)
    free = shutil.disk_usage(args.folder).free
    if free < 1.5 * size:
        raise SystemExit(
            f"{args.folder} has {free / 1e9:.1f} GB free; need {1.5 * size / 1e9:.1f} GB"
        )
    path = args.folder / f"flarecast_bench_memory_{os.getpid()}.csv"
    part = args.folder / f"flarecast_bench_memory_{os.getpid()}_100MB.csv"
    tiny = args.folder / f"flarecast_bench_memory_{os.getpid()}_1row.csv"
    try:
        t0 = time.perf_counter()
        rows = write_csv(path, size)
        actual = path.stat().st_size
        print(
            f"wrote {actual / 1e9:.2f} GB, {rows:,} rows in {time.perf_counter() - t0:.0f} s: {path}"
        )
        with open(path, "rb") as src, open(part, "wb") as dst:
            dst.write(src.read(100_000_000).rsplit(b"\n", 1)[0] + b"\n")
        info_mb, info_s, out = peak("info", path)
        summary = json.loads(out)
        full_mb, full_s, _ = peak("full", part)
        with open(part, "rb") as src, open(tiny, "wb") as dst:
            dst.write(src.readline() + src.readline())
        base_mb, _, _ = peak("info", tiny)
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
        part.unlink(missing_ok=True)
        tiny.unlink(missing_ok=True)
    lines = [
        f"file: {actual / 1e9:.2f} GB SYNTHETIC canonical CSV, {rows:,} rows x 26 columns",
        f"flarecast data info --json: peak RSS {info_mb:,.0f} MB, {info_s:.0f} s "
        f"({actual / 1e6 / info_s:.0f} MB/s); rows kept {summary['rows']:,}",
        f"same command on a 1-row CSV (interpreter + imports): peak RSS {base_mb:,.0f} MB",
        f"full read (read_table) of the first 100 MB: peak RSS {full_mb:,.0f} MB, {full_s:.1f} s",
        f"above the imports: streaming {info_mb - base_mb:,.0f} MB for the whole file; a full read "
        f"{(full_mb - base_mb) / 100:.1f} MB per MB of CSV",
        f"machine: {machine()}",
    ]
    print("\n".join(lines))
    if args.write:
        write_results(
            "## Memory\n\n"
            f"`python benchmarks/bench_memory.py --write` ({time.strftime('%Y-%m-%d')}, flarecast "
            "0.1.0). `flarecast data info` reads a CSV table in chunks of 50,000 rows; peak resident "
            "memory of the whole process (`VmHWM`, imports included), fresh interpreter per command.\n\n"
            "```\n" + "\n".join(lines) + "\n```\n"
        )


if __name__ == "__main__":
    main()
