"""The frozen, pre-registered comparison protocol (``protocols/comparison.toml``) and its hash.

A comparison is only worth reading if its settings were fixed before its
test folds were scored. The settings of the public table live in one
committed TOML file; :func:`load_frozen_protocol` reads it, validates every
table and returns it with the sha256 of the file's bytes, which every output
made with it records. A changed value is a new protocol version with a new
hash (``benchmarks/RESULTS.md`` lists them).

The file has these tables, and no others:

``[meta]``
    ``name`` (str), ``version`` (int >= 1), ``frozen_on`` (ISO date).
``[protocol]``
    Every field of :class:`flarecast.evaluation.protocol.Protocol` except ``network``.
``[repeats]``
    ``repeats`` (int >= 1; 10 for real data) and ``interval`` ("corrected-ttest":
    :mod:`flarecast.evaluation.repeated`).
``[network]``
    ``FlareClassifier`` parameters shared by every network row; the protocol
    sets ``loss``, ``alpha``, ``gamma``, ``n_members`` and ``seed`` per method
    and fold, so they are refused here.
``[baselines.logistic]``, ``[baselines.gboost]``
    The scikit-learn parameters their factories use; recorded so a change to
    them shows up as a changed protocol (the test suite compares them with the
    factories).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import tomllib
from pathlib import Path
from typing import Any

from flarecast.errors import ConfigError

__all__ = ["FrozenProtocol", "DEFAULT_PATH", "INTERVALS", "load_frozen_protocol"]

#: The committed protocol file of the public table (in the source tree, next to ``flarecast/``).
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "protocols" / "comparison.toml"
#: Interval procedures a protocol may name for paired differences over repeats.
INTERVALS: tuple[str, ...] = ("corrected-ttest",)

_TABLES = ("meta", "protocol", "repeats", "network", "baselines")
_META_KEYS = ("name", "version", "frozen_on")
_REPEAT_KEYS = ("repeats", "interval")
#: FlareClassifier parameters the protocol sets per method, fold or run; not network settings.
_SET_BY_PROTOCOL = ("loss", "alpha", "gamma", "n_members", "seed", "threshold", "features", "log")
_BASELINES = ("logistic", "gboost")


@dataclasses.dataclass(frozen=True)
class FrozenProtocol:
    """A validated protocol file.

    Attributes
    ----------
    protocol : flarecast.evaluation.protocol.Protocol
        With ``network`` set to the file's ``[network]`` table.
    repeats : int
        Region-grouped partitions per data set.
    interval : str
        Interval procedure for paired differences (see :data:`INTERVALS`).
    baselines : dict
        ``{"logistic": {...}, "gboost": {...}}`` scikit-learn parameters.
    name, version, frozen_on : str, int, str
        From ``[meta]``.
    sha256 : str
        Hex digest of the file's bytes, to record next to every output.
    path : str
        The file read.
    """

    protocol: Any
    repeats: int
    interval: str
    baselines: dict[str, dict[str, Any]]
    name: str
    version: int
    frozen_on: str
    sha256: str
    path: str

    def record(self) -> dict[str, Any]:
        """What an output records about its protocol: name, version, path and sha256."""
        return {
            "protocol_name": self.name,
            "protocol_version": self.version,
            "protocol_file": self.path,
            "protocol_sha256": self.sha256,
        }


def _table(data: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    value = data.get(name)
    if not isinstance(value, dict):
        raise ConfigError(
            f"{source}: the [{name}] table is missing; it needs tables {list(_TABLES)}."
        )
    return value


def _unknown(table: dict[str, Any], legal: tuple[str, ...], where: str, source: str) -> None:
    extra = sorted(set(table) - set(legal))
    if extra:
        raise ConfigError(
            f"{source}: unknown key(s) {extra} in [{where}]; legal keys are {sorted(legal)}."
        )


def _complete(table: dict[str, Any], keys: tuple[str, ...], where: str, source: str) -> None:
    """A frozen table names every setting: a missing one would follow the code's default as it changes."""
    missing = [k for k in keys if k not in table]
    if missing:
        raise ConfigError(f"{source}: [{where}] lacks {missing}; a frozen protocol sets every key.")


def _meta(table: dict[str, Any], source: str) -> tuple[str, int, str]:
    _unknown(table, _META_KEYS, "meta", source)
    name, version, frozen_on = (table.get(k) for k in _META_KEYS)
    problems = []
    if not isinstance(name, str) or not name:
        problems.append(f"'name' must be a non-empty string (got {name!r})")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.append(f"'version' must be an int >= 1 (got {version!r})")
    try:
        dt.date.fromisoformat(str(frozen_on))
    except ValueError:
        problems.append(f"'frozen_on' must be an ISO date such as '2026-12-05' (got {frozen_on!r})")
    if problems:
        raise ConfigError(f"{source}: [meta] " + "; ".join(problems) + ".")
    return name, version, str(frozen_on)


def _repeats(table: dict[str, Any], source: str) -> tuple[int, str]:
    _unknown(table, _REPEAT_KEYS, "repeats", source)
    repeats, interval = table.get("repeats"), table.get("interval")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(
            f"{source}: [repeats] 'repeats' must be an int >= 1. Got {repeats!r} instead."
        )
    if interval not in INTERVALS:
        raise ConfigError(
            f"{source}: [repeats] 'interval' must be one of {list(INTERVALS)}. Got {interval!r} instead."
        )
    return repeats, interval


def _network(table: dict[str, Any], source: str) -> dict[str, Any]:
    from flarecast.training.estimator import FlareClassifier

    legal = tuple(k for k in FlareClassifier().get_params() if k not in _SET_BY_PROTOCOL)
    clash = sorted(set(table) & set(_SET_BY_PROTOCOL))
    if clash:
        raise ConfigError(
            f"{source}: [network] may not set {clash}: the protocol sets them per method and fold."
        )
    _unknown(table, legal, "network", source)
    _complete(table, legal, "network", source)
    network = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
    try:
        FlareClassifier(**network).train_config()  # one ConfigError listing every bad value
    except ConfigError as exc:
        raise ConfigError(f"{source}: [network] {exc}") from exc
    return network


def _baselines(table: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    _unknown(table, _BASELINES, "baselines", source)
    out = {}
    for name in _BASELINES:
        params = table.get(name)
        if not isinstance(params, dict):
            raise ConfigError(f"{source}: the [baselines.{name}] table is missing.")
        out[name] = dict(params)
    return out


def load_frozen_protocol(path: str | Path | None = None) -> FrozenProtocol:
    """Read, validate and hash a frozen protocol file.

    Parameters
    ----------
    path : str or Path, optional
        Default :data:`DEFAULT_PATH` (``protocols/comparison.toml`` of the source tree).

    Returns
    -------
    FrozenProtocol

    Raises
    ------
    ConfigError
        A missing or unreadable file, invalid TOML, a missing or unknown table
        or key (the legal ones are listed), or an invalid value (naming the
        file, the table and the rule).
    """
    from flarecast import config as cfg
    from flarecast.evaluation.protocol import Protocol

    path = Path(DEFAULT_PATH if path is None else path)
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"protocol file {source} cannot be read: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from exc
    _unknown(data, _TABLES, "top level", source)
    name, version, frozen_on = _meta(_table(data, "meta", source), source)
    protocol_table = _table(data, "protocol", source)
    if "network" in protocol_table:
        raise ConfigError(f"{source}: [protocol] 'network' belongs in the [network] table.")
    fields = tuple(f.name for f in dataclasses.fields(Protocol) if f.name != "network")
    _complete(protocol_table, fields, "protocol", source)
    network = _network(_table(data, "network", source), source)
    protocol = cfg.from_dict(Protocol, {**protocol_table, "network": network}, source=source)
    repeats, interval = _repeats(_table(data, "repeats", source), source)
    baselines = _baselines(_table(data, "baselines", source), source)
    return FrozenProtocol(
        protocol=protocol,
        repeats=repeats,
        interval=interval,
        baselines=baselines,
        name=name,
        version=version,
        frozen_on=frozen_on,
        sha256=hashlib.sha256(raw).hexdigest(),
        path=source,
    )
