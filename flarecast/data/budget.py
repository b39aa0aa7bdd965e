"""The memory budget of one table file, applied by every reader before it reads.

A file larger than the budget is refused before it is read: ``max_bytes``
(an argument of every reader), else ``$FLARECAST_MAX_TABLE_BYTES``
(``"500MB"``, ``"8GiB"``, a number of bytes, or ``"none"``), else 2 GiB. A CSV
is measured by its size on disk (parsing needs a few times more); a large CSV
table can still be summarised in chunks by ``flarecast data info``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from flarecast.errors import ConfigError, DataError

__all__ = [
    "ENV_MAX_TABLE_BYTES",
    "DEFAULT_MAX_TABLE_BYTES",
    "max_table_bytes",
    "format_bytes",
    "check_budget",
]

#: Environment variable holding the memory budget of one table file.
ENV_MAX_TABLE_BYTES = "FLARECAST_MAX_TABLE_BYTES"
#: Default memory budget of one table file, bytes.
DEFAULT_MAX_TABLE_BYTES = 2 * 1024**3
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}  # fmt: skip


def max_table_bytes(max_bytes: int | str | None = None) -> int | None:
    """The memory budget of one table file in bytes (None: no budget).

    ``max_bytes`` if given, else ``$FLARECAST_MAX_TABLE_BYTES``, else
    :data:`DEFAULT_MAX_TABLE_BYTES`. Strings may carry a unit (``"500MB"``,
    ``"8GiB"``); ``"none"`` switches the budget off.
    """
    value = max_bytes if max_bytes is not None else os.environ.get(ENV_MAX_TABLE_BYTES)
    if value is None:
        return DEFAULT_MAX_TABLE_BYTES
    text = str(value).strip().upper().replace(" ", "")
    if text in ("NONE", "UNLIMITED"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d*)?(?:E\d+)?)([KMGT]I?B|B)?", text)
    if isinstance(value, bool) or not match or float(match.group(1)) <= 0:
        raise ConfigError(
            f"The table memory budget (max_bytes or ${ENV_MAX_TABLE_BYTES}) must be a positive "
            f"number of bytes such as 500000000, '500MB' or '8GiB', or 'none'. Got {value!r} instead."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2) or ""])


def format_bytes(n: float) -> str:
    """``2147483648`` -> ``"2.0 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover - loop always returns


def check_budget(path: Path, need: int, max_bytes: int | str | None, what: str) -> None:
    """Refuse a table whose estimated memory ``need`` (bytes) exceeds the budget, saying how to raise it."""
    budget = max_table_bytes(max_bytes)
    if budget is not None and need > budget:
        raise DataError(
            f"{path}: the table needs about {format_bytes(need)} ({what}), more than the memory "
            f"budget of {format_bytes(budget)}. Raise it with max_bytes=... or "
            f"${ENV_MAX_TABLE_BYTES} (e.g. {ENV_MAX_TABLE_BYTES}=16GiB, or 'none'), or read the "
            "file in chunks ('flarecast data info' summarises a CSV table in chunks)."
        )
