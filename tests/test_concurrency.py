"""Concurrent and killed forecast runs leave each day folder whole: the old or the new report, never a mix.

Real processes only: ``flarecast forecast`` started twice at once for the same
day (in a loop), killed with SIGKILL while it writes (the test-only
``FLARECAST_TEST_REPORT_PAUSE_S`` slows the writer down so the kill lands
inside the write) and at random instants, blocked by a lock held by another
process; and several writer processes calling ``write_report`` in a tight
loop while this process keeps reading the day folder.

"Whole" is checked by content: every report of a run is rendered again here
(or by a solo run of the same command), and the day folder must equal one of
them in all five files, with ``generated_at`` the only line allowed to differ.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flarecast.forecast.report import _TEST_PAUSE_ENV, FILES, read_index_entries
from flarecast.io import folder_lock

pytestmark = pytest.mark.slow

sys.path.insert(0, str(Path(__file__).parent))

DAY = "2011-06-01"
FLARECAST = str(Path(sys.executable).with_name("flarecast"))
_GENERATED = re.compile(r'^  "generated_at": "[^"]*",\n', re.MULTILINE)


def normalised(day: Path) -> dict[str, str]:
    """The five files of a day folder, ``generated_at`` (the only time-dependent value) blanked."""
    files = {p.name: p.read_text() for p in day.iterdir()}
    if "forecast.json" in files:
        files["forecast.json"] = _GENERATED.sub("", files["forecast.json"])
    return files


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


def check_index(root: Path) -> None:
    """index.html is what the folder now holds (it was rebuilt by the last writer, under the lock)."""
    from flarecast.forecast.html import render_index

    assert (root / "index.html").read_text() == render_index(read_index_entries(root))


# -- the real command --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A small trained model and the reports of two different inputs, each written by a solo run."""
    base = tmp_path_factory.mktemp("concurrency")
    model = tiny_model(base / "model")
    runs = {
        name: forecast_cmd(model, features, base / f"solo-{name}")
        for name, features in (("A", "demo:1"), ("B", "demo:3"))
    }
    procs = {
        name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for name, cmd in runs.items()
    }
    for proc in procs.values():
        status, output = finish(proc)
        assert status == 0, output
    reference = {name: normalised(base / f"solo-{name}" / DAY) for name in runs}
    assert reference["A"] != reference["B"] and sorted(reference["A"]) == sorted(FILES)
    assert all(
        reference["A"][f] != reference["B"][f] for f in FILES
    )  # every file tells the runs apart
    return model, base, reference


def tiny_model(folder: Path) -> Path:
    """A one-epoch network on a small SYNTHETIC table: the forecast only needs a valid model folder."""
    from flarecast.data.synthetic import demo_dataset
    from flarecast.training.artifacts import save_model
    from flarecast.training.estimator import FlareClassifier

    ds = demo_dataset(seed=0, n_regions=40, days=30)
    y = (ds.frame["peak_flux"].to_numpy() >= 1e-6).astype(int)
    clf = FlareClassifier(hidden=(4,), max_epochs=1).fit(
        ds.frame[list(ds.features)], y, groups=ds.frame["noaa_ar"]
    )
    return save_model(
        clf, folder, dataset=ds, targets_definition="positive: >= C1.0; negative: N, A, B"
    )


def forecast_cmd(model: Path, features: str, out: Path) -> list[str]:
    return [
        FLARECAST,
        "forecast",
        "--model",
        str(model),
        "--features",
        features,
        "--date",
        DAY,
        "--engine",
        "numpy",
        "--out",
        str(out),
    ]


def start(cmd: list[str], pause: float | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    if pause is not None:
        env[_TEST_PAUSE_ENV] = str(pause)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    """The process's exit status and output; communicate() also closes the pipes."""
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, (out or err or b"").decode(errors="replace")


def which(day: Path, reference: dict[str, dict[str, str]]) -> str:
    """The run whose complete report the folder holds; fails on a mix or a partial folder."""
    files = normalised(day)
    assert sorted(files) == sorted(FILES), f"{day} holds {sorted(files)}"
    matches = [name for name, ref in reference.items() if ref == files]
    mixed = {f: [n for n, ref in reference.items() if ref[f] == files[f]] for f in FILES}
    assert len(matches) == 1, f"{day} is a mix of runs: {mixed}"
    return matches[0]


def test_two_commands_for_the_same_day_at_once(setup, tmp_path):
    model, base, reference = setup
    out = tmp_path / "reports"
    seen = set()
    deadline = time.monotonic() + 4
    rounds = 0
    while rounds < 2 or (time.monotonic() < deadline and rounds < 10):
        # Odd rounds slow the writers down so their writes surely overlap in time.
        pause = 0.02 if rounds % 2 else None
        procs = [start(forecast_cmd(model, f, out), pause) for f in ("demo:1", "demo:3")]
        for proc in procs:
            status, output = finish(proc)
            assert status == 0, output
        seen.add(which(out / DAY, reference))
        assert sorted(p.name for p in out.iterdir()) == [
            DAY,
            "index.html",
        ]  # no temporary or old folders
        check_index(out)
        rounds += 1
    assert rounds >= 2 and seen <= {"A", "B"}


def test_a_writer_killed_mid_write_leaves_the_old_report(setup, tmp_path):
    model, base, reference = setup
    out = tmp_path / "reports"
    assert finish(start(forecast_cmd(model, "demo:1", out)))[0] == 0
    index_before = (out / "index.html").read_bytes()
    proc = start(forecast_cmd(model, "demo:3", out), pause=0.3)
    deadline = time.monotonic() + 60
    while not any(len(list(t.iterdir())) >= 2 for t in out.glob(f".{DAY}.*.tmp")):
        assert proc.poll() is None and time.monotonic() < deadline, (
            "the writer ended before it could be killed"
        )
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert finish(proc, 30)[0] == -signal.SIGKILL
    assert which(out / DAY, reference) == "A"  # the old report, whole
    assert (out / "index.html").read_bytes() == index_before
    assert [
        name for name in leftovers(out) if name.endswith(".tmp")
    ]  # the kill did land inside the write
    # The next run cleans up after the dead one and publishes the new report.
    assert finish(start(forecast_cmd(model, "demo:3", out)))[0] == 0
    assert which(out / DAY, reference) == "B" and leftovers(out) == []
    check_index(out)


def test_kills_at_random_instants(setup, tmp_path):
    model, base, reference = setup
    out = tmp_path / "reports"
    assert finish(start(forecast_cmd(model, "demo:1", out)))[0] == 0
    rng = random.Random(7)
    outcomes = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline or len(outcomes) < 3:
        proc = start(
            forecast_cmd(model, rng.choice(["demo:1", "demo:3"]), out),
            pause=rng.choice([0.0, 0.05]),
        )
        time.sleep(rng.uniform(0.2, 1.2))
        proc.send_signal(signal.SIGKILL)
        outcomes.append(finish(proc, 30)[0])
        which(out / DAY, reference)  # never missing, partial or mixed, wherever the kill landed
    assert -signal.SIGKILL in outcomes


def test_a_writer_waits_for_the_folder_lock(setup, tmp_path):
    model, base, reference = setup
    out = tmp_path / "reports"
    assert finish(start(forecast_cmd(model, "demo:1", out)))[0] == 0
    with folder_lock(out):
        proc = start(forecast_cmd(model, "demo:3", out))
        time.sleep(2.0)  # enough for the run to reach write_report (it takes ~1 s alone)
        assert proc.poll() is None, "the writer did not wait for the lock"
        assert which(out / DAY, reference) == "A"
    assert finish(proc)[0] == 0
    assert which(out / DAY, reference) == "B"


# -- many writers, one reader ----------------------------------------------------------------------------


class _Scale:
    """predict_proba = USFLUX / 1e23: each writer's tag gives its own probabilities."""

    def predict_proba(self, X):
        p = np.clip(X["USFLUX"].to_numpy() / 1e23, 0, 1)
        return np.column_stack([1 - p, p])


def tagged_forecast(tag: int):
    from flarecast.forecast.config import InputInfo, ModelInfo
    from flarecast.forecast.core import make_forecast

    t0 = pd.Timestamp(DAY, tz="UTC")
    frame = pd.DataFrame(
        {
            "noaa_ar": pd.array([11100 + i for i in range(4)], dtype="Int64"),
            "LON_FWT": [-30.0, -5.0, 10.0, 40.0],
            "LAT_FWT": [10.0, -12.0, 8.0, 20.0],
            "USFLUX": [(tag + 1) * (i + 1) * 1e21 for i in range(4)],
            "MEANSHR": 40.0,
            "time": t0 - pd.Timedelta(hours=1),
        }
    )
    info = ModelInfo(
        model_id=f"writer-{tag}",
        features=("USFLUX", "MEANSHR"),
        target_definition="positive: >= M1.0; negative: N, A, B, C",
        flaring_only=False,
        calibration="none",
        calibration_method="none",
    )
    return make_forecast(
        frame, _Scale(), info, t0, input_info=InputInfo(f"writer-{tag}.csv", None, False)
    )


def expected_files(tag: int) -> dict[str, str]:
    from flarecast.forecast.formats import forecast_to_dict, render_csv, render_md, render_txt
    from flarecast.forecast.html import render_html

    fc = tagged_forecast(tag)
    text = json.dumps(forecast_to_dict(fc), indent=2) + "\n"
    return {
        "forecast.json": _GENERATED.sub("", text),
        "forecast.csv": render_csv(fc),
        "forecast.txt": render_txt(fc),
        "forecast.md": render_md(fc),
        "forecast.html": render_html(fc, {}),
    }


def _writer(root: str, tag: int, n: int) -> None:
    from flarecast.forecast.report import write_report

    fc = tagged_forecast(tag)
    for _ in range(n):
        write_report(fc, root)


def test_writer_processes_and_a_reader(tmp_path):
    root = tmp_path / "reports"
    _writer(str(root), 0, 1)
    reference = {str(tag): expected_files(tag) for tag in range(4)}
    assert which(root / DAY, reference) == "0"
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_concurrency as t; "
        f"t._writer({str(root)!r}, int(sys.argv[1]), 12)"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", code, str(tag)], stderr=subprocess.PIPE)
        for tag in (1, 2, 3)
    ]
    problems, reads = [], [0]
    docs = {_GENERATED.sub("", ref["forecast.json"]) for ref in reference.values()}

    def read() -> None:
        while any(w.poll() is None for w in writers):
            try:
                os.stat(root / DAY)
            except FileNotFoundError:
                problems.append("the day folder was missing")
                continue
            try:
                text = (root / DAY / "forecast.json").read_text()
            except FileNotFoundError:
                continue  # read from the replaced folder while it was being deleted: allowed
            if _GENERATED.sub("", text) not in docs:
                problems.append(
                    f"forecast.json was not one writer's complete file: {text[:80]!r}..."
                )
            reads[0] += 1

    reader = threading.Thread(target=read)
    reader.start()
    for w in writers:
        status, errors = finish(w)
        assert status == 0, errors
    reader.join()
    assert problems == [] and reads[0] > 10
    assert which(root / DAY, reference) in {"1", "2", "3"}
    assert sorted(p.name for p in root.iterdir()) == [DAY, "index.html"]
    check_index(root)


def test_rename_fallback_and_repair_of_a_run_killed_between_its_renames(tmp_path, monkeypatch):
    from flarecast.forecast.report import write_report

    root = tmp_path / "reports"
    reference = {str(tag): expected_files(tag) for tag in range(3)}
    monkeypatch.setattr("flarecast.io.exchange_paths", lambda a, b: False)  # as on macOS
    write_report(tagged_forecast(0), root)
    write_report(tagged_forecast(1), root)
    assert which(root / DAY, reference) == "1" and leftovers(root) == []
    # A run killed between "day -> .day.X.old" and ".day.Y.tmp -> day" leaves no day folder ...
    os.rename(root / DAY, root / f".{DAY}.dead.old")
    (root / f".{DAY}.dead2.tmp").mkdir()

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    # ... and the next run puts the old day back first, even when its own write then fails.
    monkeypatch.setattr("flarecast.forecast.report.render_html", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(tagged_forecast(2), root)
    assert which(root / DAY, reference) == "1" and leftovers(root) == []
