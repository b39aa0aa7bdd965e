"""Run the README's test command again and again, each time with a fresh Hypothesis seed.

Usage (from the repository root)::

    .venv/bin/python scripts/fresh_seeds.py --runs 20 [--data-dir ../shared/data] [--property-only] [-- PYTEST ARGS]

Each run is the README's ``python -m pytest -q -n auto`` (one pytest-xdist worker per CPU;
``-- -n 0`` runs it in one process) plus ``--hypothesis-seed=S`` with a new random ``S``; the
checkout's ``.hypothesis`` example database is kept, as a user's runs keep it, so an example that
failed once is replayed by every later run. With ``--data-dir`` the runs see the real data
(``FLARECAST_DATA_DIR``); without it the variable is removed and the data tests skip.
``--property-only`` keeps only the Hypothesis property tests (``scripts/property_only.py``, loaded
by every worker): the seed changes nothing else. Stops at the first failing run and prints its
seed, so the failure replays with ``--hypothesis-seed=S``. Prints one line per run: seed, result
line, seconds.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--property-only", action="store_true")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("FLARECAST_DATA_DIR", None)
    if args.data_dir:
        env["FLARECAST_DATA_DIR"] = args.data_dir
    extra = list(args.pytest_args)
    if args.property_only:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT / "scripts"), env.get("PYTHONPATH")])
        )
        extra = ["-p", "property_only", *extra]
    for run in range(1, args.runs + 1):
        seed = secrets.randbits(32)
        cmd = [sys.executable, "-m", "pytest", "-q", "-n", "auto", f"--hypothesis-seed={seed}"]
        cmd += extra
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(
            f"run {run}/{args.runs} seed={seed} rc={proc.returncode} {last} "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
        if proc.returncode != 0:
            print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
