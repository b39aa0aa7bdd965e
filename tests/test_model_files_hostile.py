"""Hostile model folders: code planted in the weights file never runs; damaged folders are a clear ModelFileError.

``tests/test_artifacts.py`` covers the honest corruptions of ``load_model``
(truncated, one flipped bit, wrong format version, wrong features, a harmless
pickle). Here the weights file is a *malicious* pickle whose unpickling would
create a marker file, and each test shows that both readers (``load_model``
and the torch-free forecast reader ``NumpyMLP``) and the commands built on
them refuse it and the marker never appears; then that the same payload does
create the marker when unpickled, so the refusal is what kept it from running.
The same damages are checked on the forecast path, and a fuzz test replaces
any single value of ``model.json`` by arbitrary JSON.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import pickle
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flarecast.cli import main
from flarecast.errors import ModelFileError
from flarecast.forecast.engine import NumpyMLP, UnsupportedModel
from flarecast.training.artifacts import SIDECAR, WEIGHTS, load_model
from flarecast.training.sidecar import MAX_SIDECAR_BYTES

sys.path.insert(0, str(Path(__file__).parent))
from _forecast_model import demo_records, train_tiny_model  # noqa: E402


class Payload:
    """An object whose unpickling runs a shell command creating ``marker`` (what an attacker would plant)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(self.marker)}",))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return train_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def folder(tmp_path, model_dir) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "PWNED"


@pytest.fixture
def no_unpickling(monkeypatch):
    """Record (and block) any call into pickle or torch.load while the test runs."""
    calls = []

    def refuse(name):
        def call(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"flarecast called {name}")

        return call

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse(f"pickle.{name}"))
    monkeypatch.setattr(torch, "load", refuse("torch.load"))
    return calls


def _rewrite_sidecar(folder: Path, **weights) -> None:
    """Make model.json vouch for the weights file now on disk (an attacker controlling both files)."""
    meta = json.loads((folder / SIDECAR).read_text())
    blob = (folder / WEIGHTS).read_bytes()
    meta["weights"].update(
        {"bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest(), **weights}
    )
    (folder / SIDECAR).write_text(json.dumps(meta))


def _forecast(folder: Path, out: Path, *extra: str):
    return CliRunner().invoke(
        main,
        [
            "forecast",
            "--model",
            str(folder),
            "--features",
            "demo",
            "--date",
            "2011-06-01",
            "--out",
            str(out),
            *extra,
        ],
    )


LOADERS = {
    "load_model": lambda folder, out: load_model(folder),
    "NumpyMLP": lambda folder, out: NumpyMLP.from_folder(folder),
}
COMMANDS = {
    "forecast --engine auto": lambda folder, out: _forecast(folder, out),
    "forecast --engine numpy": lambda folder, out: _forecast(folder, out, "--engine", "numpy"),
    "forecast --engine torch": lambda folder, out: _forecast(folder, out, "--engine", "torch"),
    "predict": lambda folder, out: CliRunner().invoke(
        main, ["predict", "--model", str(folder), "--dataset", "demo", "--out", str(out / "p.csv")]
    ),
}


def _refused(how: str, folder: Path, out: Path, match: str) -> None:
    if how in LOADERS:
        with pytest.raises(ModelFileError, match=match):
            LOADERS[how](folder, out)
    else:
        res = COMMANDS[how](folder, out)
        assert res.exit_code == 1, res.output
        assert res.output.startswith("Error: ") and "Traceback" not in res.output
        assert match.replace("\\", "") in res.output.replace("\n", " ")
        assert not (out / "p.csv").exists() and not (
            out.exists() and list(out.rglob("forecast.json"))
        )


@pytest.mark.parametrize("how", [*LOADERS, *COMMANDS])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_malicious_pickle_as_weights_is_refused_without_running(
    folder, marker, tmp_path, no_unpickling, how, protocol
):
    blob = pickle.dumps(Payload(marker), protocol=protocol)
    (folder / WEIGHTS).write_bytes(blob)
    _refused(how, folder, tmp_path / "out", "not safetensors")
    assert not marker.exists() and no_unpickling == []
    # The control: this file really is hostile; unpickling it runs the command.
    _unpickle_for_real(blob)
    assert marker.exists()


def _unpickle_for_real(blob: bytes) -> None:
    # In a separate interpreter: the fixture blocks pickle here, and the control must not depend on this process.
    import subprocess

    subprocess.run(
        [sys.executable, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
        input=blob,
        check=True,
        timeout=60,
    )


@pytest.mark.parametrize("how", [*LOADERS, "forecast --engine auto", "predict"])
def test_protocol0_pickle_with_a_sidecar_vouching_for_it_is_refused(
    folder, marker, tmp_path, no_unpickling, how
):
    # Protocol 0 has no b"\x80" magic and the sidecar's size and sha256 match: only the safetensors parser
    # stands between this file and the loader, and it never unpickles.
    blob = pickle.dumps(Payload(marker), protocol=0)
    assert blob[:1] != b"\x80"
    (folder / WEIGHTS).write_bytes(blob)
    _rewrite_sidecar(folder)
    _refused(how, folder, tmp_path / "out", "is not a readable safetensors file")
    assert not marker.exists() and no_unpickling == []
    _unpickle_for_real(blob)
    assert marker.exists()


@pytest.mark.parametrize("how", [*LOADERS, "forecast --engine torch"])
def test_torch_save_archive_with_a_payload_is_refused(folder, marker, tmp_path, how):
    torch.save({"weight": torch.ones(2), "payload": Payload(marker)}, folder / WEIGHTS)
    _rewrite_sidecar(folder)
    _refused(how, folder, tmp_path / "out", "zip archive")
    assert not marker.exists()
    with open(
        folder / WEIGHTS, "rb"
    ) as fh:  # a file object: torch.load reads paths ending .safetensors itself
        torch.load(fh, weights_only=False)  # what a careless loader would do
    assert marker.exists()


# -- the forecast (numpy) path gets the same checks as load_model ------------------------------------


def test_numpy_path_truncated_weights(folder):
    blob = (folder / WEIGHTS).read_bytes()
    (folder / WEIGHTS).write_bytes(blob[:-7])
    with pytest.raises(
        ModelFileError,
        match=rf"is truncated: {len(blob) - 7} bytes on disk, {len(blob)} recorded in model.json",
    ):
        NumpyMLP.from_folder(folder)


def test_numpy_path_wrong_format_version(folder, tmp_path):
    meta = json.loads((folder / SIDECAR).read_text())
    meta["format_version"] = 2
    (folder / SIDECAR).write_text(json.dumps(meta))
    with pytest.raises(
        ModelFileError, match=r"model-file format version 2 .* reads version 1 only"
    ):
        NumpyMLP.from_folder(folder)
    _refused("forecast --engine auto", folder, tmp_path / "out", "model-file format version 2")


def test_sidecar_and_weights_disagreeing_on_the_features(folder, tmp_path):
    meta = json.loads((folder / SIDECAR).read_text())
    meta["features"] = meta["features"][:-1]  # one name dropped, weights and transform unchanged
    (folder / SIDECAR).write_text(json.dumps(meta))
    for how in ("load_model", "NumpyMLP", "forecast --engine torch"):
        _refused(
            how, folder, tmp_path / "out", "'architecture' has 15 inputs but 'features' names 14"
        )


def test_x_model_with_other_features_is_refused(tmp_path, model_dir):
    from flarecast.data.synthetic import demo_dataset
    from flarecast.training.artifacts import save_model
    from flarecast.training.estimator import FlareClassifier

    ds = demo_dataset(seed=4, n_regions=30, days=20)
    feats = list(ds.features[:5])
    y = (ds.frame["peak_flux"].to_numpy() >= 1e-6).astype(int)
    clf = FlareClassifier(hidden=(4,), max_epochs=1).fit(
        ds.frame[feats], y, groups=ds.frame["noaa_ar"]
    )
    x_dir = save_model(clf, tmp_path / "x", dataset=ds)
    for engine in ("numpy", "torch"):
        res = _forecast(model_dir, tmp_path / "out", "--x-model", str(x_dir), "--engine", engine)
        assert res.exit_code == 1 and "Error: " in res.output
        assert f"features {feats}" in res.output or "features do not match" in res.output, (
            res.output
        )
    assert not (tmp_path / "out").exists()


def test_weights_file_outside_the_folder_is_refused(folder, tmp_path):
    outside = tmp_path / "elsewhere.safetensors"
    shutil.copy(folder / WEIGHTS, outside)
    for name in (str(outside), "../elsewhere.safetensors"):
        _rewrite_sidecar(folder, file=name)
        for how in LOADERS:
            _refused(
                how,
                folder,
                tmp_path / "out",
                "'weights.file' must be a file name inside the model folder",
            )


def test_sidecar_describing_a_huge_network_is_refused_before_allocating_it(folder, tmp_path):
    meta = json.loads((folder / SIDECAR).read_text())
    meta["architecture"]["hidden"] = [200_000, 200_000]  # 4e10 weights: 160 GB if it were built
    meta["config"]["hidden"] = [200_000, 200_000]
    (folder / SIDECAR).write_text(json.dumps(meta))
    with pytest.raises(
        ModelFileError, match=r"needs at least \d+ weights but weights.safetensors holds \d+"
    ):
        load_model(folder)
    with pytest.raises(
        UnsupportedModel
    ):  # the numpy reader compares shapes only, and hands over to torch
        NumpyMLP.from_folder(folder)
    _refused("forecast --engine auto", folder, tmp_path / "out", "needs at least")


def test_oversized_or_deeply_nested_sidecar(folder):
    with open(
        folder / SIDECAR, "wb"
    ) as fh:  # a sparse file: big on disk, no memory used to make it
        fh.truncate(MAX_SIDECAR_BYTES + 1)
    for how in LOADERS:
        _refused(
            how, folder, folder, f"is {MAX_SIDECAR_BYTES + 1} bytes; a model sidecar is at most"
        )
    (folder / SIDECAR).write_text("[" * 200_000 + "]" * 200_000)
    for how in LOADERS:
        _refused(how, folder, folder, "JSON nested too deeply to be a flarecast file")


def test_config_contradicting_the_architecture(folder):
    meta = json.loads((folder / SIDECAR).read_text())
    meta["config"]["model"] = "sequence"
    (folder / SIDECAR).write_text(json.dumps(meta))
    with pytest.raises(
        ModelFileError, match="config says model 'sequence' but the architecture is 'mlp'"
    ):
        load_model(folder)
    # "many", and (fuzz findings) counts that made torch.set_num_threads raise or abort the whole process
    for threads in ("many", 16_755_518_193_664, 2**30):
        meta["config"] = {**meta["config"], "model": "mlp", "cpu_threads": threads}
        (folder / SIDECAR).write_text(json.dumps(meta))
        with pytest.raises(
            ModelFileError,
            match=r"is not a consistent model sidecar .*'cpu_threads' "
            r"parameter of FlareClassifier must be an int in \[1, 1024\]",
        ):
            load_model(folder)


# -- fuzz: any single value of model.json replaced by arbitrary JSON -------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=8,
)


def _paths(value, prefix=()):
    """Every key path into a JSON document (containers and leaves)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            yield from _paths(v, (*prefix, i))


@pytest.fixture(scope="module")
def fuzz_inputs(model_dir):
    meta = json.loads((model_dir / SIDECAR).read_text())
    X = demo_records(n_regions=5, days=14)[meta["features"]].dropna().head(20)
    return meta, sorted((p for p in _paths(meta) if p), key=str), X


# Quick profile: 120 edits; FLARECAST_FUZZ=heavy (the heavy fuzz profile of test_fuzz_readers.py): 2000.
def _loads_correctly_or_is_a_model_file_error(model_dir, meta, X, path, value) -> None:
    """``model.json`` with the value at ``path`` replaced by ``value``: both loaders refuse it with a
    ModelFileError naming the folder, or what they load predicts valid probabilities."""
    edited = copy.deepcopy(meta)
    target = edited
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(model_dir, Path(tmp) / "m"))
        (folder / SIDECAR).write_text(json.dumps(edited))
        for name, loader in (("load_model", load_model), ("NumpyMLP", NumpyMLP.from_folder)):
            try:
                clf = loader(folder)
            except ModelFileError as exc:
                assert str(folder) in str(exc)  # the message names the folder or its file
                continue
            except UnsupportedModel:
                assert name == "NumpyMLP"  # the caller then uses load_model, checked above
                continue
            # Whatever loads must still predict valid probabilities.
            p = clf.predict_proba(X)
            assert p.shape == (len(X), 2) and np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


# Quick profile: 120 edits; FLARECAST_FUZZ=heavy (the heavy fuzz profile of test_fuzz_readers.py): 2000.
@settings(
    max_examples=2000 if os.environ.get("FLARECAST_FUZZ") == "heavy" else 120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_sidecar_loads_correctly_or_is_a_model_file_error(model_dir, fuzz_inputs, data):
    meta, paths, X = fuzz_inputs
    path = data.draw(st.sampled_from(paths), label="path")
    value = data.draw(JSON, label="value")
    _loads_correctly_or_is_a_model_file_error(model_dir, meta, X, path, value)


#: What the fuzz test above found, fixed (2026-11-29), each kept as a regression.
SIDECAR_FINDINGS = [
    # positive, so accepted: x / scale overflowed the float32 network into NaN probabilities
    (("transform", "scale", 0), 5.9960610414271965e-269),
    # torch.set_num_threads raised "Overflow when unpacking long"; 2**30 aborted the whole process
    (("config", "cpu_threads"), 16_755_518_193_664),
    (("config", "cpu_threads"), 2**30),
    # ints beyond 64 bits: numpy's isfinite raised TypeError; beyond the float range, float() overflows
    (("base_rate",), -9_223_372_036_854_775_809),
    (("transform", "mean", 0), 10**400),
]


@pytest.mark.parametrize(("path", "value"), SIDECAR_FINDINGS)
def test_sidecar_fuzz_findings_stay_fixed(model_dir, fuzz_inputs, path, value):
    meta, _, X = fuzz_inputs
    _loads_correctly_or_is_a_model_file_error(model_dir, meta, X, path, value)


def test_safetensors_whose_header_length_starts_with_the_pickle_opcode_is_not_taken_for_a_pickle():
    """Regression: a real weights file whose 8-byte header length began with 0x80 was refused as a pickle."""
    from safetensors.numpy import load, save

    from flarecast.training.artifacts import foreign_format

    tensors = {"head.weight": np.zeros((2, 3, 1), dtype=np.float32)}
    blob = next(
        b for pad in range(400) if (b := save(tensors, metadata={"pad": "x" * pad}))[0] == 0x80
    )
    assert foreign_format(blob) is None
    np.testing.assert_array_equal(load(blob)["head.weight"], tensors["head.weight"])
    assert foreign_format(pickle.dumps(tensors)) == "a Python pickle"
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buffer)
    assert foreign_format(buffer.getvalue()).startswith("a zip archive")


# -- issue #16: calibration.json, duplicate keys, one validator for both engines, huge weights -------


def _calibration(folder: Path) -> dict:
    return json.loads((folder / "calibration.json").read_text())


def _damaged_calibrations(folder: Path) -> dict[str, tuple[bytes, str]]:
    good = _calibration(folder)
    big = "1" + "0" * 400  # 10**400: a valid JSON number that no float holds

    def text(state: dict) -> bytes:
        return json.dumps(state).encode()

    isotonic = {**good, "method": "isotonic", "params": {"x": [0.0, 0.5], "y": [0.1, 0.9]}}
    return {
        "not UTF-8": (b"\xff\xfe" + text(good), "is not UTF-8 text"),
        "nested 100k deep": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        "n_samples null": (text({**good, "n_samples": None}), "must be counts"),
        "n_samples many": (text({**good, "n_samples": "many"}), "must be counts"),
        "slope 10**400": (
            text({**good, "params": {**good["params"], "slope": 0.5}}).replace(
                b"0.5", big.encode()
            ),
            "slope and intercept must be finite numbers",
        ),
        "x 10**400": (
            text(isotonic).replace(b"0.5]", big.encode() + b"]"),
            "isotonic thresholds must be lists of numbers",
        ),
        "duplicate key": (
            text(good).replace(b'{"format"', b'{"method": "isotonic", "format"', 1),
            "the key 'method' appears twice",
        ),
    }


@pytest.mark.parametrize(
    "damage",
    ["not UTF-8", "nested 100k deep", "n_samples null", "n_samples many", "slope 10**400",
     "x 10**400", "duplicate key"],
)  # fmt: skip
def test_damaged_calibration_is_a_clean_error_everywhere(folder, tmp_path, damage):
    """Each of these gave a traceback in predict and forecast."""
    blob, match = _damaged_calibrations(folder)[damage]
    (folder / "calibration.json").write_bytes(blob)
    from flarecast.evaluation.calibration import load_calibrator

    with pytest.raises(ModelFileError, match=match):
        load_calibrator(folder)
    for how in ("predict", "forecast --engine numpy", "forecast --engine torch"):
        _refused(how, folder, tmp_path / how.replace(" ", "_"), match)


def test_duplicate_keys_in_model_json_are_refused(folder, tmp_path):
    """json.loads kept the last of two equal keys without a word."""
    text = (folder / SIDECAR).read_text()
    (folder / SIDECAR).write_text(text.replace('"threshold":', '"threshold": 0.0, "threshold":', 1))
    for how in (*LOADERS, "predict", "forecast --engine numpy"):
        _refused(how, folder, tmp_path / how.replace(" ", "_"), "the key 'threshold' appears twice")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"colour": "blue"}, r"'config' has unknown key\(s\) \['colour'\]"),
        ({"n_members": -1}, r"'n_members' parameter of FlareClassifier must be an int >= 1"),
        ({"gamma": 1e999}, r"'gamma' parameter of FlareClassifier must be a float >= 0 and finite"),
    ],
)
def test_both_engines_refuse_what_one_refuses(folder, change, match):
    """The numpy engine accepted a model.json (unknown key, n_members -1) that load_model refused."""
    meta = json.loads((folder / SIDECAR).read_text())
    meta["config"].update(change)
    (folder / SIDECAR).write_text(json.dumps(meta))
    for how in LOADERS:
        with pytest.raises(ModelFileError, match=match):
            LOADERS[how](folder, None)


_PEAK_RSS = """
import resource, sys
from flarecast.errors import ModelFileError
from flarecast.training.artifacts import load_model
try:
    load_model(sys.argv[1])
except ModelFileError as exc:
    print(exc)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "MiB")
"""


def _load_peak_rss(folder: Path) -> tuple[str, int]:
    """Load ``folder`` in a fresh process: (the ModelFileError message or '', peak RSS in MiB)."""
    res = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(folder)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    *message, rss = res.stdout.strip().splitlines()
    return "\n".join(message), int(rss.split()[0])


@pytest.fixture(scope="module")
def intact_rss(model_dir, tmp_path_factory) -> int:
    """The peak memory (MiB) of loading the intact folder in a fresh process, as the test loads
    the damaged one: imports (torch) alone take several hundred MiB, and how many depends on
    the installed packages, not on flarecast. Every case damages a copy of the same folder, so
    one measurement serves them all."""
    intact = Path(shutil.copytree(model_dir, tmp_path_factory.mktemp("intact") / "model"))
    message, rss = _load_peak_rss(intact)
    assert message == "", message
    return rss


@pytest.mark.parametrize("gib", [2, 30])
@pytest.mark.parametrize("vouched", [False, True])
def test_huge_sparse_weights_are_refused_unread(folder, intact_rss, gib, vouched):
    """A sparse 2 GiB weights file was read whole (2.2-2.5 GB) before the size check; 30 GiB
    raised MemoryError."""
    with open(folder / WEIGHTS, "r+b") as fh:
        fh.truncate(gib << 30)
    if vouched:  # an attacker also edits model.json to match; the size cap refuses it unread
        meta = json.loads((folder / SIDECAR).read_text())
        meta["weights"]["bytes"] = gib << 30
        (folder / SIDECAR).write_text(json.dumps(meta))
    message, rss = _load_peak_rss(folder)
    expected = "a flare network is a few MB" if vouched else "is longer than written"
    assert expected in message and str(gib << 30) in message
    # MiB: nothing near the file's size (2048 or 30720 MiB) was read.
    assert rss < intact_rss + 256, (rss, intact_rss)
