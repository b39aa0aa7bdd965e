"""The scored table: every method with region-bootstrap intervals, and the paired comparisons.

:func:`summarise` scores every forecast of a :class:`~flarecast.evaluation.protocol.ProtocolResult`
on the same resamples of active regions (:mod:`flarecast.evaluation.resampling`, which
explains the cluster bootstrap and why it is fast), so the paired difference of two methods
on a resample uses the same regions, folds and seeds: region-to-region variation common to
both cancels. It reports the seed spread of the networks too.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flarecast.errors import DataError
from flarecast.evaluation.resampling import (
    SCORES,
    RegionResampler,
    bootstrap_scores,
    interval,
    region_resampler,
)

if TYPE_CHECKING:
    from flarecast.evaluation.protocol import ProtocolResult

__all__ = [
    "RegionResampler",
    "region_resampler",
    "bootstrap_scores",
    "interval",
    "SCORES",
    "Summary",
    "summarise",
    "INTERVAL_SCORES",
    "PAIRED_SCORES",
    "SEED_SCORES",
    "PAIRS",
    "DIFFERENCE_COLUMNS",
]

#: Scores reported with a bootstrap interval in the table, and compared paired.
INTERVAL_SCORES: tuple[str, ...] = ("x_recall", "recall", "hss", "tss", "auc", "bss")
PAIRED_SCORES: tuple[str, ...] = ("x_recall", "recall", "hss", "tss", "auc", "bss")
#: Scores whose spread over the seed members is reported (``<score>_seed_sd``).
SEED_SCORES: tuple[str, ...] = ("x_recall", "hss", "tss", "auc")
#: The paired comparisons made when both methods ran: (method, baseline). The network rows against
#: logistic regression too: a network that does not reach it is no result to publish.
PAIRS: tuple[tuple[str, str], ...] = (
    ("focal", "ce"),
    ("focal", "weighted-ce"),
    ("ce", "logistic"),
    ("focal", "logistic"),
)


@dataclasses.dataclass
class Summary:
    """The comparison table, the paired differences and the bootstrap draws behind them.

    ``table``: one row per method (point scores, interval bounds ``<score>_lo/_hi``,
    counts, seed spread ``<score>_seed_sd``). ``comparison``: one row per
    (pair, score) with the paired difference and its interval. ``boot``: the
    resampled scores, method -> score -> (n_boot,). ``notes``: undefined-resample counts.
    """

    table: pd.DataFrame
    comparison: pd.DataFrame
    boot: dict[str, dict[str, np.ndarray]]
    notes: list[str]


def _method_rows(pred: pd.DataFrame, method: str, seed: int, rows: np.ndarray) -> pd.DataFrame:
    sub = pred[(pred["method"] == method) & (pred["seed"] == seed)].sort_values("row")
    if not np.array_equal(sub["row"].to_numpy(), rows):
        raise DataError(
            f"method {method!r} (seed {seed}) did not predict every test row exactly once"
        )
    return sub


def summarise(
    result: ProtocolResult,
    *,
    n_boot: int | None = None,
    level: float | None = None,
    seed: int | None = None,
) -> Summary:
    """Score every method with region-bootstrap intervals, and compare focal with CE paired.

    All methods are scored on the same resamples of regions, so the paired
    difference of two methods on a resample uses the same regions (and, by
    construction of :func:`run_protocol`, the same folds and seeds).

    Parameters
    ----------
    result : ProtocolResult
    n_boot, level, seed : optional
        Override ``result.protocol``'s values.

    Returns
    -------
    Summary
        In ``comparison``, ``difference`` is the point difference, ``lo``/``hi``
        the percentile interval of the paired resampled differences,
        ``significant`` means that interval excludes 0, and ``p_boot`` is the
        two-sided share of resampled differences on the other side of 0 (ties
        at 0 counted half), a rough guide only.
    """
    prot = result.protocol
    n_boot = prot.n_boot if n_boot is None else n_boot
    level = prot.level if level is None else level
    seed = prot.seed if seed is None else seed
    pred = result.predictions
    base = pred[pred["seed"] == -1]
    first = base[base["method"] == base["method"].iloc[0]].sort_values("row")
    rows = first["row"].to_numpy()
    resampler = region_resampler(first["region"].to_numpy(), n_boot=n_boot, seed=seed)
    letter = first["letter"].to_numpy(dtype=object)
    y = first["y"].to_numpy()
    fold = first["fold"].to_numpy()

    def scores(method: str, member: int, weights: np.ndarray | None = None) -> dict[str, Any]:
        sub = _method_rows(pred, method, member, rows)
        args = (y, sub["p"].to_numpy(), sub["pred"].to_numpy(), letter)
        return bootstrap_scores(
            resampler, *args, sub["climatology"].to_numpy(), weights=weights, strata=fold
        )

    table_rows, boot, undefined = [], {}, {}
    for method in result.labels:
        point = {k: float(v[0]) for k, v in scores(method, -1, resampler.identity).items()}
        boot[method] = scores(method, -1)
        row: dict[str, Any] = {"method": method, "label": result.labels[method], **point}
        for score in INTERVAL_SCORES:
            lo, hi, n_nan = interval(boot[method][score], level)
            row[f"{score}_lo"], row[f"{score}_hi"] = lo, hi
            if n_nan:
                undefined.setdefault((score, n_nan), []).append(method)
        members = sorted(s for s in pred.loc[pred["method"] == method, "seed"].unique() if s >= 0)
        per_seed = [scores(method, s, resampler.identity) for s in members]
        for score in SEED_SCORES:
            vals = [d[score][0] for d in per_seed]
            row[f"{score}_seed_sd"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan")
        row["n_seeds"] = len(members) if members else 1
        sub = _method_rows(pred, method, -1, rows)
        row["threshold_mean"] = float(sub.groupby("fold")["threshold"].first().mean())
        table_rows.append(row)
    table = pd.DataFrame(table_rows)
    notes = [
        f"{score} is undefined in {n_nan} of {n_boot} resamples (for {', '.join(ms)}), "
        "e.g. no X event drawn; those resamples are left out of its interval"
        for (score, n_nan), ms in undefined.items()
    ]
    is_x = letter == "X"
    table["n_test"] = rows.size
    table["n_pos"] = int(y.sum())
    table["n_x"] = int(is_x.sum())
    table["n_x_regions"] = int(pd.unique(first["region"].to_numpy()[is_x]).size)
    table["n_regions"] = int(resampler.regions.size)
    return Summary(table, _paired(table, boot, level, n_boot), boot, notes)


#: The first columns of every comparison.csv: the pair, the score, the difference and its interval.
DIFFERENCE_COLUMNS: tuple[str, ...] = (
    "comparison",
    "method",
    "baseline",
    "score",
    "difference",
    "lo",
    "hi",
)
_COMPARISON_COLUMNS = (*DIFFERENCE_COLUMNS, "p_boot", "significant", "n_boot")


def _paired(
    table: pd.DataFrame, boot: dict[str, dict[str, np.ndarray]], level: float, n_boot: int
) -> pd.DataFrame:
    """One row per (pair of :data:`PAIRS` that both ran, score): the paired resampled difference."""
    comp_rows = []
    for a, b in PAIRS:
        if a in boot and b in boot:
            for score in PAIRED_SCORES:
                diff = boot[a][score] - boot[b][score]
                lo, hi, _ = interval(diff, level)
                ok = diff[~np.isnan(diff)]
                # Two-sided bootstrap p with ties at zero split evenly (mid-p): discrete
                # scores such as X recall often differ by exactly 0 on a resample.
                below = np.mean(ok < 0) + 0.5 * np.mean(ok == 0) if ok.size else np.nan
                p_two = float(min(1.0, 2 * min(below, 1 - below))) if ok.size else float("nan")
                point = float(
                    table.loc[table.method == a, score].iloc[0]
                    - table.loc[table.method == b, score].iloc[0]
                )
                comp_rows.append(
                    {
                        "comparison": f"{a} - {b}",
                        "method": a,
                        "baseline": b,
                        "score": score,
                        "difference": point,
                        "lo": lo,
                        "hi": hi,
                        "p_boot": p_two,
                        "significant": bool(lo > 0 or hi < 0),
                        "n_boot": n_boot,
                    }
                )
    return pd.DataFrame(comp_rows, columns=list(_COMPARISON_COLUMNS))
