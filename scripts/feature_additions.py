"""Logistic regression on umich-24h with and without flare-history and evolution features, repeated partitions.

Every variant is fitted on the same R x K region-grouped folds (the protocol's repeats) and
compared paired with the base variant by the corrected repeated k-fold t-test
(:mod:`flarecast.evaluation.repeated`). History: the region's flares in the 24 h and 48 h before
the snapshot from the HEK GOES list (hek-2010-2019); evolution: the flare's 36 h and 48 h
snapshots (missing ones filled with 0 plus an indicator column). Run from the repository root:

    FLARECAST_DATA_DIR=../shared/data .venv/bin/python scripts/feature_additions.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from flarecast.data.catalogues.read import read_catalogue, resolve_data_dir
from flarecast.data.tables.per_flare import UMICH_FEATURES, read_umich
from flarecast.data.tables.read import load_dataset
from flarecast.evaluation.methods import MethodSpec
from flarecast.evaluation.paired import paired_intervals
from flarecast.evaluation.protocol import Protocol
from flarecast.evaluation.repeated_run import run_repeated
from flarecast.features.evolution import umich_evolution
from flarecast.features.history import flare_history
from flarecast.features.transforms import FeatureTransformer
from flarecast.targets import make_targets

EVOLUTION = ("USFLUX", "TOTUSJH", "TOTPOT", "TOTUSJZ", "MEANPOT", "SHRGT45")


def logistic(columns: list[str]) -> MethodSpec:
    def factory(protocol: Protocol, seed: int) -> Pipeline:
        select = ColumnTransformer([("keep", "passthrough", columns)]).set_output(
            transform="pandas"
        )
        return Pipeline(
            [
                ("select", select),
                ("transform", FeatureTransformer(feature_names=columns)),
                ("model", LogisticRegression(C=1.0, max_iter=2000)),
            ]
        )

    return MethodSpec("logistic", "logistic regression", factory)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = load_dataset("umich-24h")
    folder = resolve_data_dir() / "umich_arflares"
    tables = {h: read_umich(folder / f"arflares{h}h.csv").frame for h in (24, 36, 48)}
    if (
        len(tables[24]) != len(data.frame)
        or not (tables[24]["time"].to_numpy() == data.frame["time"].to_numpy()).all()
    ):
        raise SystemExit("umich-24h and arflares24h.csv do not line up row for row")
    evo = umich_evolution(tables, 24, EVOLUTION, lags=2)
    evo.index = data.frame.index
    evo_cols = [c for c in evo.columns if c.endswith(("_diff1", "_rate1", "_diff2", "_rate2"))]
    has = evo[["hours_since1", "hours_since2"]].notna().astype(float)
    has.columns = ["has_lag1", "has_lag2"]
    evo = pd.concat([evo[evo_cols].fillna(0.0), has], axis=1)
    events = read_catalogue("hek-2010-2019", on_bad_rows="skip")  # one A0.0 row: skipped, counted
    hist = flare_history(data.frame, events, ["24h", "48h"])
    unknown = int(hist.isna().any(axis=1).sum())
    frame = pd.concat([data.frame, evo, hist.fillna(0.0)], axis=1)
    targets = make_targets(dataclasses.replace(data, frame=frame))
    base = list(UMICH_FEATURES)
    variants = {
        "base": base,
        "history": base + list(hist.columns),
        "evolution": base + list(evo.columns),
        "both": base + list(hist.columns) + list(evo.columns),
    }
    methods = {name: logistic(cols) for name, cols in variants.items()}
    protocol = Protocol(methods=tuple(variants))
    result = run_repeated(targets, variants["both"], protocol, args.repeats, methods=methods)
    res = paired_intervals(
        result.predictions,
        [(v, "base") for v in variants if v != "base"],
        result.folds,
        scores=["auc", "tss", "hss", "bss"],
    )
    print(
        f"umich-24h, {len(targets.y)} rows, {args.repeats} x 5 region folds; history from "
        f"hek-2010-2019 ({unknown} rows outside its coverage, filled 0); "
        f"{int(has['has_lag1'].sum())} rows with a 36/48 h snapshot; {time.perf_counter() - t0:.0f} s"
    )
    with pd.option_context("display.width", 160, "display.float_format", "{:+.4f}".format):
        print(res[["method", "baseline", "score", "mean", "low", "high", "p_value"]].to_string())


if __name__ == "__main__":
    main()
