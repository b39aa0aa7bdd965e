"""Each Michigan flare's earlier SHARP snapshots as columns of its own row, for the sequence model.

On a region series the sequence model reads a row's history from the table's earlier rows of
the region (:func:`flarecast.models.sequence.make_windows`). On the Michigan per-flare tables
(``umich-<L>h``) that would leak: a row of one lead file exists only because its region flared
``L`` hours later, so the previous row of the same region tells of a flare that may peak after
the current row's time (see :mod:`flarecast.features.evolution`). There a row's history is its
*own flare's* snapshots at the longer leads (for umich-24h the 36 h and 48 h ones), joined by
:func:`~flarecast.features.evolution.lead_snapshots`. :func:`umich_snapshots` puts their raw
feature values beside the row, one column per feature and lag (:func:`snapshot_columns`), so a
window is built from the row alone (:func:`flarecast.training.inputs.network_inputs`) and never
from its neighbours. Numpy and pandas only, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from flarecast.data.schema import TIME
from flarecast.features.evolution import FLARE, LEAD, lead_snapshots, previous_records

__all__ = ["snapshot_column", "snapshot_columns", "umich_snapshots"]


def snapshot_column(feature: str, lag: int) -> str:
    """Name of the column holding ``feature`` at a row's ``lag``-th earlier snapshot (1 = latest)."""
    return f"{feature}_snap{lag}"


def snapshot_columns(features: Sequence[str], lags: int = 2) -> list[str]:
    """Names of :func:`umich_snapshots`' columns, in its order: every feature at lag 1, then lag 2, ..."""
    return [snapshot_column(f, lag) for lag in range(1, lags + 1) for f in features]


def umich_snapshots(
    tables: Mapping[int, pd.DataFrame],
    lead: int,
    features: Sequence[str],
    lags: int = 2,
    *,
    tolerance: str | pd.Timedelta = "12min",
) -> pd.DataFrame:
    """Raw ``features`` of each lead-``lead`` flare's ``lags`` previous snapshots, one row per flare.

    The previous snapshots are those :func:`~flarecast.features.evolution.umich_evolution`
    differences against: the same flare's snapshots at the longer leads, strictly before the
    row's time (:func:`~flarecast.features.evolution.previous_records`), latest first. A flare
    missing its 36 h snapshot has the 48 h one as lag 1, as ``make_windows`` shifts a short
    history.

    Parameters
    ----------
    tables, lead, features, tolerance
        As :func:`~flarecast.features.evolution.lead_snapshots` (only leads longer than
        ``lead`` are read).
    lags : int, default 2

    Returns
    -------
    pandas.DataFrame
        Index and row order of ``tables[lead]``; columns :func:`snapshot_columns`, raw values
        in the features' own units; NaN where the flare has no ``j``-th earlier snapshot.
    """
    features = list(features)
    long = lead_snapshots(tables, lead, features, tolerance=tolerance)
    previous, _ = previous_records(long[FLARE], long[TIME], lags)
    own = np.flatnonzero((long[LEAD] == lead).to_numpy())  # one per flare, in flare order
    x = long[features].to_numpy(dtype=float)
    parts = []
    for lag in range(lags):
        src = previous[own, lag]
        values = np.full((len(own), len(features)), np.nan)
        values[src >= 0] = x[src[src >= 0]]
        parts.append(values)
    return pd.DataFrame(
        np.hstack(parts), index=tables[lead].index, columns=snapshot_columns(features, lags)
    )
