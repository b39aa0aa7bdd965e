"""Verification metrics for binary flare forecasts: numpy and scikit-learn only.

Conventions
-----------
* ``y_true`` is 0/1 (1 = flare at or above the positive threshold), ``y_pred``
  is the 0/1 forecast and ``p`` the forecast probability P(positive).
* A forecast is positive when ``p >= threshold``.
* The contingency table is ``tp`` (hits), ``fp`` (false alarms), ``fn``
  (misses), ``tn`` (correct negatives).
* Two different "FAR"s exist in the literature, so both are named in full:
  :func:`false_alarm_ratio` = fp / (tp + fp) (the meteorological FAR, the
  fraction of alarms that were false; also exported as :func:`far`) and
  :func:`false_alarm_rate` = fp / (fp + tn) (probability of false detection,
  POFD; also exported as :func:`pofd`).
* Where a score is undefined for the data (no positives, one class only, no
  positive forecasts ...) it is NaN and a :class:`~flarecast.errors.MetricWarning`
  says why; nothing raises for degenerate data. Malformed input (lengths differ,
  labels not 0/1, probabilities outside [0, 1]) raises :class:`~flarecast.errors.DataError`.

The skill scores follow Bloomfield et al. (2012), ApJL 747, L41: TSS (Hanssen &
Kuipers discriminant), HSS (the "HSS2" form, equal to Cohen's kappa) and ApSS
(Appleman skill score). :func:`scores_from_counts` computes every count-based
score for whole arrays of contingency tables at once (used by the bootstrap and
by the threshold choice in :mod:`flarecast.evaluation.thresholds`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from flarecast.errors import DataError, MetricWarning, warn_user

__all__ = [
    "Contingency",
    "contingency",
    "recall",
    "pod",
    "precision",
    "false_alarm_ratio",
    "far",
    "false_alarm_rate",
    "pofd",
    "tss",
    "hss",
    "apss",
    "class_recall",
    "roc_auc",
    "pr_auc",
    "brier",
    "bss",
    "scores_from_counts",
    "COUNT_SCORES",
    "POINT_METRICS",
    "check_labels",
    "check_probabilities",
]


class Contingency(NamedTuple):
    """A 2x2 contingency table (counts of rows)."""

    tp: int
    fp: int
    fn: int
    tn: int


# ----------------------------------------------------------------------------- validation


def check_labels(y: Any, name: str = "y_true") -> np.ndarray:
    """``y`` as an int8 array of 0/1, shape (n,); :class:`DataError` naming the bad rows otherwise."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.int8)
    try:
        num = arr.astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must hold 0/1 labels, got dtype {arr.dtype}") from exc
    bad = ~np.isin(num, (0.0, 1.0))
    if bad.any():
        rows = np.flatnonzero(bad)[:5]
        raise DataError(
            f"{name} must hold only 0 and 1; found {num[rows].tolist()} at rows {rows.tolist()}"
        )
    return num.astype(np.int8)


def check_probabilities(p: Any, n: int, name: str = "p") -> np.ndarray:
    """``p`` as a float array of shape (n,) in [0, 1]; :class:`DataError` naming the bad rows otherwise."""
    arr = np.asarray(p, dtype=float)
    if arr.shape != (n,):
        raise DataError(f"{name} must have shape ({n},) like y_true, got {arr.shape}")
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5]
        raise DataError(
            f"{name} must be probabilities in [0, 1]; found {arr[rows].tolist()} at rows {rows.tolist()}"
        )
    return arr


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    yt = check_labels(y_true, "y_true")
    yp = check_labels(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise DataError(f"y_true and y_pred differ in length: {yt.shape[0]} vs {yp.shape[0]}")
    return yt, yp


# ----------------------------------------------------------------------------- counts


def contingency(y_true: Any, y_pred: Any) -> Contingency:
    """Count hits, false alarms, misses and correct negatives.

    Parameters
    ----------
    y_true, y_pred : array-like of 0/1, shape (n,)
        Observed and forecast classes.

    Returns
    -------
    Contingency
        Named tuple ``(tp, fp, fn, tn)`` of ints.
    """
    yt, yp = _pair(y_true, y_pred)
    tp = int(np.sum((yt == 1) & (yp == 1)))
    fp = int(np.sum((yt == 0) & (yp == 1)))
    fn = int(np.sum((yt == 1) & (yp == 0)))
    return Contingency(tp, fp, fn, int(yt.size - tp - fp - fn))


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    ok = den != 0
    return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def _score_arrays(tp: Any, fp: Any, fn: Any, tn: Any) -> dict[str, np.ndarray]:
    tp, fp, fn, tn = (np.asarray(a, dtype=float) for a in (tp, fp, fn, tn))
    pos, neg = tp + fn, fp + tn
    both = (pos > 0) & (neg > 0)
    pod_ = _div(tp, pos)
    pofd_ = _div(fp, neg)
    hss_den = pos * (fn + tn) + (tp + fp) * neg
    hss_ = _div(2.0 * (tp * tn - fn * fp), hss_den)
    # Appleman: skill over always forecasting the majority class of the sample.
    apss_ = np.where(pos <= neg, _div(tp - fp, pos), _div(tn - fn, neg))
    return {
        "recall": pod_,
        "precision": _div(tp, tp + fp),
        "false_alarm_ratio": _div(fp, tp + fp),
        "false_alarm_rate": pofd_,
        "tss": np.where(both, pod_ - pofd_, np.nan),
        # HSS and ApSS measure skill against chance or the majority class, which
        # is meaningless when the sample holds only one class: NaN there, where
        # sklearn's kappa would report 0.
        "hss": np.where(both, hss_, np.nan),
        "apss": np.where(both, apss_, np.nan),
    }


#: Scores :func:`scores_from_counts` returns, with the reason each one is undefined.
COUNT_SCORES: dict[str, str] = {
    "recall": "there are no positive cases (tp + fn = 0)",
    "precision": "there are no positive forecasts (tp + fp = 0)",
    "false_alarm_ratio": "there are no positive forecasts (tp + fp = 0)",
    "false_alarm_rate": "there are no negative cases (fp + tn = 0)",
    "tss": "the sample does not hold both classes",
    "hss": "the sample does not hold both classes",
    "apss": "the sample does not hold both classes",
}


def scores_from_counts(tp: Any, fp: Any, fn: Any, tn: Any) -> dict[str, np.ndarray]:
    """Every count-based score for arrays of contingency tables, without warnings.

    Parameters
    ----------
    tp, fp, fn, tn : array-like, broadcastable to a common shape
        Counts (may be weighted, non-integer, as in a bootstrap resample).

    Returns
    -------
    dict of str to ndarray
        Keys of :data:`COUNT_SCORES`; NaN wherever a score is undefined.
    """
    return _score_arrays(tp, fp, fn, tn)


def _count_score(name: str, y_true: Any, y_pred: Any) -> float:
    c = contingency(y_true, y_pred)
    value = float(_score_arrays(*c)[name])
    if np.isnan(value):
        warn_user(f"{name} is undefined and set to NaN: {COUNT_SCORES[name]} ({c})", MetricWarning)
    return value


def recall(y_true: Any, y_pred: Any) -> float:
    """Recall, probability of detection (POD): tp / (tp + fn).

    NaN with a :class:`MetricWarning` when there are no positive cases.
    """
    return _count_score("recall", y_true, y_pred)


pod = recall


def precision(y_true: Any, y_pred: Any) -> float:
    """Precision (success ratio): tp / (tp + fp); NaN when nothing is forecast positive."""
    return _count_score("precision", y_true, y_pred)


def false_alarm_ratio(y_true: Any, y_pred: Any) -> float:
    """False-alarm *ratio* FAR = fp / (tp + fp): the fraction of alarms that were false.

    This is the meteorological FAR (= 1 - precision), not the false-alarm rate
    (:func:`false_alarm_rate`). NaN when nothing is forecast positive.
    """
    return _count_score("false_alarm_ratio", y_true, y_pred)


far = false_alarm_ratio


def false_alarm_rate(y_true: Any, y_pred: Any) -> float:
    """False-alarm *rate*, probability of false detection POFD = fp / (fp + tn).

    NaN when there are no negative cases.
    """
    return _count_score("false_alarm_rate", y_true, y_pred)


pofd = false_alarm_rate


def tss(y_true: Any, y_pred: Any) -> float:
    """True skill statistic TSS = tp/(tp+fn) - fp/(fp+tn), in [-1, 1].

    Independent of the class ratio (Bloomfield et al. 2012). Equals
    ``sklearn.metrics.balanced_accuracy_score(adjusted=True)`` for binary
    labels. NaN when the sample does not hold both classes.
    """
    return _count_score("tss", y_true, y_pred)


def hss(y_true: Any, y_pred: Any) -> float:
    """Heidke skill score (HSS2), equal to Cohen's kappa.

    ``HSS = 2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn))``:
    the improvement over a random forecast with the same marginals. It depends
    on the base rate, so always report that beside it. NaN (with a warning)
    when the sample does not hold both classes.
    """
    return _count_score("hss", y_true, y_pred)


def apss(y_true: Any, y_pred: Any) -> float:
    """Appleman skill score: improvement over always forecasting the sample's majority class.

    With fewer positives than negatives it is (tp - fp) / (tp + fn), otherwise
    (tn - fn) / (tn + fp) (Bloomfield et al. 2012). NaN without both classes.
    """
    return _count_score("apss", y_true, y_pred)


def class_recall(y_pred: Any, letter: Any, cls: str = "X") -> float:
    """Recall over the events of one GOES class only, e.g. X-class recall.

    Parameters
    ----------
    y_pred : array-like of 0/1, shape (n,)
        Forecasts for all rows.
    letter : array-like of str, shape (n,)
        GOES class letter of each row's event ("N", "A", ..., "X").
    cls : str, default "X"
        The letter whose events are counted; all of them must be positives
        of the target for the number to mean "recall".

    Returns
    -------
    float
        Fraction of ``cls`` events forecast positive; NaN with a
        :class:`MetricWarning` when the sample holds no such event.
    """
    yp = check_labels(y_pred, "y_pred")
    letters = np.asarray(letter, dtype=object)
    if letters.shape != yp.shape:
        raise DataError(f"y_pred and letter differ in length: {yp.shape[0]} vs {letters.shape[0]}")
    mask = letters == cls
    if not mask.any():
        warn_user(
            f"{cls}-class recall is undefined and set to NaN: no {cls}-class events in the sample",
            MetricWarning,
        )
        return float("nan")
    return float(yp[mask].mean())


# ----------------------------------------------------------------------------- probabilistic


def _both_classes(yt: np.ndarray, name: str) -> bool:
    if yt.size == 0 or yt.min() == yt.max():
        warn_user(
            f"{name} is undefined and set to NaN: the sample does not hold both classes",
            MetricWarning,
        )
        return False
    return True


def roc_auc(y_true: Any, p: Any) -> float:
    """Area under the ROC curve (ties count one half); NaN without both classes."""
    yt = check_labels(y_true)
    pp = check_probabilities(p, yt.size)
    return float(roc_auc_score(yt, pp)) if _both_classes(yt, "ROC AUC") else float("nan")


def pr_auc(y_true: Any, p: Any) -> float:
    """Area under the precision-recall curve, as average precision (step-wise, no interpolation).

    Its no-skill level is the base rate, not 0.5. NaN without both classes.
    """
    yt = check_labels(y_true)
    pp = check_probabilities(p, yt.size)
    return float(average_precision_score(yt, pp)) if _both_classes(yt, "PR AUC") else float("nan")


def brier(y_true: Any, p: Any) -> float:
    """Brier score, the mean squared error of the probabilities, in [0, 1]; NaN for no rows."""
    yt = check_labels(y_true)
    pp = check_probabilities(p, yt.size)
    if yt.size == 0:
        warn_user("Brier score is undefined and set to NaN: no rows", MetricWarning)
        return float("nan")
    return float(np.mean((pp - yt) ** 2))


def bss(y_true: Any, p: Any, climatology: Any) -> float:
    """Brier skill score against a climatological forecast: 1 - BS / BS_clim.

    Parameters
    ----------
    y_true : array-like of 0/1, shape (n,)
    p : array-like of float, shape (n,)
        Forecast probabilities.
    climatology : float or array-like of float, shape (n,)
        The reference probability: the base rate of the *training* data (per
        row when rows come from folds with different training sets). Using the
        test base rate would give the reference knowledge of the test labels.

    Returns
    -------
    float
        1 is perfect, 0 is no better than climatology, negative is worse. NaN
        when the reference is perfect (BS_clim = 0).
    """
    yt = check_labels(y_true)
    pp = check_probabilities(p, yt.size)
    clim = np.broadcast_to(np.asarray(climatology, dtype=float), yt.shape)
    check_probabilities(clim, yt.size, "climatology")
    ref = float(np.sum((clim - yt) ** 2))
    if ref == 0:
        warn_user(
            "Brier skill score is undefined and set to NaN: the climatological reference is perfect "
            "(or there are no rows)",
            MetricWarning,
        )
        return float("nan")
    return float(1.0 - np.sum((pp - yt) ** 2) / ref)


#: Point metrics by name, for callers that pick metrics from configuration.
POINT_METRICS: dict[str, Callable[..., float]] = {
    "recall": recall,
    "precision": precision,
    "false_alarm_ratio": false_alarm_ratio,
    "false_alarm_rate": false_alarm_rate,
    "tss": tss,
    "hss": hss,
    "apss": apss,
}
