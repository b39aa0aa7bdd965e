"""Atomic writes, checksums and typed configuration."""

import dataclasses
import json

import pytest

from flarecast.config import from_dict, load_toml, replace, to_dict
from flarecast.errors import ConfigError
from flarecast.io import atomic_open, sha256_file, write_json


@dataclasses.dataclass(frozen=True)
class _Cfg:
    folds: int = 5
    methods: tuple[str, ...] = ("ce", "focal")
    alpha: float = 0.25


def test_atomic_open_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temp file left


def test_atomic_files_get_umask_permissions_not_0600(tmp_path):
    import os

    p = tmp_path / "x.txt"
    with atomic_open(p) as fh:
        fh.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_json_and_checksum(tmp_path):
    p = tmp_path / "a" / "run.json"
    write_json(p, {"x": 1})
    assert json.loads(p.read_text()) == {"x": 1}
    assert sha256_file(p) == sha256_file(p) and len(sha256_file(p)) == 64


def test_config_round_trip_through_toml(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[protocol]\nfolds = 3\nmethods = ["ce"]\n')
    cfg = load_toml(p, _Cfg, table="protocol")
    assert cfg == _Cfg(folds=3, methods=("ce",))
    assert from_dict(_Cfg, to_dict(cfg)) == cfg
    assert replace(cfg, folds=None, alpha=0.5) == _Cfg(folds=3, methods=("ce",), alpha=0.5)


def test_unknown_key_lists_legal_keys(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("fold = 3\n")
    with pytest.raises(
        ConfigError,
        match=r"unknown key\(s\) \['fold'\].*legal keys are \['alpha', 'folds', 'methods'\]",
    ):
        load_toml(p, _Cfg)


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_toml(tmp_path / "nope.toml", _Cfg)
    bad = tmp_path / "bad.toml"
    bad.write_text("folds = = 3")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_toml(bad, _Cfg)


def test_read_json_is_strict(tmp_path):
    from flarecast.errors import DataError, ModelFileError
    from flarecast.io import read_json

    path = tmp_path / "x.json"
    path.write_text('{"a": [1, 2.5, null], "b": {"c": "d"}}')
    assert read_json(path) == {"a": [1, 2.5, None], "b": {"c": "d"}}
    for blob, match in (
        (b'{"a": 1, "b": {"c": 1, "c": 2}}', r"the key 'c' appears twice in one object"),
        (b'\xff{"a": 1}', r"is not UTF-8 text \(byte 0\)"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a": ', r"is not valid JSON \(truncated or edited\?\)"),
    ):
        with pytest.raises(DataError, match=match):
            read_json(path, blob)
        path.write_bytes(blob)
        with pytest.raises(ModelFileError, match=str(path)):
            read_json(path, error=ModelFileError)
