"""Benchmark: a daily forecast for 30 regions, all outputs, timed from Python start; and ``flarecast --help``.

Targets (issue 6): the forecast under 3 s after Python start on 2 CPU cores,
``flarecast --help`` under 1 s.

Setup (not timed): a small focal-loss model folder (FlareClassifier, Platt
calibrator, forecast support) trained on the SYNTHETIC demo data, and a
JSOC-style CSV (``T_REC`` in TAI) holding 72 hourly records of each of 30
regions. Timed: the ``flarecast`` console script in a fresh process, as a
forecaster runs it, wall clock from spawn to exit, ``--repeat`` times; then one
in-process breakdown of the phases in a fresh interpreter.

Run::

    python benchmarks/bench_forecast.py              # print the results
    python benchmarks/bench_forecast.py --write      # also update the "Forecast" section of RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_REGIONS = 30
ISSUE = "2011-07-01"
HERE = Path(__file__).resolve().parent

_PHASES = r"""
import json, sys, time
t = time.perf_counter()
import pandas
from flarecast.forecast.core import make_forecast
from flarecast.forecast.inputs import read_input, resolve_issue_time
from flarecast.forecast.loading import load_forecaster
from flarecast.forecast.report import write_report
t_import = time.perf_counter()
model, info, x = load_forecaster(sys.argv[1])
t_load = time.perf_counter()
frame, inp = read_input(sys.argv[2])
t0, _ = resolve_issue_time(sys.argv[4], None)
t_read = time.perf_counter()
fc = make_forecast(frame, model, info, t0, input_info=inp, x_model=x)
t_fc = time.perf_counter()
write_report(fc, sys.argv[3])
t_write = time.perf_counter()
print(json.dumps({"import pandas + flarecast forecast modules": t_import - t,
                  f"load model folder ({info.inference})": t_load - t_import,
                  "read features CSV (TAI -> UTC)": t_read - t_load,
                  "forecast (flags, predict, full disk)": t_fc - t_read,
                  "write 5 files + index": t_write - t_fc, "torch imported": "torch" in sys.modules,
                  "regions": len(fc.regions)}))
"""


def _setup(folder: Path) -> tuple[Path, Path]:
    import numpy as np
    import pandas as pd

    from flarecast.data.synthetic import demo_dataset, demo_sharp_series
    from flarecast.evaluation.calibration import fit_calibrator, save_calibrator
    from flarecast.forecast.support import forecast_support
    from flarecast.training.artifacts import save_model
    from flarecast.training.estimator import FlareClassifier

    ds = demo_dataset(seed=0, n_regions=150, days=120)
    f = ds.frame
    X, y = f[list(ds.features)], (f["peak_flux"].to_numpy() >= 1e-5).astype(int)
    val = f["noaa_ar"].to_numpy(dtype=int) % 5 == 0
    clf = FlareClassifier(loss="focal", max_epochs=5, seed=0).fit(
        X[~val], y[~val], validation=(X[val], y[val])
    )
    model = folder / "models" / "bench"
    save_model(
        clf,
        model,
        dataset=ds,
        targets_definition="positive: >= M1.0; negative: N, A, B, C",
        extra={"forecast": forecast_support(X, f["peak_flux"].to_numpy(), f["time"])},
    )
    save_calibrator(model, fit_calibrator(clf.predict_proba(X[val])[:, 1], y[val], "platt"))

    # 30 regions, each with its last 72 hourly records re-dated to end 0-5 h before the issue time
    series = demo_sharp_series(seed=1, n_regions=200, days=120)
    t0 = pd.Timestamp(ISSUE, tz="UTC")
    parts = []
    for k, (_, g) in enumerate(series.groupby("noaa_ar")):
        if len(parts) == N_REGIONS:
            break
        if len(g) < 72:
            continue
        g = g.tail(72).copy()
        g["time"] = g["time"] - g["time"].max() + t0 - pd.Timedelta(hours=k % 6)
        parts.append(g)
    records = pd.concat(parts, ignore_index=True)
    tai = records["time"] + pd.Timedelta(
        seconds=34
    )  # TAI - UTC in 2011: the file is written as JSOC does
    out = records.drop(columns=["time"]).rename(
        columns={"noaa_ar": "NOAA_AR", "harpnum": "HARPNUM"}
    )
    out.insert(0, "T_REC", tai.dt.strftime("%Y.%m.%d_%H:%M:%S_TAI"))
    path = folder / "sharp_30_regions.csv"
    out.to_csv(path, index=False)
    assert records["noaa_ar"].nunique() == N_REGIONS and np.isfinite(records["USFLUX"]).all()
    return model, path


def _time(cmd: list[str], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        out.append(time.perf_counter() - t)
    return out


def _machine() -> str:
    try:
        return subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True
        ).stdout.splitlines()[:10]
    except (OSError, subprocess.CalledProcessError):
        return ["lscpu unavailable"]


def _section(res: dict) -> str:
    def row(name: str, xs: list[float], target: float) -> str:
        ok = "yes" if statistics.median(xs) < target else "NO"
        return f"| {name} | {statistics.median(xs):.2f} | {min(xs):.2f} | {max(xs):.2f} | < {target:g} | {ok} |"

    lines = [
        "## Forecast",
        "",
        f"`python benchmarks/bench_forecast.py --write` ({res['date']}, flarecast {res['version']}, "
        f"Python {res['python']}, {res['repeat']} runs each, wall clock from process spawn to exit).",
        "",
        "| command | median s | min s | max s | target s | met |",
        "|---|---|---|---|---|---|",
        row(
            f"`flarecast forecast` ({N_REGIONS} regions, JSOC-style CSV, all 5 files + index)",
            res["forecast"],
            3.0,
        ),
        row(
            "same with `--engine torch` (imports torch and scikit-learn)",
            res["forecast_torch"],
            3.0,
        ),
        row("`flarecast --help`", res["help"], 1.0),
        "",
        "Where the forecast's time goes (median of 3 fresh interpreters, seconds):",
        "",
        "| phase | s |",
        "|---|---|",
        *[f"| {k} | {v:.3f} |" for k, v in res["phases"].items() if isinstance(v, float)],
        "",
        f"torch imported by the default forecast: {res['phases']['torch imported']}. "
        f"Load average while measuring: {res['load']}.",
        "",
        "Machine (`lscpu | head`):",
        "",
        "```",
        *res["machine"],
        "```",
        "",
    ]
    return "\n".join(lines)


def _write(section: str, path: Path) -> None:
    text = path.read_text() if path.is_file() else "# Benchmark results\n\n"
    start = text.find("## Forecast\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[nxt + 1 :] if nxt >= 0 else "")
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--write", action="store_true", help="update the Forecast section of benchmarks/RESULTS.md"
    )
    args = parser.parse_args()
    import flarecast

    exe = str(Path(sys.executable).with_name("flarecast"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model, csv = _setup(folder)
        cmd = [
            exe,
            "forecast",
            "--model",
            str(model),
            "--features",
            str(csv),
            "--date",
            ISSUE,
            "--out",
            str(folder / "reports"),
        ]
        subprocess.run(
            cmd, check=True, capture_output=True
        )  # warm the file cache once, as a daily cron would be
        forecast = _time(cmd, args.repeat)
        forecast_torch = _time([*cmd, "--engine", "torch"], args.repeat)
        help_ = _time([exe, "--help"], args.repeat)
        runs = [
            json.loads(
                subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        _PHASES,
                        str(model),
                        str(csv),
                        str(folder / "phases"),
                        ISSUE,
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for _ in range(3)
        ]
        # per-phase median of three fresh interpreters
        phases = {
            k: (statistics.median(r[k] for r in runs) if isinstance(v, float) else v)
            for k, v in runs[0].items()
        }
        assert phases["regions"] == N_REGIONS
    res = {
        "forecast": forecast,
        "forecast_torch": forecast_torch,
        "help": help_,
        "phases": phases,
        "machine": _machine(),
        "repeat": args.repeat,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date": time.strftime("%Y-%m-%d"),
        "version": flarecast.__version__,
        "python": sys.version.split()[0],
    }
    section = _section(res)
    print(section)
    if args.write:
        _write(section, HERE / "RESULTS.md")


if __name__ == "__main__":
    main()
