"""Categorical features in the evaluation protocol: one-hot encoded by each fit's fit rows only.

A region-day table (hayes-srs) holds McIntosh and Mt Wilson classes. Every method of
``reproduce`` and ``benchmark`` gets them as one-hot columns of the categories its fold's
fit rows hold; a test row with a category those rows never had is an all-zero block and
is counted in run.json.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.data.synthetic import demo_dataset
from flarecast.evaluation.fits import run_protocol
from flarecast.evaluation.protocol import Protocol, make_folds
from flarecast.features.categorical import OneHotInput, one_hot_input
from flarecast.targets import make_targets

_NETWORK = {"max_epochs": 3, "patience": 2, "hidden": [4]}


def _demo_with_class(seed: int = 3):
    """The SYNTHETIC demo table with a categorical feature ``cls`` (a, b by region)."""
    data = demo_dataset(seed=seed, n_regions=60, days=40)
    frame = data.frame.copy()
    odd = frame["noaa_ar"].to_numpy(dtype=np.int64) % 2 == 1
    frame["cls"] = pd.Categorical(np.where(odd, "a", "b"), categories=["a", "b", "v", "z"])
    return dataclasses.replace(data, frame=frame, features=(*data.features, "cls"))


def test_each_fit_learns_categories_from_its_fit_rows_only_and_unseen_test_rows_are_counted():
    data = _demo_with_class()
    protocol = Protocol(
        folds=3, seeds=2, n_boot=10, methods=("climatology", "logistic", "gboost", "ce"),
        network=_NETWORK,
    )  # fmt: skip
    targets = make_targets(data, protocol.negatives, protocol.positive_threshold)
    fold = make_folds(targets, protocol)[0]
    frame = targets.frame.copy()
    groups = np.asarray(targets.groups)
    # One test region gets class z, one validation region class v: neither is in the fit rows.
    z_region, v_region = groups[fold.test][0], groups[fold.val][0]
    frame["cls"] = frame["cls"].astype(object)
    frame.loc[groups == z_region, "cls"] = "z"
    frame.loc[groups == v_region, "cls"] = "v"
    frame["cls"] = pd.Categorical(frame["cls"], categories=["a", "b", "v", "z"])
    targets = dataclasses.replace(targets, frame=frame)
    n_z = int((groups[fold.test] == z_region).sum())
    assert 0 < n_z < len(fold.test)

    fitted = {}
    result = run_protocol(
        targets,
        data.features,
        protocol,
        folds=[fold],
        on_fit=lambda f, name, est, fit: fitted.__setitem__(name, est),
    )
    (counted,) = result.folds
    assert counted.unseen == {"cls": n_z}
    assert counted.sizes()["unseen_test"] == {"cls": n_z}
    X_test = frame[list(data.features)].iloc[fold.test]
    for name in protocol.methods:
        est = fitted[name]
        assert isinstance(est, OneHotInput), name
        # Learned from the fit rows: neither the test fold's z nor the validation rows' v.
        assert est.encoding_.categories_ == {"cls": ["a", "b"]}, name
        est.encoding_.encode(X_test)
        assert est.encoding_.unseen_ == {"cls": n_z}, name
    # The network got its members and validation rows through the wrapper.
    assert np.asarray(fitted["ce"].predict_proba_members(X_test)).shape == (2, len(fold.test))
    assert fitted["ce"].best_epoch_ is not None
    p = result.predictions
    assert p["p"].notna().all() and len(p[p["seed"] == -1]) == 4 * len(fold.test)


def test_a_numeric_table_is_fitted_unwrapped_and_its_folds_record_no_count():
    data = demo_dataset(seed=3, n_regions=60, days=40)
    protocol = Protocol(folds=3, n_boot=10, methods=("climatology", "logistic"))
    targets = make_targets(data, protocol.negatives, protocol.positive_threshold)
    X = targets.frame[list(data.features)]
    estimator = object()
    assert one_hot_input(estimator, X) is estimator
    result = run_protocol(targets, data.features, protocol)
    assert all(f.unseen is None and "unseen_test" not in f.sizes() for f in result.folds)


def _synthetic_srs(path, n_regions: int = 80, days: int = 8, seed: int = 0) -> int:
    """A SYNTHETIC table in Hayes' AR_flare_ml_23_24.csv layout; returns the GAMMA region's rows.

    Larger, more complex regions flare more often. One region (its rows all C days, so
    kept under negatives C) is the only one of Mt Wilson class GAMMA.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_regions):
        start = pd.Timestamp("2001-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        size = rng.uniform(0, 1)
        for d in range(days):
            zurich = "ABCDEFH"[min(6, int(size * 6 + rng.integers(0, 2)))]
            mcintosh = zurich + rng.choice(list("XRSAHK")) + rng.choice(list("XOIC"))
            mag = "BETA-GAMMA-DELTA" if size > 0.8 else "BETA" if size > 0.3 else "ALPHA"
            p = np.array([0.5, 0.35 - 0.2 * size, 0.1 + 0.15 * size, 0.05 * (1 + size)])
            letter = "C" if r == 0 else rng.choice(["N", "C", "M", "X"], p=p / p.sum())
            c, m, x = letter == "C", letter == "M", letter == "X"
            rows.append(
                {
                    "AR issue_date": f"{start + pd.Timedelta(days=d):%Y-%m-%d} 00:30",
                    "noaa_ar": 9000 + r,
                    "Carrington_long": 0,
                    "AREA": int(10 + 900 * size * rng.uniform(0.5, 1.5)),
                    "McIntosh": mcintosh,
                    "Longitude_extent": int(1 + 15 * size),
                    "Latitude": int(rng.integers(-30, 30)),
                    "Longitude": int(-60 + 10 * d),
                    "No_sunspots": int(1 + 30 * size),
                    "MAGTYPE": "GAMMA" if r == 0 else mag,
                    "LOCATION": "N10E10",
                    "C": int(c),
                    "M": int(m),
                    "X": int(x),
                    "C+": int(c + m + x),
                    "M+": int(m + x),
                    "X+": int(x),
                }  # fmt: skip
            )
    pd.DataFrame(rows).to_csv(path)
    return days


@pytest.mark.slow
def test_reproduce_runs_a_synthetic_region_day_table_end_to_end(tmp_path):
    table = tmp_path / "synthetic_srs.csv"
    n_gamma = _synthetic_srs(table)
    config = tmp_path / "fast.toml"
    config.write_text(
        "[protocol]\nseeds = 2\nn_boot = 20\n\n"
        "[protocol.network]\nmax_epochs = 3\npatience = 2\nhidden = [8]\n"
    )
    out = tmp_path / "out"
    args = ["reproduce", "--dataset", str(table), "--config", str(config), "--folds", "3",
            "--repeats", "2", "--methods", "climatology,logistic,gboost,ce,focal",
            "--no-figures", "--quiet", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    table_csv = pd.read_csv(out / "table.csv")
    assert len(table_csv) == 5 and table_csv["auc"].notna().all()
    meta = json.loads((out / "run.json").read_text())
    folds = meta["repeats"]["fold_sizes"]
    assert len(folds) == 6
    features = ["mcintosh_zurich", "mcintosh_penumbra", "mcintosh_compactness", "mtwilson"]
    for repeat in (0, 1):
        counts = [f["unseen_test"] for f in folds if f["repeat"] == repeat]
        assert all(sorted(c) == sorted(features) for c in counts)
        # The one GAMMA region is in one test fold of each partition, and in no fit rows then.
        assert sum(c["mtwilson"] for c in counts) == n_gamma
    assert [f["unseen_test"] for f in meta["fold_sizes"]] == [
        f["unseen_test"] for f in folds if f["repeat"] == 0
    ]


@pytest.mark.slow
def test_benchmark_runs_a_synthetic_region_day_table_with_c_negatives(tmp_path):
    from flarecast.evaluation.frozen import DEFAULT_PATH

    text = DEFAULT_PATH.read_text(encoding="utf-8")
    small = {"folds = 5": "folds = 3", "seeds = 5": "seeds = 2", "n_boot = 1000": "n_boot = 20",
             "max_epochs = 60": "max_epochs = 3", "hidden = [32, 32]": "hidden = [8]"}  # fmt: skip
    for old, new in small.items():
        assert old in text, old
        text = text.replace(old, new)
    protocol = tmp_path / "small.toml"
    protocol.write_text(text, encoding="utf-8")
    table = tmp_path / "synthetic_srs.csv"
    n_gamma = _synthetic_srs(table, seed=1)
    out = tmp_path / "bench"
    args = ["benchmark", "--datasets", str(table), "--protocol", str(protocol),
            "--repeats", "2", "--no-figures", "--quiet", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "run.json").read_text())
    (row,) = meta["rows"]
    assert row["negatives"] == ["C"]
    assert row["unseen_test"]["mtwilson"] == 2 * n_gamma  # one test fold per partition
    (skipped,) = meta["skipped"]
    assert skipped["dataset"].endswith("[A,B,C,N]") and "no flare below C" in skipped["reason"]
