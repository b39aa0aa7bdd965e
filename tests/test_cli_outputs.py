"""Every command that writes, over the same cases: what the operating system refuses is one
``Error:`` line (no traceback, non-zero exit, nothing half-written), and no output may
destroy an input, a model folder or a registered data file.

The commands and their arguments are one table (:data:`WRITERS`), so a new command
joins every check by adding one row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from flarecast.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from _forecast_model import demo_records, train_tiny_model  # noqa: E402

FLARECAST = Path(sys.executable).with_name("flarecast")


@dataclasses.dataclass(frozen=True)
class Files:
    """Small real inputs shared by every case: a model folder, tables, a series and a catalogue."""

    root: Path
    model: Path
    table: Path
    sharp: Path
    series: Path
    events: Path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    from flarecast.data.synthetic import demo_dataset

    root = tmp_path_factory.mktemp("inputs")
    model = train_tiny_model(root / "model")
    table = root / "table.csv"
    demo_dataset(seed=3, n_regions=30, days=20).frame.to_csv(table, index=False)
    sharp = root / "sharp.csv"
    demo_records(n_regions=10, days=14).to_csv(sharp, index=False)
    series = root / "series.csv"
    series.write_text(
        "T_REC,HARPNUM,NOAA_AR,USFLUX,TOTPOT\n"
        "2014.01.01_00:00:00_TAI,10,11944,1e21,1e23\n"
        "2014.01.02_00:00:00_TAI,10,11944,2e21,2e23\n"
        "2014.01.01_00:00:00_TAI,11,11950,3e21,3e23\n"
    )
    events = root / "events.csv"
    events.write_text(
        "Flare Class,Start Time,Peak Time,End Time,Active Region Number\n"
        "M1.0,2013-12-31T12:00Z,2013-12-31T12:10Z,2013-12-31T12:20Z,11944\n"
        "C3.0,2014-01-01T07:00Z,2014-01-01T07:10Z,2014-01-01T07:20Z,11950\n"
    )
    return Files(root, model, table, sharp, series, events)


# command -> (arguments given the inputs and the output path, does it write a folder?)
WRITERS: dict[str, tuple[Callable[[Files, Path], list[str]], bool]] = {
    "predict": (
        lambda f, out: ["predict", "--model", f.model, "--dataset", f.table, "--out", out],
        False,
    ),
    "label": (
        lambda f, out: ["label", "--sharp", f.sharp, "--catalogue", "demo", "--out", out],
        False,
    ),
    "evaluate": (
        lambda f, out: [
            *("evaluate", "--model", f.model, "--dataset", f.table),
            *("--n-boot", "10", "--no-figures", "--out", out),
        ],
        True,
    ),
    "forecast": (
        lambda f, out: ["forecast", "--model", f.model, "--features", f.sharp, "--out", out],
        True,
    ),
    "train": (
        lambda f, out: [
            *("train", "--dataset", "demo", "--epochs", "1", "--seeds", "1"),
            *("--hidden", "4", "--quiet", "--out", out),
        ],
        True,
    ),
    "reproduce": (
        lambda f, out: [
            *("reproduce", "--dataset", "demo", "--folds", "2", "--seeds", "1"),
            *("--methods", "climatology", "--n-boot", "10", "--no-figures", "--out", out),
        ],
        True,
    ),
    "tune": (
        lambda f, out: [
            *("tune", "--dataset", "demo", "--folds", "2", "--seeds", "1"),
            *("--alphas", "0.25", "--gammas", "2", "--out", out),
        ],
        True,
    ),
    "retrain": (
        lambda f, out: [
            *("retrain", "--sharp", "demo", "--catalogue", "demo", "--base-model", f.model),
            *("--epochs", "1", "--n-boot", "10", "--quiet", "--out", out),
        ],
        True,
    ),
    "backtest": (
        lambda f, out: ["backtest", "--dataset", "hayes-srs", "--n-boot", "0", "--out", out],
        True,
    ),
    "benchmark": (
        lambda f, out: [
            *("benchmark", "--datasets", "flareml-2017", "--repeats", "2"),
            *("--no-figures", "--quiet", "--out", out),
        ],
        True,
    ),
    "reference-rates": (
        lambda f, out: ["reference-rates", "--dataset", "hayes-srs", "--out", out],
        False,
    ),
}
# Commands that read a real data set (FLARECAST_DATA_DIR) and may work for minutes before writing.
REAL_DATA = ("backtest", "benchmark", "reference-rates")

# Commands a test runs to completion are the quick ones; the others fail before their work.
QUICK = ("predict", "label", "evaluate", "forecast")


def _args(command: str, files: Files, out: Path) -> list[str]:
    return [str(a) for a in WRITERS[command][0](files, out)]


def _one_error_line(output: str) -> str:
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    return errors[0]


def _digest(path: Path) -> str:
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return ",".join(f"{p.relative_to(path)}:{_digest(p)}" for p in sorted(path.rglob("*")))


# -- operating-system errors: one line, in process ------------------------------------------


@pytest.mark.parametrize(
    "command",
    [pytest.param(c, marks=pytest.mark.slow) if c in REAL_DATA else c for c in sorted(WRITERS)],
)
def test_output_below_a_file_is_one_error_line(command, files, tmp_path, monkeypatch, request):
    # A path whose parent is a regular file fails for every user, root included.
    if command in REAL_DATA:
        monkeypatch.setenv("FLARECAST_DATA_DIR", str(request.getfixturevalue("data_dir").resolve()))
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("the user's file\n")
    out = blocker / ("result" if WRITERS[command][1] else "result.csv")
    result = CliRunner().invoke(main, _args(command, files, out))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an OSError traceback
    line = _one_error_line(result.output)
    assert str(blocker) in line and ("Not a directory" in line or "File exists" in line), line
    assert blocker.read_text() == "the user's file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_os_error_message_names_the_path_not_the_temporary_file():
    from flarecast.cli._outputs import os_error_message

    exc = OSError(30, "Read-only file system", "/data/out/.table.csv.k2j9x_1a.tmp")
    assert os_error_message(exc) == (
        "/data/out/table.csv: Read-only file system (the folder cannot be written)"
    )
    moved = OSError(18, "Invalid cross-device link", "a/x", None, "b/y")
    assert os_error_message(moved) == "a/x -> b/y: Invalid cross-device link"


def test_memory_error_is_one_line(files, tmp_path):
    # 10**12 bootstrap resamples: numpy refuses the 218 TiB array at once, a real MemoryError.
    out = tmp_path / "report"
    args = _args("evaluate", files, out)
    args[args.index("--n-boot") + 1] = str(10**12)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    line = _one_error_line(result.output)
    assert "out of memory" in line and "TiB" in line and "--n-boot" in line, line
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


# -- operating-system errors: real processes on a read-only or full file system ---------------


def _namespace_available() -> bool:
    try:
        probe = subprocess.run(
            ["unshare", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


needs_mounts = pytest.mark.skipif(
    not _namespace_available(),
    reason="needs unshare and tmpfs mounts in a user namespace (util-linux, unprivileged userns)",
)

_SCRIPT = r"""
set -e
for d in $READ_ONLY; do mount --bind "$d" "$d"; mount -o remount,bind,ro "$d" "$d"; done
mount -t tmpfs -o "$TMPFS" tmpfs "$WRITABLE"
cd "$WORKDIR"
set +e
"$@"
rc=$?
echo "--- left behind:"
find "$WRITABLE" -type f
exit $rc
"""


def _run_mounted(
    args: list[str], writable: Path, *, tmpfs: str, read_only: str = "", env=None, cwd=None
):
    """Run flarecast in a private mount namespace with ``writable`` a fresh tmpfs."""
    writable.mkdir(exist_ok=True)
    env = {
        **os.environ,
        **(env or {}),
        "READ_ONLY": read_only,
        "TMPFS": tmpfs,
        "WRITABLE": str(writable),
        "WORKDIR": str(cwd or writable.parent),
        "MPLBACKEND": "Agg",
    }
    proc = subprocess.run(
        ["unshare", "--map-root-user", "--mount", "sh", "-c", _SCRIPT, "sh", str(FLARECAST), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    # Files only: an empty folder holds nothing a reader could mistake for a result.
    left = proc.stdout.split("--- left behind:\n")[-1].split()
    return proc, left


@pytest.mark.slow
@needs_mounts
@pytest.mark.parametrize("disk", ["ro", "size=8k"], ids=["read-only", "full"])
@pytest.mark.parametrize("command", QUICK + ("train", "reproduce", "tune", "retrain"))
def test_read_only_or_full_disk(command, disk, files, tmp_path):
    writable = tmp_path / "disk"
    out = writable / ("result" if WRITERS[command][1] else "result.csv")
    proc, left = _run_mounted(_args(command, files, out), writable, tmpfs=disk)
    assert proc.returncode == 1, proc.stderr
    line = _one_error_line(proc.stderr)
    cause = "Read-only file system" if disk == "ro" else "No space left on device"
    assert cause in line and str(writable) in line, line  # the path, also for a full disk
    assert left == [], f"half-written output left on the disk: {left}"


@pytest.mark.slow
@needs_mounts
@pytest.mark.parametrize("command", sorted(QUICK + ("train", "reproduce", "tune", "retrain")))
def test_no_usable_temporary_folder(command, files, tmp_path):
    # TMPDIR names nothing, and /tmp, /var/tmp and the working folder are read only: Python's
    # tempfile has nowhere to go. The command either does not need it or says so in one line.
    writable = tmp_path / "disk"
    out = writable / ("result" if WRITERS[command][1] else "result.csv")
    proc, left = _run_mounted(
        _args(command, files, out),
        writable,
        tmpfs="size=64m",
        read_only="/tmp /var/tmp",
        env={"TMPDIR": str(tmp_path / "missing")},
        cwd=tmp_path,
    )
    if proc.returncode != 0:
        assert proc.returncode == 1, proc.stderr
        line = _one_error_line(proc.stderr)
        assert "No usable temporary directory" in line, line
        assert left == [], f"half-written output left on the disk: {left}"


# -- operating-system errors: unreadable inputs and read-only folders, as an ordinary user ------
#
# Root reads and writes through any permission bits. In a user namespace where this user is
# mapped to an unprivileged id the process keeps its own files' owner bits but has no
# capability to override them, so chmod 000 and 555 mean what they say, for root too.


def _user_namespace_available() -> bool:
    try:
        probe = subprocess.run(
            ["unshare", "--map-user=65534", "--map-group=65534", "true"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


needs_user_namespace = pytest.mark.skipif(
    not _user_namespace_available(),
    reason="needs unshare --map-user (unprivileged user namespaces)",
)


def _run_unprivileged(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["unshare", "--map-user=65534", "--map-group=65534", str(FLARECAST), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )


def _private_inputs(files: Files, tmp_path: Path) -> Files:
    root = tmp_path / "inputs"
    shutil.copytree(files.root, root, symlinks=True)
    return Files(root, *(root / p.relative_to(files.root) for p in dataclasses.astuple(files)[1:]))


UNREADABLE = [
    ("predict", "model/model.json"),
    ("predict", "model/weights.safetensors"),
    ("predict", "table.csv"),
    ("evaluate", "model/weights.safetensors"),
    ("evaluate", "table.csv"),
    ("forecast", "model/model.json"),
    ("forecast", "sharp.csv"),
    ("label", "sharp.csv"),
]


@pytest.mark.slow
@needs_user_namespace
@pytest.mark.parametrize(("command", "unreadable"), UNREADABLE)
def test_unreadable_input_is_one_error_line(command, unreadable, files, tmp_path):
    files = _private_inputs(files, tmp_path)
    (files.root / unreadable).chmod(0)
    out = tmp_path / "out" / ("result" if WRITERS[command][1] else "result.csv")
    proc = _run_unprivileged(_args(command, files, out))
    assert proc.returncode == 1, proc.stderr
    line = _one_error_line(proc.stderr)
    assert unreadable.split("/")[-1] in line and "ermission denied" in line, line
    assert not out.exists()


@pytest.mark.slow
@needs_user_namespace
@pytest.mark.parametrize("command", QUICK + ("train", "reproduce", "tune", "retrain"))
def test_read_only_output_folder_is_one_error_line(command, files, tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    out = folder / ("result" if WRITERS[command][1] else "result.csv")
    proc = _run_unprivileged(_args(command, files, out))
    folder.chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    line = _one_error_line(proc.stderr)
    assert str(folder) in line and "Permission denied" in line, line
    assert list(folder.iterdir()) == []


# -- outputs that would destroy the user's own files -----------------------------------------

REGISTERED = "umich_arflares/arflares24h.csv"  # the file of the registered set umich-24h


@pytest.fixture
def data_copy(tmp_path, data_dir, monkeypatch) -> Path:
    """A data folder holding a copy of one registered file; $FLARECAST_DATA_DIR points at it."""
    root = tmp_path / "data"
    (root / REGISTERED).parent.mkdir(parents=True)
    shutil.copyfile(data_dir / REGISTERED, root / REGISTERED)
    monkeypatch.setenv("FLARECAST_DATA_DIR", str(root))
    return root


# (command, output relative to the inputs folder): the output is an input, another name
# for one, a file inside a model folder, a model folder the command reads, or an existing
# model folder that a command which does not write models would fill.
INPUT_CASES = [
    ("predict", "table.csv"),
    ("predict", "table-link.csv"),
    ("predict", "model/model.json"),
    ("label", "sharp.csv"),
    ("label", "model/labels.csv"),
    ("evaluate", "model"),
    ("evaluate", "model/report"),
    ("forecast", "model"),
    ("retrain", "model"),
    ("reproduce", "model"),
    ("tune", "model"),
    ("tune", "config.toml"),  # any file option is an input: here --config
]


def _refused(result, *words: str) -> None:
    assert result.exit_code == 2, result.output  # a usage error: nothing was run
    line = _one_error_line(result.output)
    assert "--out" in line and all(w in line for w in words), line


@pytest.mark.parametrize(("command", "output"), INPUT_CASES)
def test_output_that_is_an_input_or_inside_a_model_folder_is_refused(
    command, output, files, tmp_path
):
    # A private copy of the inputs: a command that does destroy one must not spoil the others' cases.
    files = _private_inputs(files, tmp_path)
    root = files.root
    (root / "table-link.csv").symlink_to(files.table)
    out = root / output
    victim = files.model if output.startswith("model") else out.resolve()
    args = _args(command, files, out)
    if output == "config.toml":
        out.write_text("[protocol]\n")
        args += ["--config", str(out)]
    before = _digest(victim)
    result = CliRunner().invoke(main, args)
    _refused(result, "model folder" if victim == files.model else "input")
    assert _digest(victim) == before


def test_a_new_model_folder_inside_a_model_folder_is_allowed(files, tmp_path):
    # The forecast reads a separate >= X model from MODEL/x: train must be able to write it.
    files = _private_inputs(files, tmp_path)
    result = CliRunner().invoke(main, _args("train", files, files.model / "x"))
    assert result.exit_code == 0, result.output
    assert (files.model / "x" / "model.json").is_file()


@pytest.mark.parametrize("command", sorted(WRITERS) + ["data sharp"])
def test_output_onto_registered_data_is_refused(command, files, data_copy):
    registered = data_copy / REGISTERED
    if command == "data sharp":
        # The refusal comes before any query: the server named here does not exist.
        args = [
            *("data", "sharp", "--start", "2014-01-01", "--end", "2014-01-02"),
            *("--server-url", "http://127.0.0.1:9/", "--out", str(registered)),
        ]
    else:
        out = registered if not WRITERS[command][1] else registered.parent
        args = _args(command, files, out)
    before = _digest(data_copy)
    result = CliRunner().invoke(main, args)
    _refused(result, "registered data set", "umich-24h")
    assert _digest(data_copy) == before
