"""What ``FlareClassifier`` accepts as input: the feature matrix, the 0/1 labels, the network inputs.

Each function checks its input at the boundary and raises one
:class:`~flarecast.errors.FlarecastError` naming the rows, columns and what
is legal. Where scikit-learn's estimator checks look for a phrase in such a
message ("Reshape your data", "0 sample(s)", "Unknown label type"), the
message contains it, so tools written for scikit-learn recognise the error.
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
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):  # scipy.sparse, without importing scipy
        raise DataError(
            "FlareClassifier does not accept sparse input (a SHARP table is dense); pass "
            "X.toarray() instead."
        )
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
        arr = np.asarray(X)
        if np.iscomplexobj(arr):
            raise DataError("FlareClassifier: Complex data not supported; features are real.")
        arr = arr.astype(float)
        if arr.ndim != 2:
            raise DataError(
                f"FlareClassifier: X must be 2-D (n_samples, n_features); got shape {arr.shape}. "
                "Reshape your data, e.g. X.reshape(-1, 1) for a single feature."
            )
        names = [f"x{i}" for i in range(arr.shape[1])] if names is None else list(names)
        if arr.shape[1] != len(names):
            raise SchemaError(
                f"X has {arr.shape[1]} features, but FlareClassifier is expecting {len(names)} "
                f"features as input: {names}"
            )
    for axis, what in ((0, "sample(s)"), (1, "feature(s)")):
        if arr.shape[axis] == 0:
            raise DataError(
                f"FlareClassifier: Found array with 0 {what} (shape={arr.shape}) while a minimum "
                "of 1 is required."
            )
    bad = ~np.isfinite(arr)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise DataError(
            f"FlareClassifier: Input X contains NaN or infinity: non-finite feature values at "
            f"{format_examples(rows, [names[c] for c in cols])} (row: column); drop or impute them first"
        )
    return arr, names


def binary_labels(y: Any, what: str = "y") -> np.ndarray:
    """``y`` as int64 0/1 labels (1 = flare), shape (n,).

    Only 0 and 1 (or False and True) are labels: other pairs of classes are
    refused rather than mapped, so an encoding with the classes swapped cannot
    turn every forecast upside down without a word.
    """
    if y is None:
        raise DataError(
            f"FlareClassifier requires y to be passed, but the target {what} is None; give the 0/1 "
            "labels (1 = flare)."
        )
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DataError(
            f"FlareClassifier: {what} should be a 1d array of 0/1 labels; got shape {arr.shape}"
        )
    values = set(np.unique(arr).tolist())
    if not values <= {0, 1}:
        from sklearn.utils.multiclass import type_of_target

        kind = type_of_target(arr)
        detail = {
            "binary": "Relabel the two classes as 0 and 1",
            "multiclass": "Only binary classification is supported. The type of the target is "
            "multiclass",
        }.get(kind, f"Unknown label type: {kind!r}")
        raise DataError(
            f"FlareClassifier: {what} must hold 0/1 labels (1 = flare); got values "
            f"{sorted(values, key=str)[:5]}. {detail}."
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
