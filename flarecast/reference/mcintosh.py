"""McIntosh-Poisson flare forecasts: MCSTAT and MCEVOL, as scikit-learn-style classifiers.

**MCSTAT** (Gallagher et al. 2002, Solar Phys. 209, 171; Bloomfield et al. 2012,
ApJL 747, L41). For each McIntosh class ``c`` the training period gives a
Poisson rate of flares per region-day::

    rate(c) = (number of flares >= threshold of regions of class c) / (number of region-days of class c)
    P(at least one flare today) = 1 - exp(-rate(c))

The numerator counts *flares*, not flare-days (pass ``n_events``, e.g. the M
plus X counts of each row); with a 0/1 label instead it becomes a flare-day rate.

**MCEVOL** (McCloskey et al. 2016, Solar Phys. 291, 1711). The rate is taken
per (previous-day class, class) pair, because a region that grew into its class
flares more than one that decayed into it. A pair seen on fewer than
``min_days`` training region-days, and a row whose previous day is unknown
(a new region or a gap), backs off to MCSTAT's rate for the current class.

**Classes never seen in training** (rules shared by both): the rate of the
class's Zurich letter (all training classes with that letter pooled), and where
that letter was never seen either, the climatological rate (all training
region-days). Every row's source is counted by :meth:`MCSTAT.backoff_counts`,
so a report can say how many forecasts rest on a back-off; nothing crashes and
nothing becomes a silent zero.

Input ``X`` is a region-day frame with either a ``mcintosh`` column (3-letter
classes) or the three component columns of :mod:`flarecast.data.tables.srs`;
MCEVOL also reads :data:`flarecast.reference.history.PREV_CLASS`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flarecast.data.tables.srs import mcintosh_class
from flarecast.errors import ConfigError, DataError
from flarecast.reference.history import PREV_CLASS

__all__ = ["MCSTAT", "MCEVOL", "mcintosh_of", "poisson_probability"]

_SOURCES = ("class", "zurich", "climatology")


def mcintosh_of(X: pd.DataFrame) -> np.ndarray:
    """The 3-letter McIntosh class of each row of ``X`` (a ``mcintosh`` column or the components)."""
    if "mcintosh" in X.columns:
        return X["mcintosh"].astype(str).str.upper().to_numpy(dtype=object)
    try:
        return mcintosh_class(X)
    except KeyError as exc:
        raise DataError(
            f"McIntosh forecasts need a 'mcintosh' column or the three McIntosh component columns; "
            f"missing {exc}. Columns are {list(X.columns)}."
        ) from exc


def poisson_probability(rate: np.ndarray) -> np.ndarray:
    """P(at least one event) = 1 - exp(-rate) for a Poisson rate per day."""
    return -np.expm1(-np.asarray(rate, dtype=float))


def _events(y: Any, n_events: Any, n: int) -> np.ndarray:
    events = np.asarray(y if n_events is None else n_events, dtype=float)
    if events.shape != (n,) or not np.all(np.isfinite(events)) or (events < 0).any():
        raise DataError(
            f"Event counts must be {n} finite numbers >= 0 (one per row); got shape {events.shape}."
        )
    return events


def _rates(keys: np.ndarray, events: np.ndarray) -> tuple[dict[Any, float], dict[Any, int]]:
    """Rate (events per row) and number of rows of each distinct key."""
    table = pd.DataFrame({"k": keys, "e": events}).groupby("k", sort=True)["e"].agg(["sum", "size"])
    rates = (table["sum"] / table["size"]).to_dict()
    return rates, table["size"].astype(int).to_dict()


class MCSTAT:
    """Poisson rate per McIntosh class fitted on the training period; P = 1 - exp(-rate).

    Attributes
    ----------
    rate_ : dict of str to float
        Flares per region-day of each McIntosh class seen in training.
    days_ : dict of str to int
        Training region-days of each class.
    zurich_rate_ : dict of str to float
        Rate of each Zurich letter (first back-off).
    climatology_rate_ : float
        Rate over all training region-days (last back-off).
    classes_ : ndarray, shape (2,)
        ``[0, 1]``, as scikit-learn classifiers have.
    """

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """No parameters (scikit-learn contract)."""
        return {}

    def fit(self, X: pd.DataFrame, y: Any, n_events: Any = None) -> MCSTAT:
        """Fit the rates.

        Parameters
        ----------
        X : pandas.DataFrame, shape (n, ...)
            Region-days with McIntosh classes.
        y : array-like, shape (n,)
            0/1 labels; used as the event counts when ``n_events`` is not given.
        n_events : array-like of float >= 0, shape (n,), optional
            Number of flares at or above the threshold on each region-day.

        Returns
        -------
        self
        """
        cls = mcintosh_of(X)
        events = _events(y, n_events, len(cls))
        if not len(cls):
            raise DataError("MCSTAT needs at least one training region-day.")
        self.rate_, self.days_ = _rates(cls, events)
        self.zurich_rate_, _ = _rates(np.array([c[0] for c in cls], dtype=object), events)
        self.climatology_rate_ = float(events.sum() / len(events))
        self.classes_ = np.array([0, 1])
        return self

    def _check(self) -> None:
        if not hasattr(self, "rate_"):
            raise ConfigError(f"This {type(self).__name__} is not fitted yet; call fit first.")

    def rates(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rate of each row and where it came from (``"class"``, ``"zurich"`` or ``"climatology"``).

        Returns
        -------
        rate : ndarray of float, shape (n,)
        source : ndarray of str, shape (n,)
        """
        self._check()
        cls = pd.Series(mcintosh_of(X))
        by_class = cls.map(self.rate_).to_numpy(dtype=float)
        by_zurich = cls.str[0].map(self.zurich_rate_).to_numpy(dtype=float)
        source = np.where(
            ~np.isnan(by_class), "class", np.where(~np.isnan(by_zurich), "zurich", "climatology")
        )
        rate = np.where(
            ~np.isnan(by_class),
            by_class,
            np.where(~np.isnan(by_zurich), by_zurich, self.climatology_rate_),
        )
        return rate, source

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(no event), P(event) per row, shape (n, 2)."""
        p = poisson_probability(self.rates(X)[0])
        return np.column_stack([1.0 - p, p])

    def backoff_counts(self, X: pd.DataFrame) -> dict[str, int]:
        """How many rows of ``X`` take their rate from their class, their Zurich letter, or climatology."""
        source = self.rates(X)[1]
        return {s: int((source == s).sum()) for s in _SOURCES}


class MCEVOL(MCSTAT):
    """Poisson rate per (previous-day class, class) pair, backing off to MCSTAT.

    Parameters
    ----------
    min_days : int, default 10
        A pair seen on fewer training region-days uses MCSTAT's rate for the
        current class instead (its own rate would rest on too few days: with a
        base rate of a few percent, ten days mostly hold no flare at all).

    Attributes
    ----------
    pair_rate_ : dict of (str, str) to float
        Rate of each pair seen on at least ``min_days`` training region-days.
    """

    def __init__(self, min_days: int = 10) -> None:
        self.min_days = min_days

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """``min_days`` (scikit-learn contract)."""
        return {"min_days": self.min_days}

    def fit(self, X: pd.DataFrame, y: Any, n_events: Any = None) -> MCEVOL:
        """Fit MCSTAT's rates and the pair rates; ``X`` needs :data:`PREV_CLASS`. See :meth:`MCSTAT.fit`."""
        if not isinstance(self.min_days, int) or self.min_days < 1:
            raise ConfigError(
                f"The 'min_days' parameter of MCEVOL must be an int >= 1. Got {self.min_days!r} instead."
            )
        super().fit(X, y, n_events)
        events = _events(y, n_events, len(X))
        prev, cls = self._pairs(X)
        known = pd.notna(prev)
        keys = np.array([f"{p}>{c}" for p, c in zip(prev[known], cls[known], strict=True)], object)
        rates, days = _rates(keys, events[known])
        self.pair_rate_ = {k: r for k, r in rates.items() if days[k] >= self.min_days}
        return self

    @staticmethod
    def _pairs(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if PREV_CLASS not in X.columns:
            raise DataError(
                f"MCEVOL needs the previous day's class in column {PREV_CLASS!r} "
                "(flarecast.reference.history.with_previous_day adds it)."
            )
        prev = X[PREV_CLASS].to_numpy(dtype=object)
        return prev, mcintosh_of(X)

    def rates(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`MCSTAT.rates`, with source ``"pair"`` where a pair rate applies."""
        self._check()
        rate, source = super().rates(X)
        prev, cls = self._pairs(X)
        keys = pd.Series(
            [f"{p}>{c}" if pd.notna(p) else "" for p, c in zip(prev, cls, strict=True)]
        )
        pair = keys.map(self.pair_rate_).to_numpy(dtype=float)
        use = ~np.isnan(pair)
        return np.where(use, pair, rate), np.where(use, "pair", source)

    def backoff_counts(self, X: pd.DataFrame) -> dict[str, int]:
        """Rows using a pair rate, and rows backing off to the class, Zurich letter or climatology."""
        source = self.rates(X)[1]
        return {s: int((source == s).sum()) for s in ("pair", *_SOURCES)}
