"""An evaluation's output folder is written as one unit (flarecast.evaluation.outputs)."""

from __future__ import annotations

import pytest

from flarecast.errors import ConfigError
from flarecast.evaluation.outputs import staged_output


def _old_run(out):
    out.mkdir()
    for name in ("table.csv", "run.json", "roc.png", ".roc.png.x1y2.tmp"):
        (out / name).write_text(f"old {name}")
    (out / ".partial").mkdir()
    (out / ".partial" / "fold0-ce.safetensors").write_text("fit")
    (out / "tune").mkdir()
    (out / "tune" / "tune.csv").write_text("nested run")
    (out / "notes.txt").write_text("the user's")


def test_a_failed_run_leaves_the_old_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    _old_run(out)
    before = {p.relative_to(out): p.read_text() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(KeyboardInterrupt), staged_output(out) as staged:
        (staged / "table.csv").write_text("new")
        raise KeyboardInterrupt
    after = {p.relative_to(out): p.read_text() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left


def test_a_finished_run_replaces_the_outputs_as_a_set_and_keeps_the_rest(tmp_path):
    out = tmp_path / "out"
    _old_run(out)
    with staged_output(out) as staged:
        (staged / "table.csv").write_text("new")
        (staged / "run.json").write_text("new")
    assert (out / "table.csv").read_text() == "new" and (out / "run.json").read_text() == "new"
    # The old figure and a killed run's temporary file belong to the replaced set.
    assert not (out / "roc.png").exists() and not (out / ".roc.png.x1y2.tmp").exists()
    assert (out / "notes.txt").read_text() == "the user's"
    assert (out / "tune" / "tune.csv").read_text() == "nested run"
    assert (out / ".partial" / "fold0-ce.safetensors").read_text() == "fit"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_new_folder_is_created_and_a_file_is_refused(tmp_path):
    with staged_output(tmp_path / "a" / "b") as staged:
        (staged / "table.md").write_text("x")
    assert (tmp_path / "a" / "b" / "table.md").read_text() == "x"
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="is a file, not a folder"), staged_output(tmp_path / "f"):
        pass


def test_a_swap_that_fails_puts_the_carried_files_back(tmp_path, monkeypatch):
    # Fault injection: the one rename that cannot be made to fail on demand on a real file system.
    def refuse(a, b):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("flarecast.io.exchange_paths", refuse)
    out = tmp_path / "out"
    _old_run(out)
    before = {p.relative_to(out): p.read_text() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(OSError, match="No space"), staged_output(out) as staged:
        (staged / "table.csv").write_text("new")
    after = {p.relative_to(out): p.read_text() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
