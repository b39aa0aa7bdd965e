"""Exception and warning types used across flarecast.

Every error that bad user input can cause is a :class:`FlarecastError`, and
the message names the file, row, column and the legal choices where they are
known. Library code never prints: warnings go through :func:`warn_user`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "FlarecastError",
    "DataError",
    "GOESClassError",
    "SchemaError",
    "ConfigError",
    "DownloadError",
    "ModelFileError",
    "FlarecastWarning",
    "DataWarning",
    "MetricWarning",
    "warn_user",
    "format_examples",
    "refuse_rows",
]


class FlarecastError(Exception):
    """Base class of every error flarecast raises on purpose."""


class DataError(FlarecastError, ValueError):
    """An input table, catalogue or series is malformed."""


class GOESClassError(DataError):
    """A GOES class string could not be parsed."""


class SchemaError(DataError):
    """A table lacks required columns or has the wrong types."""


class ConfigError(FlarecastError, ValueError):
    """A configuration value or command-line option is invalid."""


class DownloadError(FlarecastError, OSError):
    """A data set could not be downloaded or failed its checksum."""


class ModelFileError(FlarecastError):
    """A model folder is missing, corrupt, tampered with or incompatible."""


class FlarecastWarning(UserWarning):
    """Base class of flarecast's warnings."""


class DataWarning(FlarecastWarning):
    """Something in the input was handled by a documented policy (rows dropped, values clipped)."""


class MetricWarning(FlarecastWarning):
    """A metric is undefined for the given data (no positives, one class only) and is NaN."""


def warn_user(
    message: str, category: type[Warning] = FlarecastWarning, stacklevel: int = 2
) -> None:
    """Emit a flarecast warning; the single place library code warns from."""
    warnings.warn(message, category, stacklevel=stacklevel + 1)


def format_examples(
    rows: Sequence[int] | Iterable[int], values: Iterable[object], limit: int = 5
) -> str:
    """Format up to ``limit`` (row, value) pairs as ``row 3: 'Z9', row 7: ''`` for error messages.

    Rows are reported 0-based as data rows (the header is not counted), the
    same numbering pandas uses.
    """
    pairs = list(zip(rows, values, strict=False))
    shown = ", ".join(f"row {r}: {v!r}" for r, v in pairs[:limit])
    more = len(pairs) - limit
    return shown + (f" (and {more} more)" if more > 0 else "")


def refuse_rows(
    bad: Any,
    head: str,
    tail: str = ".",
    *,
    values: Any = None,
    shown: str = "<NA>",
    error: type[FlarecastError] = DataError,
) -> None:
    """Raise ``error(f"{head} {rows}{tail}")`` if any of ``bad`` (a bool array) is True.

    ``rows`` lists the bad rows as :func:`format_examples` does, with their ``values`` (an
    array, indexed by position) or, without ``values``, ``shown`` for each (a missing cell).
    """
    if bad.any():
        rows = bad.nonzero()[0]
        examples = values[rows].tolist() if values is not None else [shown] * len(rows)
        raise error(f"{head} {format_examples(rows, examples)}{tail}")
