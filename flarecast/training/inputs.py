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
from flarecast.features.snapshots import snapshot_columns
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


def network_inputs(
    X: Any, raw: np.ndarray, model: str, window: int, transformer: Any
) -> tuple[torch.Tensor, ...]:
    """Network inputs for the rows of ``X``: (X,) for the MLP, (windows, mask) for the GRU.

    ``raw`` is :func:`feature_matrix` of ``X``; ``transformer`` (the
    :class:`~flarecast.features.transforms.FeatureTransformer` fitted on the training rows)
    scales it. The GRU's window of a row ends with the row itself; its earlier slots come from

    - the row's own snapshot columns, when ``X`` holds any
      (:func:`~flarecast.features.snapshots.snapshot_columns` of the features ``transformer``
      was fitted on: a Michigan flare's snapshots at the longer leads). Lag ``j`` fills slot
      ``-1 - j`` as in :func:`~flarecast.models.sequence.make_windows`, scaled by the same
      ``transformer``; a snapshot with a missing value is masked, never filled. Each window is
      built from its row alone, so no other row of the table, earlier or later, can enter it;
    - otherwise the table's earlier records of the row's region (``time`` and ``noaa_ar``
      columns, :func:`~flarecast.models.sequence.make_windows`), for region series.
    """
    Z = transformer.transform(raw)
    if model != "sequence":
        return (torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float32)),)
    snapshots = _snapshot_windows(X, Z, window, transformer)
    if snapshots is not None:
        return snapshots
    if not isinstance(X, pd.DataFrame) or TIME not in X.columns or NOAA_AR not in X.columns:
        raise SchemaError(
            f"FlareClassifier(model='sequence') needs a DataFrame with {TIME!r} and {NOAA_AR!r} "
            "columns to build each region's record windows"
        )
    windows, mask = make_windows(Z, X[NOAA_AR], X[TIME], window)
    return torch.from_numpy(windows), torch.from_numpy(mask)


def _snapshot_windows(
    X: Any, Z: np.ndarray, window: int, transformer: Any
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Windows from each row's snapshot columns; None when ``X`` has none."""
    if not isinstance(X, pd.DataFrame):
        return None
    names = list(transformer.feature_names_)
    lags = int(window) - 1
    wanted = snapshot_columns(names, lags)
    if not any(c in X.columns for c in wanted):
        return None
    missing = [c for c in wanted if c not in X.columns]
    if missing:
        raise SchemaError(
            f"FlareClassifier(model='sequence', window={window}) reads each row's {lags} earlier "
            f"snapshot(s) from columns {wanted[:3]}...; X lacks {missing[:5]} "
            f"({len(missing)} of {len(wanted)})"
        )
    n, width = len(Z), len(names)
    windows = np.zeros((n, lags + 1, width), dtype=np.float32)
    mask = np.zeros((n, lags + 1), dtype=bool)
    windows[:, -1], mask[:, -1] = Z, True
    for lag in range(1, lags + 1):
        columns = wanted[(lag - 1) * width : lag * width]
        try:
            raw = X[columns].to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"FlareClassifier: snapshot columns must be numeric: {exc}") from exc
        has = np.isfinite(raw).all(axis=1)
        if has.any():
            windows[has, -1 - lag] = transformer.transform(raw[has])
        mask[:, -1 - lag] = has
    return torch.from_numpy(windows), torch.from_numpy(mask)
