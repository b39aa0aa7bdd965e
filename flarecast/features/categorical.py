"""One-hot encoding of categorical features (McIntosh components, Mt Wilson class), fitted on training rows.

Region-day tables (hayes-srs) hold categorical features as pandas ``category``
columns (:func:`flarecast.data.schema.categorical_features`). Networks, logistic
regression and gradient boosting need numbers, so each categorical feature
becomes one 0/1 column per category **seen in the training rows**, named
``feature=value`` (``mcintosh_zurich=D``), in the feature's place.

**A category never seen in training** gives an all-zero block for that feature
(the row says "none of the known classes"; the model's other features still
count). Such rows are counted per feature (:attr:`OneHotEncoding.unseen_`),
never refused and never mapped to a known class; when a saved model scores a
table, the counts are reported as a :class:`~flarecast.errors.DataWarning`
(:func:`apply_saved_encoding`).

The fitted encoding is JSON (:meth:`OneHotEncoding.to_dict`) and is stored in
the model folder's ``model.json`` under ``extra["categorical"]``. In the evaluation
protocol each fit learns its own encoding from the fold's fit rows
(:class:`OneHotInput`), and the test rows with an unseen category are counted per
fold (:func:`unseen_categories`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.schema import categorical_features
from flarecast.errors import DataError, DataWarning, ModelFileError, warn_user

__all__ = [
    "ENCODING_KEY",
    "OneHotEncoding",
    "encode_categoricals",
    "apply_saved_encoding",
    "unseen_categories",
    "OneHotInput",
    "one_hot_input",
]

#: Key of the fitted encoding in the sidecar's ``extra``.
ENCODING_KEY = "categorical"


class OneHotEncoding:
    """One 0/1 column per training category of each categorical feature.

    Attributes
    ----------
    categories_ : dict of str to list of str
        Categories of each feature seen in training, sorted as text.
    unseen_ : dict of str to int
        Rows of the last :meth:`encode` with a category never seen in training, per feature.
    """

    def fit(self, frame: pd.DataFrame, columns: Sequence[str]) -> OneHotEncoding:
        """Learn the categories of each of ``columns`` from the (training) rows of ``frame``."""
        self.categories_ = {c: sorted(frame[c].astype(str).unique()) for c in columns}
        return self

    @property
    def columns_(self) -> list[str]:
        """Names of the one-hot columns, ``feature=value``, feature by feature."""
        return [f"{c}={v}" for c, vals in self.categories_.items() for v in vals]

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """The one-hot matrix, shape (n, len(columns_)); counts unseen categories in :attr:`unseen_`."""
        missing = [c for c in self.categories_ if c not in frame.columns]
        if missing:
            raise DataError(
                f"The table lacks the categorical feature column(s) {missing} the encoding was "
                f"fitted on; it needs {list(self.categories_)}."
            )
        blocks, self.unseen_ = [], {}
        for col, vals in self.categories_.items():
            text = frame[col].astype(str).to_numpy()
            onehot = (text[:, None] == np.asarray(vals, dtype=object)[None, :]).astype(float)
            self.unseen_[col] = int((onehot.sum(axis=1) == 0).sum())
            blocks.append(onehot)
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))

    def replace(
        self, frame: pd.DataFrame, features: Sequence[str]
    ) -> tuple[pd.DataFrame, list[str]]:
        """``frame`` with each encoded feature replaced by its one-hot columns, and the new feature list."""
        onehot = pd.DataFrame(self.encode(frame), columns=self.columns_, index=frame.index)
        out = pd.concat([frame.drop(columns=list(self.categories_)), onehot], axis=1)
        names: list[str] = []
        for f in features:
            names += [f"{f}={v}" for v in self.categories_[f]] if f in self.categories_ else [f]
        return out, names

    def to_dict(self) -> dict[str, Any]:
        """The fitted encoding as JSON-ready data."""
        return {"rule": "one-hot; unseen category -> all-zero block, counted",
                "categories": self.categories_}  # fmt: skip

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], source: str = "model.json") -> OneHotEncoding:
        """Rebuild from :meth:`to_dict`; :class:`ModelFileError` naming ``source`` when malformed."""
        cats = state.get("categories") if isinstance(state, Mapping) else None
        if not (
            isinstance(cats, Mapping)
            and cats
            and all(
                isinstance(k, str)
                and isinstance(v, list)
                and v
                and all(isinstance(s, str) for s in v)
                for k, v in cats.items()
            )
        ):
            raise ModelFileError(
                f"{source}: extra['{ENCODING_KEY}']['categories'] must map each categorical "
                "feature to a non-empty list of category names."
            )
        enc = cls()
        enc.categories_ = {k: list(v) for k, v in cats.items()}
        return enc


def encode_categoricals(
    frame: pd.DataFrame, features: Sequence[str], fit_rows: np.ndarray
) -> tuple[pd.DataFrame, list[str], OneHotEncoding | None]:
    """One-hot encode the categorical ``features`` of ``frame``, learning categories from ``fit_rows`` only.

    Returns ``frame``, ``features`` and None unchanged when no feature is categorical.
    """
    cats = categorical_features(frame, list(features))
    if not cats:
        return frame, list(features), None
    encoding = OneHotEncoding().fit(frame.iloc[fit_rows], cats)
    out, names = encoding.replace(frame, features)
    return out, names, encoding


def apply_saved_encoding(meta: Mapping[str, Any], frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """``frame`` encoded as the model in ``meta`` (its sidecar) was trained; unchanged without an encoding.

    Rows with a category the model never saw in training are warned about
    (:class:`~flarecast.errors.DataWarning`, count per feature, naming ``source``).
    """
    state = (meta.get("extra") or {}).get(ENCODING_KEY)
    if state is None:
        return frame
    encoding = OneHotEncoding.from_dict(state)
    out, _ = encoding.replace(frame, list(encoding.categories_))
    unseen = {k: v for k, v in encoding.unseen_.items() if v}
    if unseen:
        warn_user(
            f"{source}: rows with a category never seen in training, per feature: {unseen}; "
            "each is encoded as an all-zero block for that feature.",
            DataWarning,
        )
    return out


def unseen_categories(
    frame: pd.DataFrame, features: Sequence[str], fit_rows: np.ndarray, rows: np.ndarray
) -> dict[str, int] | None:
    """Rows of ``rows`` whose category the ``fit_rows`` never had, per categorical feature.

    None when no feature is categorical.
    """
    cats = categorical_features(frame, list(features))
    if not cats:
        return None
    encoding = OneHotEncoding().fit(frame.iloc[fit_rows], cats)
    encoding.encode(frame.iloc[rows])
    return dict(encoding.unseen_)


class OneHotInput:
    """An estimator that sees the categorical columns of its input one-hot encoded.

    :meth:`fit` learns the categories from the rows it is given (in the evaluation
    protocol a fold's fit rows, never its validation or test rows) by
    :func:`encode_categoricals`; the validation rows, and every table predicted later
    (test rows, a permuted copy for importance), are encoded with those categories, an
    unseen one as an all-zero block. ``validation=`` and ``groups=`` are passed on when
    the wrapped ``fit`` takes them (the networks), ``predict_proba_members`` and
    ``best_epoch_`` when it has them.

    Parameters
    ----------
    estimator : scikit-learn style classifier
    features : sequence of str
        The input's columns; the categorical ones are encoded, the others pass unchanged.
    """

    def __init__(self, estimator: Any, features: Sequence[str]):
        self.estimator = estimator
        self.features = list(features)

    def _encode(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.encoding_.replace(X, self.features)[0]

    def fit(
        self, X: pd.DataFrame, y: Any, groups: Any = None, validation: Any = None
    ) -> OneHotInput:
        encoded, _, encoding = encode_categoricals(X, self.features, np.arange(len(X)))
        self.encoding_ = encoding if encoding is not None else OneHotEncoding().fit(X, [])
        if validation is not None:
            validation = (self._encode(validation[0]), validation[1])
        takes = inspect.signature(self.estimator.fit).parameters
        extra = {"groups": groups, "validation": validation}
        self.estimator.fit(
            encoded, y, **{k: v for k, v in extra.items() if v is not None and k in takes}
        )
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator.predict_proba(self._encode(X))

    def __getattr__(self, name: str) -> Any:
        # Only what the wrapped estimator has: the protocol asks hasattr() before using them.
        inner = self.__dict__.get("estimator")
        if name not in ("predict_proba_members", "best_epoch_") or not hasattr(inner, name):
            raise AttributeError(name)
        found = getattr(inner, name)
        return (lambda X: found(self._encode(X))) if callable(found) else found


def one_hot_input(estimator: Any, X: pd.DataFrame) -> Any:
    """``estimator`` wrapped in :class:`OneHotInput` when ``X`` has a categorical column, else itself."""
    features = list(X.columns)
    return OneHotInput(estimator, features) if categorical_features(X, features) else estimator
