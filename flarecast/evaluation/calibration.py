"""Probability calibration: Platt scaling and isotonic regression, stored as JSON.

A network's raw scores are not probabilities. Focal loss in particular pushes
scores away from the observed frequencies on purpose (it down-weights easy
examples), so a published "30 %" must first be mapped onto what actually
happened. The map is fitted on the *validation* split at training time, never
on the training rows (which the network has memorised) nor on test rows
(which would leak), and it is stored beside the weights as
``calibration.json``. It is never pickled: the JSON holds the method and its
parameters only, and applying it needs numpy alone.

Methods
-------
platt
    Logistic regression on the logit of the score,
    ``p = sigmoid(a * logit(s) + b)`` (Platt 1999), fitted by Newton's method
    with Platt's smoothed targets as in Lin, Lin & Weng (2007), so perfectly
    separable validation data still gives a finite slope.
isotonic
    A non-decreasing step-then-linear map fitted by pool-adjacent-violators
    (scikit-learn's ``IsotonicRegression``; Zadrozny & Elkan 2002), stored as
    its threshold arrays and applied by linear interpolation, clipped at the ends.
none
    The identity: scores are published as they are (say so in reports).

References
----------
Platt, J. (1999). Probabilistic outputs for support vector machines.
Lin, H.-T., Lin, C.-J., Weng, R. C. (2007). A note on Platt's probabilistic outputs
for support vector machines. Machine Learning 68, 267-276.
Zadrozny, B., Elkan, C. (2002). Transforming classifier scores into accurate
multiclass probability estimates. KDD.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from flarecast.errors import ConfigError, DataError
from flarecast.evaluation.calibration_file import (
    FORMAT,
    FORMAT_VERSION,
    METHODS,
    check_state,
    read_state,
    write_state,
)

__all__ = [
    "METHODS",
    "Calibrator",
    "CalibratedClassifier",
    "fit_calibrator",
    "save_calibrator",
    "load_calibrator",
    "reliability_curve",
]

# Scores are clipped this far inside (0, 1) before the logit so that a network
# that saturates at exactly 0 or 1 still gets a finite Platt input.
_EPS = 1e-7


def _logit(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, _EPS, 1.0 - _EPS)
    return np.log(s) - np.log1p(-s)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a negative argument only, so no overflow warnings for large |z|
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _check_scores(scores: Any, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=float).reshape(-1)
    bad = ~np.isfinite(s) | (s < 0.0) | (s > 1.0)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(
            f"{name} must be probabilities in [0, 1] (e.g. predict_proba(X)[:, 1]); "
            f"{bad.sum()} of {s.size} are not, first at index {rows[:5].tolist()}: {s[rows[:5]].tolist()}"
        )
    return s


@dataclasses.dataclass(frozen=True)
class Calibrator:
    """A fitted map from raw model scores to calibrated probabilities.

    Build one with :func:`fit_calibrator` or :meth:`from_dict`; it is immutable.

    Attributes
    ----------
    method : {"platt", "isotonic", "none"}
    params : mapping
        ``platt``: ``{"slope": a, "intercept": b}``;
        ``isotonic``: ``{"x": thresholds, "y": values}`` (equal-length lists,
        ``x`` strictly increasing, ``y`` non-decreasing in [0, 1]);
        ``none``: ``{}``.
    n_samples, n_positive : int
        Size and number of positives of the set it was fitted on.
    fitted_on : str
        Which split it was fitted on, for the record (normally "validation").
    """

    method: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    n_samples: int = 0
    n_positive: int = 0
    fitted_on: str = "validation"

    def transform(self, scores: Any) -> np.ndarray:
        """Calibrated probabilities for raw scores.

        Parameters
        ----------
        scores : array-like of float, shape (n,)
            Raw P(positive) in [0, 1], e.g. ``predict_proba(X)[:, 1]``. NaN
            passes through as NaN (a missing forecast stays missing).

        Returns
        -------
        ndarray of float, shape (n,), in [0, 1]
        """
        s = np.asarray(scores, dtype=float).reshape(-1)
        out = np.full(s.shape, np.nan)
        ok = np.isfinite(s)
        if self.method == "none":
            out[ok] = np.clip(s[ok], 0.0, 1.0)
        elif self.method == "platt":
            z = float(self.params["slope"]) * _logit(s[ok]) + float(self.params["intercept"])
            out[ok] = _sigmoid(z)
        else:  # isotonic: np.interp clips outside [x[0], x[-1]], as IsotonicRegression(out_of_bounds="clip")
            out[ok] = np.interp(s[ok], np.asarray(self.params["x"]), np.asarray(self.params["y"]))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (plain lists and floats only)."""
        params = {
            k: (list(map(float, v)) if isinstance(v, list | tuple | np.ndarray) else float(v))
            for k, v in self.params.items()
        }
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "params": params,
            "n_samples": int(self.n_samples),
            "n_positive": int(self.n_positive),
            "fitted_on": self.fitted_on,
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], source: str = "calibration") -> Calibrator:
        """Rebuild from :meth:`to_dict` output, checking every field.

        Raises
        ------
        ModelFileError
            Naming ``source`` and what is wrong (unknown method, missing or
            malformed parameters); see
            :func:`flarecast.evaluation.calibration_file.check_state`.
        """
        return cls(**check_state(state, source))

    def describe(self) -> str:
        """One line for reports, e.g. ``"platt (fitted on validation: 812 samples, 40 positive)"``."""
        if self.method == "none":
            return "none (raw model scores)"
        return f"{self.method} (fitted on {self.fitted_on}: {self.n_samples} samples, {self.n_positive} positive)"


def _fit_platt(s: np.ndarray, y: np.ndarray, max_iter: int = 100) -> tuple[float, float]:
    """Newton's method with backtracking on Platt's smoothed cross-entropy (Lin et al. 2007, Alg. 1)."""
    z = _logit(s)
    n_pos = float(y.sum())
    n_neg = float(y.size - n_pos)
    t = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(a: float, b: float) -> float:
        f = a * z + b
        # t*log(1+e^-f) + (1-t)*log(1+e^f), written stably
        return float(np.sum(np.logaddexp(0.0, f) - t * f))

    a, b = 1.0, 0.0  # start at the identity map: the raw score itself
    cur = loss(a, b)
    for _ in range(max_iter):
        p = _sigmoid(a * z + b)
        g = np.array([np.sum((p - t) * z), np.sum(p - t)])
        w = p * (1.0 - p)
        h = np.array(
            [[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]]
        ) + 1e-12 * np.eye(2)
        if np.max(np.abs(g)) < 1e-9:
            break
        step = np.linalg.solve(h, g)
        size = 1.0
        while size > 1e-10:
            na, nb = a - size * step[0], b - size * step[1]
            new = loss(na, nb)
            if new < cur + 1e-4 * size * float(g @ -step):
                break
            size /= 2.0
        else:
            break  # no decrease possible along the Newton direction: converged to precision
        a, b, cur = na, nb, new
    return a, b


def fit_calibrator(
    scores: Any, y: Any, method: str = "platt", *, fitted_on: str = "validation"
) -> Calibrator:
    """Fit a calibration map on held-out scores.

    Parameters
    ----------
    scores : array-like of float, shape (n,)
        Raw P(positive) in [0, 1] of the *validation* rows, e.g.
        ``clf.predict_proba(X_val)[:, 1]``.
    y : array-like of {0, 1}, shape (n,)
        Their labels.
    method : {"platt", "isotonic", "none"}, default "platt"
        Platt is the safer choice with few positives (two parameters);
        isotonic is more flexible and needs hundreds of positives to be smooth.
    fitted_on : str, default "validation"
        Recorded in the JSON for provenance.

    Returns
    -------
    Calibrator

    Raises
    ------
    ConfigError
        For an unknown ``method``.
    DataError
        For scores outside [0, 1], labels other than 0/1, mismatched lengths,
        or a set without both classes (nothing to calibrate against).
    """
    if method not in METHODS:
        raise ConfigError(
            f"The 'method' parameter of fit_calibrator must be one of {list(METHODS)}. Got {method!r} instead."
        )
    s = _check_scores(scores)
    y_arr = np.asarray(y).reshape(-1)
    if y_arr.shape != s.shape:
        raise DataError(
            f"scores and y must have the same length; got {s.size} scores and {y_arr.size} labels"
        )
    if not np.isin(y_arr, (0, 1)).all():
        bad = np.flatnonzero(~np.isin(y_arr, (0, 1)))
        raise DataError(
            f"y must hold 0/1 labels; index {bad[:5].tolist()} holds {y_arr[bad[:5]].tolist()}"
        )
    y_arr = y_arr.astype(np.int8)
    n_pos = int(y_arr.sum())
    if method != "none" and (n_pos == 0 or n_pos == y_arr.size):
        raise DataError(
            f"cannot fit a {method} calibrator on {y_arr.size} samples with {n_pos} positive: "
            "the calibration (validation) set needs both classes; use method='none' or a larger validation split"
        )
    if method == "platt":
        a, b = _fit_platt(s, y_arr)
        params: dict[str, Any] = {"slope": a, "intercept": b}
    elif method == "isotonic":
        from sklearn.isotonic import IsotonicRegression  # heavy import, needed only when fitting

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(
            s, y_arr
        )
        params = {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    else:
        params = {}
    return Calibrator(
        method=method, params=params, n_samples=int(s.size), n_positive=n_pos, fitted_on=fitted_on
    )


def save_calibrator(folder: str | Path, cal: Calibrator) -> Path:
    """Write ``cal`` as ``folder/calibration.json`` (atomically); return the path.

    When ``folder`` holds a saved model (``model.json``), the file records the
    sha256 of its weights, so that a calibration left beside other weights is
    refused on load (:func:`flarecast.training.folder.check_companions`).
    """
    return write_state(folder, cal.to_dict())


def load_calibrator(folder: str | Path, *, missing_ok: bool = False) -> Calibrator | None:
    """Read ``folder/calibration.json``.

    Parameters
    ----------
    folder : path
        A model folder.
    missing_ok : bool, default False
        Return None instead of raising when the folder has no calibration file.

    Raises
    ------
    ModelFileError
        When the file is absent (unless ``missing_ok``), not JSON, or malformed.
    """
    found = read_state(folder, missing_ok=missing_ok)
    if found is None:
        return None
    path, state = found
    return Calibrator.from_dict(state, source=str(path))


class CalibratedClassifier:
    """A fitted classifier whose ``predict_proba`` goes through a :class:`Calibrator`.

    Parameters
    ----------
    classifier : object with ``predict_proba(X) -> (n, 2)``
    calibrator : Calibrator
    """

    def __init__(self, classifier: Any, calibrator: Calibrator):
        self.classifier = classifier
        self.calibrator = calibrator

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated ``(n, 2)`` probabilities ``[1 - p, p]``."""
        p = self.calibrator.transform(np.asarray(self.classifier.predict_proba(X))[:, 1])
        return np.column_stack([1.0 - p, p])


def reliability_curve(y: Any, p: Any, n_bins: int = 10) -> dict[str, np.ndarray]:
    """Reliability-diagram data: forecast probability against observed frequency, per bin.

    Parameters
    ----------
    y : array-like of {0, 1}, shape (n,)
    p : array-like of float in [0, 1], shape (n,)
    n_bins : int, default 10
        Equal-width bins on [0, 1]; the last bin includes 1.

    Returns
    -------
    dict of ndarray, each shape (n_bins,)
        ``lower``, ``upper`` (bin edges), ``count`` (samples in the bin),
        ``mean_forecast`` and ``observed_frequency`` (NaN for empty bins).
    """
    if int(n_bins) < 1:
        raise ConfigError(
            f"The 'n_bins' parameter of reliability_curve must be an int >= 1. Got {n_bins!r} instead."
        )
    p_arr = _check_scores(p, "p")
    y_arr = np.asarray(y, dtype=float).reshape(-1)
    if y_arr.shape != p_arr.shape:
        raise DataError(f"y and p must have the same length; got {y_arr.size} and {p_arr.size}")
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    idx = np.clip(np.searchsorted(edges, p_arr, side="right") - 1, 0, int(n_bins) - 1)
    count = np.bincount(idx, minlength=n_bins).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(idx, weights=p_arr, minlength=n_bins) / count
        freq = np.bincount(idx, weights=y_arr, minlength=n_bins) / count
    return {
        "lower": edges[:-1],
        "upper": edges[1:],
        "count": count,
        "mean_forecast": mean_p,
        "observed_frequency": freq,
    }
