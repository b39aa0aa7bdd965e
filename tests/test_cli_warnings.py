"""Every command shows flarecast's warnings as one ``Warning: ...`` line, never Python's format.

The lazy command group wraps every command (``flarecast.cli._LazyGroup.invoke``); before, only
the commands that wrapped themselves did, and ``reproduce``/``benchmark``/``evaluate`` printed
``.../read.py:182: DataWarning: ...`` followed by the source line that raised it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_reproduce_shows_a_dropped_row_as_one_warning_line(tmp_path, table_missing_one_cell):
    table = table_missing_one_cell
    res = subprocess.run(
        [sys.executable, "-c", "from flarecast.cli import main; main()", "reproduce", "--dataset",
         str(table), "--repeats", "1", "--methods", "climatology,logistic", "--no-figures",
         "--no-importance", "--quiet", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stderr.splitlines() if "dropped 1 row(s)" in line]
    assert lines and all(line.startswith(f"Warning: {table}: dropped 1 row(s)") for line in lines)
    assert "DataWarning" not in res.stderr, res.stderr
