"""What ``FlareClassifier`` accepts as input: the feature matrix, the 0/1 labels, the network inputs.

Each function checks its input at the boundary and raises one
:class:`~flarecast.errors.FlarecastError` naming the rows, columns and what
is legal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from flarecast.data.schema import META, NOAA_AR, TIME
from flarecast.errors import DataError, SchemaError, format_examples
from flarecast.models.sequence import make_windows

__all__ = ["feature_matrix", "binary_labels", "network_inputs"]


def feature_matrix(X: Any, names: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    """The raw feature matrix of ``X`` in the order of ``names``, checked; and the names.

    Parameters
    ----------
    X : DataFrame or array-like, shape (n, F)
    names : sequence of str, optional
        Feature names in model order. None: every DataFrame column not in
        :data:`flarecast.data.schema.META`, or ``x0 .. x{F-1}`` for an array.

    Returns
    -------
    (ndarray of float, shape (n, F), list of str)

    Raises
    ------
    SchemaError, DataError
        Missing or non-numeric columns, a wrong shape, or non-finite values (with their rows).
    """
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns if c not in META] if names is None else list(names)
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise SchemaError(
                f"FlareClassifier: input lacks feature column(s) {missing}; the model uses {names}"
            )
        try:
            arr = X[names].to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"FlareClassifier: feature columns must be numeric: {exc}") from exc
    else:
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2:
            raise DataError(
                f"FlareClassifier: X must be 2-D (n_samples, n_features); got shape {arr.shape}"
            )
        names = [f"x{i}" for i in range(arr.shape[1])] if names is None else list(names)
        if arr.shape[1] != len(names):
            raise SchemaError(
                f"FlareClassifier: X has {arr.shape[1]} columns; the model uses {len(names)} "
                f"features {names}"
            )
    bad = ~np.isfinite(arr)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise DataError(
            f"FlareClassifier: non-finite feature values at "
            f"{format_examples(rows, [names[c] for c in cols])} (row: column); drop or impute them first"
        )
    return arr, names


def binary_labels(y: Any, what: str = "y") -> np.ndarray:
    """``y`` as int64 0/1 labels (1 = flare), shape (n,)."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DataError(f"FlareClassifier: {what} must be 1-D; got shape {arr.shape}")
    values = set(np.unique(arr).tolist())
    if not values <= {0, 1}:
        raise DataError(
            f"FlareClassifier: {what} must hold 0/1 labels (1 = flare); got values "
            f"{sorted(values, key=str)[:5]}"
        )
    return arr.astype(np.int64)


def network_inputs(X: Any, Z: np.ndarray, model: str, window: int) -> tuple[torch.Tensor, ...]:
    """Network inputs for transformed rows ``Z``: (X,) for the MLP, (windows, mask) for the GRU."""
    if model != "sequence":
        return (torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float32)),)
    if not isinstance(X, pd.DataFrame) or TIME not in X.columns or NOAA_AR not in X.columns:
        raise SchemaError(
            f"FlareClassifier(model='sequence') needs a DataFrame with {TIME!r} and {NOAA_AR!r} "
            "columns to build each region's record windows"
        )
    windows, mask = make_windows(Z, X[NOAA_AR], X[TIME], window)
    return torch.from_numpy(windows), torch.from_numpy(mask)
