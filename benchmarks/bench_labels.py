"""Benchmark: label 10 million SHARP records against the 43,084-event NCEI catalogue.

Usage::

    FLARECAST_DATA_DIR=../shared/data python benchmarks/bench_labels.py [--records 10000000] [--regions 3000]

The records are SYNTHETIC: ``--regions`` regions, as many as possible drawn
from the catalogue's own region numbers (so windows do hit flares) and the
rest quiet regions that never flare, each with a run of 12-minute records
starting two days before its first flare (quiet ones: at a random time),
``--records`` in total, with two keyword columns. The catalogue is the real ``solar_events.csv`` read with
``on_bad_rows="skip"`` and ``duplicates="keep"`` (43,080 events: the 4
malformed rows cannot be placed in time); without the data folder a synthetic
catalogue of 43,084 events is used instead (said in the output).

It prints the vectorised labeller's time, records/s and the process's peak
resident memory, then times a straightforward per-record pandas loop (events
pre-grouped by region) on a 20,000-record subset, checks that both give the
same labels there, and prints the time ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import warnings

import numpy as np
import pandas as pd

from flarecast.labels import label_records


def catalogue() -> tuple[pd.DataFrame, str]:
    data = os.environ.get("FLARECAST_DATA_DIR")
    if data and os.path.isdir(data):
        from flarecast.data.catalogues.read import read_catalogue

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            events = read_catalogue(
                "ncei-1996-2022", data_dir=data, on_bad_rows="skip", duplicates="keep"
            )
        return events, f"real NCEI list ({len(events)} events after 4 malformed rows)"
    rng = np.random.default_rng(0)
    n = 43_084
    start = pd.Timestamp("1996-08-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.uniform(0, 9500, n)), unit="D"
    )
    flux = 10 ** rng.uniform(-7.5, -3.5, n)
    events = pd.DataFrame({"start": start, "peak": start + pd.Timedelta("6min"), "end": start + pd.Timedelta("20min"),
                           "goes_class": "C1.0", "peak_flux": flux,
                           "noaa_ar": pd.array(rng.integers(17900, 23200, n), dtype="Int64"), "source": "synthetic"})  # fmt: skip
    return events, "SYNTHETIC catalogue of 43,084 events (no FLARECAST_DATA_DIR)"


def sharp_records(
    events: pd.DataFrame, n_records: int, n_regions: int, seed: int = 0
) -> pd.DataFrame:
    """SYNTHETIC 12-min record runs of ``n_regions`` catalogue regions, ``n_records`` in total."""
    rng = np.random.default_rng(seed)
    first = events.dropna(subset=["noaa_ar"]).groupby("noaa_ar")["start"].min()
    take = min(n_regions, len(first))
    chosen = first.sample(n=take, random_state=seed)
    # Regions beyond the catalogue's own are quiet ones (never flare), at random times in its span.
    quiet = n_regions - take
    span = events["start"].min().value, events["start"].max().value
    quiet_first = pd.Series(pd.to_datetime(rng.integers(*span, quiet), unit="ns", utc=True),
                            index=np.arange(900_000, 900_000 + quiet))  # fmt: skip
    first = pd.concat([chosen, quiet_first])
    regions = first.index.to_numpy(dtype=np.int64)
    per = np.full(n_regions, n_records // n_regions)
    per[: n_records - per.sum()] += 1
    region = np.repeat(regions, per)
    step = np.arange(n_records) - np.repeat(np.cumsum(per) - per, per)
    origin = first.dt.as_unit("ns").array.asi8 - 2 * 86_400 * 10**9
    times = np.repeat(origin, per) + step * 720 * 10**9
    return pd.DataFrame({
        "time": pd.to_datetime(times, unit="ns", utc=True),
        "noaa_ar": pd.array(region, dtype="Int64"),
        "USFLUX": rng.lognormal(49, 1, n_records),
        "R_VALUE": rng.uniform(0, 5, n_records),
    })  # fmt: skip


def loop_labels(records: pd.DataFrame, events: pd.DataFrame, horizon: pd.Timedelta) -> np.ndarray:
    """The straightforward version: one pandas selection per record (events grouped by region once)."""
    groups = {k: g for k, g in events.dropna(subset=["noaa_ar"]).groupby("noaa_ar")}
    out = np.zeros(len(records))
    for i, (t, ar) in enumerate(zip(records["time"], records["noaa_ar"], strict=True)):
        g = groups.get(ar)
        if g is None:
            continue
        sel = g["peak_flux"][(g["peak"] > t) & (g["peak"] <= t + horizon)]
        out[i] = sel.max() if len(sel) else 0.0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--regions", type=int, default=3000)
    parser.add_argument("--subset", type=int, default=20_000)
    args = parser.parse_args()

    events, what = catalogue()
    records = sharp_records(events, args.records, args.regions)
    print(f"catalogue: {what}")
    in_catalogue = int(records["noaa_ar"].drop_duplicates().isin(events["noaa_ar"].dropna()).sum())
    print(f"records: {len(records):,} SYNTHETIC SHARP records of {records['noaa_ar'].nunique():,} regions "
          f"({in_catalogue:,} of them in the catalogue, the rest quiet), 12-min runs")  # fmt: skip

    t0 = time.perf_counter()
    labelled = label_records(records, events, horizon="24h")
    elapsed = time.perf_counter() - t0
    print(f"vectorised label_records: {elapsed:.2f} s, {len(records) / elapsed:,.0f} records/s")
    t0 = time.perf_counter()
    label_records(records, events, horizon="24h", history="24h")
    print(f"  with the 24 h history feature: {time.perf_counter() - t0:.2f} s")
    classes = labelled["goes_class"].str[0].value_counts(dropna=False)
    print("  labels: " + ", ".join(f"{k} {v:,}" for k, v in classes.items()))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {peak_mb:,.0f} MB")

    subset = records.sample(n=args.subset, random_state=1).reset_index(drop=True)
    t0 = time.perf_counter()
    fast = label_records(subset, events, horizon="24h")["peak_flux"].to_numpy()
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    slow = loop_labels(subset, events, pd.Timedelta("24h"))
    t_loop = time.perf_counter() - t0
    known = ~np.isnan(fast)
    agree = bool(np.array_equal(fast[known], slow[known]))
    print(f"per-record pandas loop on {len(subset):,} records: {t_loop:.2f} s ({len(subset) / t_loop:,.0f} records/s); "
          f"vectorised on the same subset: {t_fast:.3f} s; same labels: {agree}")  # fmt: skip
    rate_ratio = (len(records) / elapsed) / (len(subset) / t_loop)
    print(
        f"time ratio loop/vectorised on the subset: {t_loop / t_fast:,.0f}x; "
        f"per-record throughput ratio (10M run vs loop): {rate_ratio:,.0f}x"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs visible, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}"
    )


if __name__ == "__main__":
    main()
