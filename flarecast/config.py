"""Typed configuration: frozen dataclasses, TOML in, JSON/TOML out.

Each pipeline stage owns its config dataclass and its defaults next to the
code that uses them (``TrainConfig`` in :mod:`flarecast.training.loop`, ...). This
module only moves them between TOML files, dicts and command-line overrides.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from pathlib import Path
from typing import Any, TypeVar

from flarecast.errors import ConfigError
from flarecast.io import require_regular_file

__all__ = ["from_dict", "load_toml", "to_dict", "replace"]

C = TypeVar("C")


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return dataclasses.asdict(config)


def from_dict(cls: type[C], data: dict[str, Any], source: str = "config") -> C:
    """Build ``cls`` from a dict, rejecting unknown keys with the legal ones listed."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {unknown} for {cls.__name__}; legal keys are {sorted(fields)}"
        )
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in data.items():
        if isinstance(value, list) and typing.get_origin(hints.get(key)) is tuple:
            value = tuple(value)
        values[key] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def load_toml(path: str | Path, cls: type[C], table: str | None = None) -> C:
    """Read ``cls`` from a TOML file, optionally from one ``[table]`` of it."""
    path = Path(path)
    if path.exists():
        require_regular_file(path, what="config file", error=ConfigError)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    if table is not None:
        data = data.get(table, {})
    return from_dict(cls, data, source=str(path))


def replace(config: C, **overrides: Any) -> C:
    """``dataclasses.replace`` that ignores ``None`` overrides (unset CLI options)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(config, **given)  # type: ignore[type-var]
