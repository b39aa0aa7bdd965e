"""Decision thresholds: chosen on validation data by a skill score, and skill as a function of threshold.

A forecast is positive when ``p >= threshold``. :func:`choose_threshold`
picks the cut that maximises HSS or TSS on the rows it is given, which must be
*validation* rows (the protocol in :mod:`flarecast.evaluation.protocol` never passes test
rows); :func:`skill_curve` gives the scores at many thresholds at once (the
"skill vs threshold" figure).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flarecast.errors import ConfigError, MetricWarning, warn_user
from flarecast.evaluation.metrics import check_labels, check_probabilities, scores_from_counts

__all__ = ["parse_threshold_metric", "choose_threshold", "skill_curve"]

_THRESHOLD_METRICS = ("hss", "tss")


def parse_threshold_metric(spec: str) -> tuple[str, float | None]:
    """Validate a threshold rule: ``"hss"``, ``"tss"`` or ``"fixed:<p>"``.

    Returns
    -------
    (kind, value)
        ``("hss", None)``, ``("tss", None)`` or ``("fixed", 0.5)``.

    Raises
    ------
    ConfigError
        For anything else, listing the legal choices.
    """
    text = str(spec).strip().lower()
    if text in _THRESHOLD_METRICS:
        return text, None
    if text.startswith("fixed:"):
        try:
            value = float(text.split(":", 1)[1])
        except ValueError:
            value = float("nan")
        if 0.0 <= value <= 1.0:
            return "fixed", value
    raise ConfigError(
        f"The threshold metric must be one of 'hss', 'tss' or 'fixed:<p>' with 0 <= p <= 1 "
        f"(e.g. 'fixed:0.5'). Got {spec!r} instead."
    )


def choose_threshold(y_val: Any, p_val: Any, metric: str = "hss", default: float = 0.5) -> float:
    """Choose the decision threshold that maximises a skill score on *validation* data.

    Every distinct validation probability is a candidate cut, plus "nothing
    positive". The returned threshold lies midway between the chosen cut's
    probability and the next lower one, so a forecast is positive when
    ``p >= threshold``. Ties go to the highest threshold (fewest alarms).

    Parameters
    ----------
    y_val : array-like of 0/1, shape (n,)
        Validation labels; never the test fold's.
    p_val : array-like of float, shape (n,)
        Validation probabilities.
    metric : {"hss", "tss", "fixed:<p>"}, default "hss"
        Score to maximise, or a fixed threshold returned as is.
    default : float, default 0.5
        Returned, with a :class:`~flarecast.errors.MetricWarning`, when the score is undefined
        for every candidate (validation holds one class only).

    Returns
    -------
    float
        Threshold in (0, 1].
    """
    kind, fixed = parse_threshold_metric(metric)
    if kind == "fixed":
        return float(fixed)  # type: ignore[arg-type]
    yt = check_labels(y_val, "y_val")
    pp = check_probabilities(p_val, yt.size, "p_val")
    order = np.argsort(-pp, kind="stable")
    ps, ys = pp[order], yt[order]
    last = np.r_[np.flatnonzero(np.diff(ps) != 0), ps.size - 1] if ps.size else np.array([], int)
    tp = np.r_[0, np.cumsum(ys)[last]] if ps.size else np.array([0])
    npos = np.r_[0, last + 1]
    fp = npos - tp
    P = int(ys.sum())
    N = int(ys.size - P)
    score = scores_from_counts(tp, fp, P - tp, N - fp)[kind]
    if np.all(np.isnan(score)):
        warn_user(
            f"Cannot choose a threshold by {kind.upper()}: the validation data do not hold both "
            f"classes; using {default}",
            MetricWarning,
        )
        return float(default)
    k = int(np.nanargmax(score))
    values = ps[last]
    if k == 0:  # nothing positive: above the largest probability
        top = values[0]
        above = (top + 1.0) / 2.0
        # Next to 1 (or at it) the midpoint rounds back onto ``top``, which would make it positive.
        return float(above) if above > top else float(np.nextafter(top, 2.0))
    j = k - 1
    lower = values[j + 1] if j + 1 < values.size else 0.0
    mid = (values[j] + lower) / 2.0
    # Between subnormal or adjacent floats the midpoint rounds onto ``lower``, which would make
    # the lower probability positive too; the cut's own probability still separates them.
    return float(mid) if mid > lower else float(values[j])


def skill_curve(y_true: Any, p: Any, thresholds: Any) -> dict[str, np.ndarray]:
    """Count-based scores at each of many thresholds (forecast positive when ``p >= t``).

    Parameters
    ----------
    y_true : array-like of 0/1, shape (n,)
    p : array-like of float, shape (n,)
    thresholds : array-like of float, shape (m,)

    Returns
    -------
    dict of str to ndarray, shape (m,)
        ``threshold``, ``tp``, ``fp``, ``fn``, ``tn`` and every key of :data:`flarecast.evaluation.metrics.COUNT_SCORES`.
    """
    yt = check_labels(y_true)
    pp = check_probabilities(p, yt.size)
    t = np.asarray(thresholds, dtype=float)
    pos = np.sort(pp[yt == 1])
    neg = np.sort(pp[yt == 0])
    tp = pos.size - np.searchsorted(pos, t, side="left")
    fp = neg.size - np.searchsorted(neg, t, side="left")
    fn, tn = pos.size - tp, neg.size - fp
    out: dict[str, np.ndarray] = {"threshold": t, "tp": tp, "fp": fp, "fn": fn, "tn": tn}
    out.update(scores_from_counts(tp, fp, fn, tn))
    return out
