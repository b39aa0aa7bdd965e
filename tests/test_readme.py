"""The README's shell blocks run as written in a fresh shell, and every path it names exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from flarecast.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def _commands() -> list[str]:
    """Every command of every bash block, continuation lines joined, comments dropped."""
    out = []
    for block in BLOCKS:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line and not line.startswith("#"):
                out.extend(part.strip() for part in line.split("&&"))
    return out


COMMANDS = _commands()


def test_blocks_were_found():
    assert len(BLOCKS) >= 8 and any("flarecast forecast" in c for c in COMMANDS)


def test_every_command_runs_in_a_fresh_shell():
    # A fresh shell has neither the virtual environment on PATH nor pandas in the system
    # Python: programs come from .venv/bin/ (only the venv itself is made by python3).
    allowed = (".venv/bin/", "export ", "python3 -m venv ", "FLARECAST_")
    bad = [c for c in COMMANDS if not c.startswith(allowed)]
    assert not bad, "README commands that need an activated environment:\n  " + "\n  ".join(bad)
    env_prefixed = [c for c in COMMANDS if c.startswith("FLARECAST_")]
    for c in env_prefixed:
        program = next(w for w in shlex.split(c) if "=" not in w)
        assert program.startswith(".venv/bin/"), c


def _flarecast_calls() -> list[list[str]]:
    calls = []
    for c in COMMANDS:
        words = shlex.split(c)
        words = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
        if words and words[0] == ".venv/bin/flarecast":
            calls.append(words[1:])
    return calls


@pytest.mark.parametrize("call", _flarecast_calls(), ids=lambda c: " ".join(c[:2]))
def test_every_flarecast_call_names_a_real_command_and_options(call):
    path = [w for w in call if not w.startswith("-")][:2]
    help_text = CliRunner().invoke(main, [path[0], "--help"]).output
    if path[0] == "data":
        help_text = CliRunner().invoke(main, path[:2] + ["--help"]).output
    assert "Usage:" in help_text, (call, help_text)
    for option in (w.split("=")[0] for w in call if w.startswith("--")):
        assert option in help_text, f"{option} is not an option of flarecast {path[0]}: {call}"


def test_every_named_file_exists():
    named = set(
        re.findall(
            r"`((?:flarecast|scripts|benchmarks|tests|docs|notebooks|data|constraints)/[\w./-]+)`",
            README,
        )
    )
    named |= set(re.findall(r"\]\(((?:docs|data|benchmarks)/[\w./-]+)\)", README))
    assert len(named) >= 10
    missing = sorted(p for p in named if not (ROOT / p.split(" ")[0]).exists())
    assert not missing, f"README names files that do not exist: {missing}"


def test_data_fetch_is_described_as_it_works(data_dir, monkeypatch, tmp_path):
    # A file already in the data folder is verified where it is; nothing goes to the cache.
    monkeypatch.setenv("FLARECAST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FLARECAST_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(main, ["data", "fetch", "umich-24h"])
    assert result.exit_code == 0, result.output
    assert str(data_dir / "umich_arflares" / "arflares24h.csv") in result.output
    assert "sha256 verified" in result.output and not (tmp_path / "cache").exists()
    help_text = CliRunner().invoke(main, ["data", "fetch", "--help"]).output
    readme = next(c for c in README.splitlines() if "flarecast data fetch" in c and "#" in c)
    for text in (help_text, readme):
        assert "data folder" in text and "cache" in text, text
