"""What a training run refuses up front: seeds out of range and runs that cannot fit in memory;
and feature values at the float limit, which it trains on (issue #16 findings, each a traceback,
a machine-filling allocation or a NaN on 15b87a9)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.errors import ConfigError
from flarecast.training.config import TrainConfig
from flarecast.training.estimator import FlareClassifier
from flarecast.training.memory import check_training_memory, estimate_training_bytes

sys.path.insert(0, str(Path(__file__).parent))
from _training_data import toy_table  # noqa: E402

TRAIN = ["train", "--dataset", "demo", "--epochs", "1", "--quiet", "--device", "cpu"]


def _train(tmp_path, *extra):
    return CliRunner().invoke(main, [*TRAIN, "--out", str(tmp_path / "m"), *extra])


@pytest.mark.parametrize("seed", ["-1", "12345678901234567890"])
def test_seed_out_of_range_is_a_clean_error(tmp_path, seed):
    res = _train(tmp_path, "--seed", seed)
    assert res.exit_code == 1, res.output
    assert res.output.startswith("Error: ") and "Traceback" not in res.output
    assert f"'seed' parameter of FlareClassifier must be an int in [0, 2**63). Got {seed}" in (
        res.output.replace("\n", " ")
    )
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    "options",
    [["--seeds", "1000000"], ["--hidden", "100000000,100000000"]],
)
def test_runs_that_cannot_fit_in_memory_are_refused_with_the_estimate(tmp_path, options):
    """--seeds 100000 took 21.9 GB of a 23 GB machine; --hidden 1e8,1e8 reached 12.6 GB.

    (A million members, about 1 TB by the estimate, so that no test machine has that free.)"""
    res = _train(tmp_path, *options)
    assert res.exit_code == 1, res.output
    assert "This training run needs about " in res.output and " GB available" in res.output
    assert "--seeds" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "m" / "model.json").exists()


def test_memory_estimate_grows_with_the_run_and_is_checked_against_what_is_free():
    small = estimate_training_bytes(TrainConfig(), 8000, 2000, 15)
    assert small < 50e6  # the default run: tens of MB at most
    assert estimate_training_bytes(TrainConfig(n_members=10), 8000, 2000, 15) > 5 * small
    huge = TrainConfig(hidden=(10**8, 10**8))
    assert estimate_training_bytes(huge, 100, 20, 15) > 1e16 * 4
    assert check_training_memory(TrainConfig(), 8000, 2000, 15, "cpu", available=10**9) == small
    with pytest.raises(
        ConfigError, match=r"needs about 0.\d+ GB .* but cpu has 0.001 GB available"
    ):
        check_training_memory(TrainConfig(), 8000, 2000, 15, "cpu", available=10**6)


def test_a_feature_at_the_float_limit_trains():
    """A column at +-1e308 overflowed the scaling to NaN; training then failed with
    'Input X contains NaN'."""
    frame, y = toy_table(n_regions=40)
    frame["NOISE"] = np.where(np.arange(len(frame)) % 2 == 0, 1e308, -1e308)
    clf = FlareClassifier(max_epochs=2, device="cpu", hidden=(4,), log="none").fit(frame, y)
    assert np.isfinite(clf.transformer_.mean_).all() and np.isfinite(clf.transformer_.scale_).all()
    p = clf.predict_proba(frame)[:, 1]
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()
    z = clf.transformer_.transform(frame[list(clf.feature_names_in_)].to_numpy())
    np.testing.assert_allclose(np.abs(z[:, -1]), 1.0)  # +-1e308 is +-1 standard deviation
