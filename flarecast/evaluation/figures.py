"""Figures of a comparison run, as PNG; matplotlib only, imported when called, no torch.

Figures are drawn on :class:`matplotlib.figure.Figure` objects with the Agg
canvas, never through ``pyplot``, so nothing global (backend, open-figure
registry) is touched. All figures use the pooled out-of-fold test
predictions of each method's forecast (seed -1: the seed-ensemble mean).
Synthetic runs carry a SYNTHETIC title and watermark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flarecast.evaluation.bootstrap import Summary
from flarecast.evaluation.protocol import ProtocolResult
from flarecast.evaluation.thresholds import skill_curve
from flarecast.io import atomic_path

__all__ = [
    "write_figures",
    "roc_figure",
    "reliability_figure",
    "skill_threshold_figure",
    "interval_figure",
    "tune_heatmap",
    "importance_figure",
    "save_png",
    "PALETTE",
    "method_colours",
    "figure_canvas",
    "finish_figure",
]


def _figure(size: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _finish(fig: Any, title: str, synthetic: bool) -> Any:
    if synthetic:
        title = "SYNTHETIC DATA - " + title
        fig.text(
            0.5,
            0.5,
            "SYNTHETIC",
            fontsize=60,
            color="grey",
            alpha=0.15,
            ha="center",
            va="center",
            rotation=30,
        )
    fig.suptitle(title)
    return fig


def figure_canvas(size: tuple[float, float]) -> Any:
    """An empty figure of ``size`` inches on the Agg canvas, as every figure here is drawn."""
    return _figure(size)


def finish_figure(fig: Any, title: str, synthetic: bool = False) -> Any:
    """Give ``fig`` its title (and the SYNTHETIC title prefix and watermark)."""
    return _finish(fig, title, synthetic)


#: One colour per method in every figure (matplotlib's default cycle, assigned by method rather
#: than by drawing order, which differs between figures: climatology has no skill curve).
PALETTE: dict[str, str] = {
    "climatology": "C7",
    "logistic": "C0",
    "gboost": "C2",
    "ce": "C1",
    "weighted-ce": "C4",
    "focal": "C3",
    "model": "C3",
}
_SPARE = ("C5", "C6", "C8", "C9")


def method_colours(methods: Any) -> dict[str, str]:
    """The colour of each method: :data:`PALETTE`, then spare colours for other names in order."""
    spare = iter(_SPARE * (1 + len(list(methods)) // len(_SPARE)))
    return {m: PALETTE[m] if m in PALETTE else next(spare) for m in methods}


def _pooled(result: ProtocolResult) -> bool:
    """True when the test predictions come from several folds (else one test set)."""
    return len(result.folds) > 1


def _forecasts(result: ProtocolResult) -> dict[str, pd.DataFrame]:
    pred = result.predictions
    base = pred[pred["seed"] == -1]
    return {m: base[base["method"] == m] for m in result.labels}


def roc_figure(result: ProtocolResult, summary: Summary, synthetic: bool = False) -> Any:
    """ROC curves of every method with their AUC and interval in the legend."""
    from sklearn.metrics import roc_curve

    fig = _figure((6, 5.5))
    ax = fig.add_subplot()
    table = summary.table.set_index("method")
    colours = method_colours(result.labels)
    for method, sub in _forecasts(result).items():
        if sub["y"].nunique() < 2:
            continue
        fpr, tpr, _ = roc_curve(sub["y"], sub["p"])
        r = table.loc[method]
        ax.plot(
            fpr,
            tpr,
            color=colours[method],
            label=f"{r.label}: AUC {r.auc:.3f} [{r.auc_lo:.3f}, {r.auc_hi:.3f}]",
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false-alarm rate (POFD)", ylabel="recall (POD)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7, loc="lower right")
    if _pooled(result):
        ax.set_title("curves pool the folds; legend AUC = mean of per-fold AUCs", fontsize=8)
        return _finish(fig, "ROC, out-of-fold test predictions", synthetic)
    return _finish(fig, "ROC, test predictions (one test set)", synthetic)


def _calibrated(result: ProtocolResult) -> dict[str, pd.DataFrame]:
    """Forecasts that have calibrated probabilities (networks: ``p_calibrated`` not NaN)."""
    if "p_calibrated" not in result.predictions.columns:
        return {}
    return {
        m: sub.assign(p=sub["p_calibrated"])
        for m, sub in _forecasts(result).items()
        if len(sub) and sub["p_calibrated"].notna().all()
    }


def _reliability_panel(
    ax: Any,
    axn: Any,
    forecasts: dict[str, pd.DataFrame],
    labels: dict[str, str],
    colours: dict[str, str],
    base: float,
    n_bins: int,
) -> None:
    from flarecast.evaluation.calibration import reliability_curve
    from flarecast.evaluation.metrics import brier

    centres = (np.arange(n_bins) + 0.5) / n_bins
    width = 0.8 / n_bins / max(1, len(forecasts))
    for i, (method, sub) in enumerate(forecasts.items()):
        curve = reliability_curve(sub["y"].to_numpy(), sub["p"].to_numpy(), n_bins=n_bins)
        label = f"{labels[method]} (Brier {brier(sub['y'].to_numpy(), sub['p'].to_numpy()):.3f})"
        ax.plot(
            curve["mean_forecast"],
            curve["observed_frequency"],
            marker="o",
            markersize=3,
            label=label,
            color=colours[method],
        )
        axn.bar(
            centres - 0.4 / n_bins + (i + 0.5) * width,
            curve["count"],
            width=width,
            color=colours[method],
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect reliability")
    ax.axhline(base, color="grey", linestyle="--", linewidth=0.8, label=f"base rate {base:.3f}")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7, loc="upper left")
    axn.set(xlabel="forecast probability", yscale="log")


def reliability_figure(
    result: ProtocolResult, summary: Summary, synthetic: bool = False, n_bins: int = 10
) -> Any:
    """Reliability diagram (observed frequency vs forecast probability) with the bin counts below.

    When the predictions hold calibrated forecasts (``p_calibrated``, the
    networks' probabilities through a Platt map fitted on each fold's inner
    validation rows, see :func:`flarecast.evaluation.protocol.calibrate_fold`), a second
    column shows those networks after calibration beside the raw forecasts of
    every method.
    """
    raw, calibrated = _forecasts(result), _calibrated(result)
    colours = method_colours(result.labels)
    fig = _figure((11.5, 7) if calibrated else (6.5, 7))
    grid = fig.subplots(
        2, 2 if calibrated else 1, sharex=True, sharey="row", height_ratios=[3, 1.3], squeeze=False
    )
    base = summary.table["base_rate"].iloc[0]
    _reliability_panel(grid[0, 0], grid[1, 0], raw, result.labels, colours, base, n_bins)
    grid[0, 0].set(ylabel="observed frequency of positives")
    grid[1, 0].set(ylabel="rows per bin")
    if not calibrated:
        return _finish(fig, "Reliability diagram (bins of 0.1; counts below)", synthetic)
    _reliability_panel(grid[0, 1], grid[1, 1], calibrated, result.labels, colours, base, n_bins)
    grid[0, 0].set_title(
        "before calibration: raw out-of-fold forecasts"
        if _pooled(result)
        else "before calibration: raw forecasts",
        fontsize=9,
    )
    # A saved model scored by ``flarecast evaluate`` has one fold without inner validation: its own calibrator.
    own = all(len(f.val) == 0 for f in result.folds)
    grid[0, 1].set_title(
        "after calibration: the model's own calibrator (fitted at training time)"
        if own
        else "after calibration: networks, Platt map fitted on each fold's inner validation",
        fontsize=9,
    )
    return _finish(
        fig,
        "Reliability diagram before and after calibration (bins of 0.1; counts below)",
        synthetic,
    )


def skill_threshold_figure(
    result: ProtocolResult, summary: Summary, synthetic: bool = False
) -> Any:
    """HSS and TSS on the test folds as a function of the threshold; markers at the validation choice."""
    fig = _figure((10, 4.5))
    axes = fig.subplots(1, 2, sharey=True)
    grid = np.linspace(0, 1, 201)
    colours = method_colours(result.labels)
    for method, sub in _forecasts(result).items():
        if method == "climatology" or sub["y"].nunique() < 2:
            continue
        curve = skill_curve(sub["y"].to_numpy(), sub["p"].to_numpy(), grid)
        thr = float(sub.groupby("fold")["threshold"].first().mean())
        for ax, score in zip(axes, ("hss", "tss"), strict=True):
            ax.plot(grid, curve[score], color=colours[method], label=result.labels[method])
            ax.axvline(thr, color=colours[method], linestyle=":", linewidth=1)
    base = summary.table["base_rate"].iloc[0]
    axes[0].set(xlabel="threshold", ylabel="skill score", title=f"HSS (base rate {base:.3f})")
    axes[1].set(xlabel="threshold", title="TSS")
    axes[0].legend(fontsize=7)
    return _finish(
        fig,
        "Skill vs threshold on the test predictions (dotted: the mean threshold chosen on "
        "validation)",
        synthetic,
    )


def interval_figure(result: ProtocolResult, summary: Summary, synthetic: bool = False) -> Any:
    """X-class recall and HSS per method with their region-bootstrap intervals."""
    table = summary.table
    fig = _figure((10, 0.5 + 0.45 * len(table) + 1.5))
    axes = fig.subplots(1, 2, sharey=True)
    ypos = np.arange(len(table))[::-1]
    for ax, score, name in zip(axes, ("x_recall", "hss"), ("X-class recall", "HSS"), strict=True):
        v, lo, hi = (table[c].to_numpy(dtype=float) for c in (score, f"{score}_lo", f"{score}_hi"))
        colours = method_colours(table["method"])
        for k, method in enumerate(table["method"]):
            ax.errorbar(
                v[k],
                ypos[k],
                xerr=[[np.nan_to_num(v[k] - lo[k])], [np.nan_to_num(hi[k] - v[k])]],
                fmt="o",
                capsize=3,
                color=colours[method],
            )
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set(xlabel=name)
    first = table.iloc[0]
    axes[0].set_title(
        f"{int(first.n_x)} X events from {int(first.n_x_regions)} regions", fontsize=9
    )
    axes[1].set_title(f"base rate {first.base_rate:.3f}", fontsize=9)
    axes[0].set_yticks(ypos, table["label"])
    return _finish(fig, "X recall and HSS with 95% region-bootstrap intervals", synthetic)


def write_figures(
    out_dir: str | Path,
    result: ProtocolResult,
    summary: Summary,
    *,
    synthetic: bool = False,
    scope: str = "",
) -> list[Path]:
    """Write roc.png, reliability.png, skill_threshold.png and intervals.png into ``out_dir``.

    ``scope`` (e.g. "partition 0 of 10"), when given, leads every title: the figures of one
    partition in the folder of a repeated run say so.
    """
    makers = {
        "roc.png": roc_figure,
        "reliability.png": reliability_figure,
        "skill_threshold.png": skill_threshold_figure,
        "intervals.png": interval_figure,
    }
    written = []
    for name, make in makers.items():
        fig = make(result, summary, synthetic=synthetic)
        if scope:
            fig.suptitle(f"{scope}: {fig.get_suptitle()}")
        # The PNG text chunks carry the SYNTHETIC marker too, so a figure cut out of a report still says it.
        written.append(save_png(fig, Path(out_dir) / name, synthetic))
    return written


def tune_heatmap(table: pd.DataFrame, synthetic: bool = False) -> Any:
    """Validation score of each tried (alpha, gamma); untried cells blank, the choice outlined.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`flarecast.evaluation.tune.tune_focal`.
    """
    key = str(table["select_by"].iloc[0])
    alphas = np.sort(table["alpha"].unique())
    gammas = np.sort(table["gamma"].unique())
    grid = np.full((alphas.size, gammas.size), np.nan)
    for _, r in table.iterrows():
        grid[np.searchsorted(alphas, r.alpha), np.searchsorted(gammas, r.gamma)] = r[key]
    fig = _figure((max(6.5, 1.6 + 1.1 * gammas.size), max(3.5, 1.4 + 0.8 * alphas.size)))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", origin="lower", aspect="auto")
    fig.colorbar(image, ax=ax, label=key.replace("val_", "validation ").upper())
    for i in range(alphas.size):
        for j in range(gammas.size):
            if not np.isnan(grid[i, j]):
                light = image.norm(grid[i, j]) > 0.6  # dark text on the bright end of viridis
                ax.text(
                    j,
                    i,
                    f"{grid[i, j]:.3f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="black" if light else "white",
                )
    chosen = table[table["selected"]].iloc[0]
    i, j = np.searchsorted(alphas, chosen.alpha), np.searchsorted(gammas, chosen.gamma)
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    ax.set_xticks(range(gammas.size), [f"{g:g}" for g in gammas])
    ax.set_yticks(range(alphas.size), [f"{a:g}" for a in alphas])
    ax.set(xlabel="gamma", ylabel="alpha")
    return _finish(fig, "Focal-loss tuning, validation folds (red: chosen)", synthetic)


def save_png(fig: Any, path: str | Path, synthetic: bool = False) -> Path:
    """Write ``fig`` as PNG atomically, with its title (and SYNTHETIC) in the PNG text chunks."""
    meta = {"Title": fig.get_suptitle(), "Software": "flarecast"}
    if synthetic:
        meta["Description"] = "SYNTHETIC DATA"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata=meta)
    return Path(path)


def importance_figure(table: pd.DataFrame, labels: dict[str, str], synthetic: bool = False) -> Any:
    """Permutation importance (AUC drop) per feature, one bar per method, spread over folds as error bars.

    Parameters
    ----------
    table : pandas.DataFrame
        From :meth:`flarecast.evaluation.importance.ImportanceCollector.table`.
    labels : dict
        Method name -> label for the legend.
    """
    order = table.groupby("feature", sort=False)["auc_drop"].mean().sort_values().index.tolist()
    methods = list(dict.fromkeys(table["method"]))
    fig = _figure((7, 1.2 + 0.32 * len(order) * max(1, len(methods)) / 1.5))
    ax = fig.add_subplot()
    height = 0.8 / max(1, len(methods))
    ypos = np.arange(len(order))
    colours = method_colours(methods)
    for k, method in enumerate(methods):
        sub = table[table["method"] == method].set_index("feature").reindex(order)
        ax.barh(
            ypos + (k - (len(methods) - 1) / 2) * height,
            sub["auc_drop"],
            height=height,
            xerr=sub["auc_drop_sd_folds"].fillna(0),
            capsize=2,
            color=colours[method],
            label=labels.get(method, method),
        )
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(ypos, order)
    ax.set(xlabel="drop in ROC AUC when the feature is shuffled (test folds)")
    ax.legend(fontsize=8, loc="lower right")
    return _finish(fig, "Permutation importance", synthetic)
