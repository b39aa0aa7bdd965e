"""Benchmark: ``flarecast data info`` on an 86 MB canonical CSV against plain pandas and pyarrow reads.

Usage::

    FLARECAST_DATA_DIR=../shared/data python benchmarks/bench_read.py [--mb 86] [--repeats 3] [--write]

Builds a canonical CSV table of about ``--mb`` MB by repeating the real
Michigan ``umich-24h`` table (8,991 rows, 26 columns, times written with
``Z``) end to end, so every row has a duplicate (the worst case for the
duplicate policy). Then, side by side in one run and ``--repeats`` times each
(alternating, best wall and CPU time kept; CPU time counts every thread of the process,
so it shows the work done even when a busy machine makes wall times noisy):

- ``pyarrow``: ``pyarrow.csv.read_csv(path)`` (type inference, all threads);
- ``pandas``: ``pandas.read_csv(path, parse_dates=["time"])`` (C parser);
- ``flarecast``: ``summarize_csv`` (what ``flarecast data info FILE`` runs on a
  CSV: every column parsed and checked, the policies applied, in bounded memory)
  and ``read_table`` (the whole table read into a Dataset);
- ``sha256``: the file's checksum alone, which ``data info`` reports (computed in a
  thread beside the parsing) and a plain read does not compute;
- with ``--baseline-src DIR``, ``summarize_csv`` of another source tree (an
  older flarecast), in a subprocess;
- the peak memory of ``flarecast data info FILE --json`` in a fresh interpreter
  (``VmHWM``, as in ``bench_memory.py``).

With ``--write`` the figures and the machine go under "## Reading speed" in
``benchmarks/RESULTS.md`` (that section only).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTION = "## Reading speed"
_CHILD = (
    "import re, sys\n"
    "from flarecast.cli import main\n"
    "try:\n"
    "    main(['data', 'info', sys.argv[1], '--json'], standalone_mode=False)\n"
    "finally:\n"
    "    status = open('/proc/self/status').read()\n"
    "    sys.stderr.write('VmHWM ' + re.search(r'VmHWM:\\s+(\\d+)', status).group(1) + '\\n')\n"
)


def build(path: Path, megabytes: float) -> int:
    """Write the table; returns its number of data rows."""
    from flarecast.data.tables.read import load_dataset

    frame = load_dataset("umich-24h").frame.copy()
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame["noaa_ar"] = frame["noaa_ar"].astype("int64")
    text = frame.to_csv(index=False)
    header, body = text.split("\n", 1)
    copies = max(1, round(megabytes * 1e6 / len(body)))
    with open(path, "w") as fh:
        fh.write(header + "\n")
        for _ in range(copies):
            fh.write(body)
    return copies * len(frame)


def timed(func) -> tuple[float, float]:
    """Wall seconds and CPU seconds (all threads of this process) of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - t0, time.process_time() - c0


_BASELINE = (
    "import sys, time\n"
    "from flarecast.data.tables.summary import summarize_csv\n"
    "best = []\n"
    "for _ in range(int(sys.argv[2])):\n"
    "    t0, c0 = time.perf_counter(), time.process_time()\n"
    "    summarize_csv(sys.argv[1])\n"
    "    best.append((time.perf_counter() - t0, time.process_time() - c0))\n"
    "print(min(b[0] for b in best), min(b[1] for b in best))\n"
)


def baseline(source: Path, path: Path, repeats: int) -> tuple[float, float]:
    """Wall and CPU seconds of summarize_csv from another checkout of flarecast (e.g. an older one)."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run(
        [sys.executable, "-c", _BASELINE, str(path), str(repeats)],
        capture_output=True, text=True, check=True, env=env, cwd=source,
    )  # fmt: skip
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def peak_memory_mb(path: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True
    )
    return int(re.search(r"VmHWM (\d+)", done.stderr).group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=86.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="Another flarecast source tree to time summarize_csv from.",
    )
    args = parser.parse_args()

    import pandas as pd
    import pyarrow.csv as pacsv

    from flarecast.data.tables.read import read_table
    from flarecast.data.tables.summary import summarize_csv
    from flarecast.io import sha256_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        rows = build(path, args.mb)
        size = path.stat().st_size / 1e6
        runs = {
            "pyarrow read_csv": lambda: pacsv.read_csv(path),
            "pandas read_csv + dates": lambda: pd.read_csv(path, parse_dates=["time"]),
            "flarecast summarize_csv (data info)": lambda: summarize_csv(path),
            "flarecast read_table": lambda: read_table(path),
            "sha256 of the file (part of data info)": lambda: sha256_file(path, 1 << 16),
        }
        best = {name: (float("inf"), float("inf")) for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                wall, cpu = timed(run)
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
        if args.baseline_src:
            best[f"summarize_csv from {args.baseline_src}"] = baseline(
                args.baseline_src, path, args.repeats
            )
        memory = peak_memory_mb(path)
    base, base_cpu = best["pyarrow read_csv"]
    lines = [
        f"File: {size:.1f} MB, {rows:,} rows x 26 columns (umich-24h repeated); "
        f"best of {args.repeats}, alternating.",
        "",
        "| reader | wall s | x pyarrow | CPU s (all threads) | x pyarrow |",
        "|---|---|---|---|---|",
        *[
            f"| {name} | {t:.2f} | {t / base:.2f} | {c:.2f} | {c / base_cpu:.2f} |"
            for name, (t, c) in best.items()
        ],
        "",
        f"Peak memory of `flarecast data info FILE --json` (fresh process, VmHWM): {memory:.0f} MB.",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, pandas {pd.__version__}, "
        f"pyarrow {__import__('pyarrow').__version__}; load average {os.getloadavg()[0]:.1f}.",
    ]
    print("\n".join(lines))
    if args.write:
        results = Path(__file__).with_name("RESULTS.md")
        text = results.read_text()
        block = f"{SECTION}\n\n" + "\n".join(lines) + "\n"
        if SECTION in text:
            text = re.sub(rf"{re.escape(SECTION)}\n.*?(?=\n## |\Z)", block, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n" + block
        results.write_text(text)


if __name__ == "__main__":
    main()
