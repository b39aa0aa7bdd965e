"""protocols/comparison.toml: its values are the code's defaults, its hash is recorded, bad files are refused."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from flarecast.errors import ConfigError
from flarecast.evaluation.frozen import DEFAULT_PATH, load_frozen_protocol
from flarecast.evaluation.methods import METHODS
from flarecast.evaluation.protocol import Protocol
from flarecast.training import estimator


def test_file_values_equal_the_code_defaults() -> None:
    """A silent change of a default (protocol, network or baseline) makes this fail."""
    frozen = load_frozen_protocol()
    assert frozen.protocol == dataclasses.replace(Protocol(), network=frozen.protocol.network)
    defaults = estimator.FlareClassifier().get_params()
    network = dict(frozen.protocol.network)
    assert network.pop("skip") == estimator.skip_path(estimator.FlareClassifier().train_config())
    assert network == {k: defaults[k] for k in network}
    built = {
        "logistic": METHODS["logistic"].factory(frozen.protocol, 0)[-1],  # the pipeline's model
        "gboost": METHODS["gboost"].factory(frozen.protocol, 0),
    }
    for name, params in frozen.baselines.items():
        actual = built[name].get_params()
        assert params == {k: actual[k] for k in params}, name
    assert (frozen.repeats, frozen.interval) == (10, "corrected-ttest")
    assert (frozen.name, frozen.version) == ("comparison", 1)


def test_network_table_builds_the_default_network() -> None:
    frozen = load_frozen_protocol()
    spec = METHODS["focal"]
    net = spec.factory(frozen.protocol, 3)
    default = spec.factory(Protocol(), 3)
    assert net.train_config() == dataclasses.replace(
        default.train_config(), skip=net.train_config().skip
    )
    assert estimator.skip_path(net.train_config()) == estimator.skip_path(default.train_config())


def test_sha256_is_of_the_file_bytes_and_changes_with_them(tmp_path: Path) -> None:
    frozen = load_frozen_protocol(DEFAULT_PATH)
    assert frozen.sha256 == hashlib.sha256(DEFAULT_PATH.read_bytes()).hexdigest()
    assert frozen.record()["protocol_sha256"] == frozen.sha256
    edited = tmp_path / "comparison.toml"
    edited.write_text(DEFAULT_PATH.read_text().replace("repeats = 10", "repeats = 20"))
    changed = load_frozen_protocol(edited)
    assert changed.repeats == 20 and changed.sha256 != frozen.sha256


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("folds = 5\n", "folds = 5\nfold = 3\n", r"unknown key\(s\) \['fold'\].*'folds'"),
        ("folds = 5\n", "", r"\[protocol\] lacks \['folds'\]"),
        ("patience = 8\n", "", r"\[network\] lacks \['patience'\]"),
        ("patience = 8\n", 'patience = 8\nloss = "ce"\n', r"may not set \['loss'\]"),
        ('activation = "relu"', 'activation = "gelu"', r"\[network\].*'activation'"),
        ("folds = 5", "folds = 1", r"'folds' parameter of Protocol must be an int >= 2"),
        ("repeats = 10", "repeats = 0", r"'repeats' must be an int >= 1"),
        ('interval = "corrected-ttest"', 'interval = "naive"', r"'interval' must be one of"),
        ("version = 1", "version = 0", r"'version' must be an int >= 1"),
        ("[baselines.gboost]", "[baselines.svm]", r"unknown key\(s\) \['svm'\] in \[baselines\]"),
    ],
)
def test_bad_files_are_refused_naming_file_and_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    text = DEFAULT_PATH.read_text()
    assert old in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message) as info:
        load_frozen_protocol(bad)
    assert str(bad) in str(info.value)


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_frozen_protocol(tmp_path / "none.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[protocol\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_frozen_protocol(broken)


def test_the_file_hash_is_listed_in_the_protocol_history() -> None:
    """A changed protocol file is a new version: its hash must be added to benchmarks/RESULTS.md."""
    results = DEFAULT_PATH.parents[1] / "benchmarks" / "RESULTS.md"
    frozen = load_frozen_protocol()
    assert f"`{frozen.sha256}`" in results.read_text()
