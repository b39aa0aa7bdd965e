"""Score the reports already issued: ``reports/*/forecast.json`` against the flares that happened.

Only what was published is scored: each day's region probabilities and
full-disk probability as written in its ``forecast.json`` (flarecast's, and
MCSTAT's and MCEVOL's where the report carried the McIntosh-Poisson
comparison), nothing recomputed. The observations come from a flare
catalogue (:func:`flarecast.data.catalogues.read.read_catalogue`):

- a **region-day** is an event when the catalogue lists a flare of class
  >= M1.0 from that NOAA region (5-digit numbers on both sides) whose peak
  lies in the report's valid period ``[valid_start, valid_end)``; ``x_event``
  likewise for >= X1.0;
- a **full-disk day** is an event when any >= M1.0 flare peaks in the valid
  period, whether or not the catalogue names its region (what a user of the
  full-disk number experiences).

The scores and figures are those of ``flarecast backtest``
(:func:`flarecast.evaluation.backtest_report.write_backtest`) with two
differences that the outputs state: a published forecast has no validation
period, so the decision threshold is 50% (TSS and TSS@50% coincide), and the
BSS reference is the sample climatology of the verified days (the observed
event rate of each method's rows).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import NOAA_AR, PEAK_FLUX, TIME
from flarecast.data.tables.srs import five_digit_regions
from flarecast.errors import DataError
from flarecast.evaluation.backtest import BacktestConfig

__all__ = ["THRESHOLD", "read_published", "observe", "verification_result", "verify_config"]

#: Decision threshold of published forecasts (no validation period to choose one on).
THRESHOLD = 0.5
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_M, _X = 1e-5, 1e-4


def read_published(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Every published probability in ``root/YYYY-MM-DD/forecast.json``.

    Returns
    -------
    regions : pandas.DataFrame
        ``method``, ``time`` (issue time), ``valid_end``, ``noaa_ar`` (5-digit), ``p``.
        Regions without a NOAA number or without a forecast are left out (counted).
    disk : pandas.DataFrame
        ``method``, ``time``, ``valid_end``, ``p`` (the published full-disk P(>= M)).
    notes : list of str
        Unreadable days and left-out regions, counted.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"{root}: not a reports folder (expected REPORTS/YYYY-MM-DD/forecast.json)."
        )
    regions, disk, unreadable, no_number = [], [], [], 0
    for day in sorted(p for p in root.iterdir() if p.is_dir() and _DAY.match(p.name)):
        try:
            data = json.loads((day / "forecast.json").read_text())
            t0, t1 = pd.Timestamp(data["issue_time"]), pd.Timestamp(data["valid_end"])
        except (OSError, ValueError, KeyError, TypeError):
            unreadable.append(day.name)
            continue
        disk.append(("flarecast", t0, t1, (data.get("full_disk") or {}).get("p_m")))
        for r in data.get("regions") or []:
            if r.get("p_m") is None:
                continue
            if r.get("noaa_ar") is None:
                no_number += 1
                continue
            regions.append(("flarecast", t0, t1, int(r["noaa_ar"]), float(r["p_m"])))
        cmp = data.get("comparison") or {}
        for m in cmp.get("methods") or []:
            if m["name"] == "flarecast":
                continue
            disk.append((m["name"], t0, t1, (m.get("full_disk") or {}).get("p_m")))
            for r in cmp.get("regions") or []:
                p = (r.get(m["name"]) or {}).get("p_m")
                if p is not None:
                    regions.append((m["name"], t0, t1, int(r["noaa_ar"]), float(p)))
    if not disk:
        raise DataError(f"{root}: no readable YYYY-MM-DD/forecast.json to verify.")
    reg = pd.DataFrame(regions, columns=["method", TIME, "valid_end", NOAA_AR, "p"])
    reg[NOAA_AR] = five_digit_regions(reg[NOAA_AR].to_numpy(dtype=np.int64))[0]
    dsk = pd.DataFrame(disk, columns=["method", TIME, "valid_end", "p"]).dropna(subset=["p"])
    notes = [f"{len(dsk[dsk['method'] == 'flarecast'])} published day(s) read from {root}"]
    if unreadable:
        notes.append(
            f"{len(unreadable)} day(s) with an unreadable forecast.json skipped: {unreadable}"
        )
    if no_number:
        notes.append(
            f"{no_number} region forecast(s) without a NOAA number cannot be matched and are left out"
        )
    return reg, dsk, notes


def observe(
    regions: pd.DataFrame, disk: pd.DataFrame, events: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add ``y`` (>= M) and ``x_event`` (>= X) to the published rows from the catalogue ``events``."""
    peak = events["peak"].where(events["peak"].notna(), events["start"])
    flux = events[PEAK_FLUX].to_numpy(dtype=float)
    numbers = events[NOAA_AR]
    known = numbers.notna().to_numpy()
    ar = np.full(len(events), -1, dtype=np.int64)
    ar[known] = five_digit_regions(numbers[known].to_numpy(dtype=np.int64))[0]
    t = (
        peak.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    )  # naive UTC, comparable as numbers

    def count(t0: Any, t1: Any, threshold: float, region: int | None = None) -> int:
        start, stop = (pd.Timestamp(v).tz_convert("UTC").tz_localize(None) for v in (t0, t1))
        hit = (t >= start.to_datetime64()) & (t < stop.to_datetime64()) & (flux >= threshold)
        if region is not None:
            hit &= ar == region
        return int(hit.any())

    regions = regions.copy()
    disk = disk.copy()
    for frame, by_region in ((regions, True), (disk, False)):
        for name, threshold in (("y", _M), ("x_event", _X)):
            frame[name] = [
                count(r[TIME], r["valid_end"], threshold, r[NOAA_AR] if by_region else None)
                for r in frame.to_dict(orient="records")
            ]
    return regions, disk


def verification_result(regions: pd.DataFrame, disk: pd.DataFrame) -> dict[str, Any]:
    """The prediction frames in the layout of :func:`flarecast.evaluation.backtest.run_backtest`."""
    out = {}
    for key, frame in (("regions", regions), ("disk", disk)):
        frame = frame.drop(columns="valid_end").copy()
        frame["fold"] = "published"
        frame["threshold"] = THRESHOLD
        # sample climatology of each method's verified rows: the BSS reference
        frame["clim"] = frame.groupby("method")["y"].transform("mean")
        frame["row"] = np.arange(len(frame))
        out[key] = frame.reset_index(drop=True)
    methods = tuple(out["disk"]["method"].unique())
    out["backoff"], out["encodings"] = {}, {}
    out["disk_truth"] = {
        "source": "flare catalogue: any >= M1.0 flare peaking in the report's valid period",
        "first_day": str(disk[TIME].min().date()),
        "last_day": str(disk[TIME].max().date()),
    }
    out["folds"] = [{"name": "published", "test_start": str(disk[TIME].min()),
                     "train": 0, "validation": 0, "test": int((regions["method"] == methods[0]).sum())}]  # fmt: skip
    return out


def verify_config(methods: tuple[str, ...], n_boot: int, seed: int) -> BacktestConfig:
    """The backtest settings the scoring reads (intervals); ``methods`` are the published ones."""
    return dataclasses.replace(BacktestConfig(), methods=methods, n_boot=n_boot, seed=seed,
                               train_until="(published forecasts)", retrain="none")  # fmt: skip
