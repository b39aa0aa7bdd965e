"""``flarecast retrain``: relabel SHARP records with a new catalogue, retrain the base model's recipe,
compare the two on the latest period.

Options in, lines out: the work is :func:`flarecast.retrain.run.retrain`, the
new model folder :func:`flarecast.retrain.report.write_retrained`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import data_warnings_to_stderr, friendly_errors
from flarecast.cli._options import (
    bootstrap_options,
    catalogue_format_option,
    data_dir_option,
    harp_map_option,
    on_bad_rows_option,
    out_option,
    sharp_option,
    window_options,
)

__all__ = ["retrain"]


@click.command("retrain")
@sharp_option
@click.option(
    "--catalogue",
    required=True,
    metavar="FILE_OR_NAME",
    help="The new flare catalogue: file, folder or name (hek-2010-2019, ncei-1996-2022, demo, ...).",
)
@catalogue_format_option
@on_bad_rows_option
@click.option(
    "--base-model",
    "base_model",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Model folder to retrain (read only; never modified).",
)
@out_option("New model folder; must not exist (or be empty).")
@window_options(recorded=True)
@click.option(
    "--holdout-start",
    default=None,
    help="First hold-out time, e.g. 2017-01-01 (UTC if no zone) [the last --holdout-days of "
    "labelled records, moved back to hold --holdout-min-positives].",
)
@click.option(
    "--holdout-days",
    type=float,
    default=90.0,
    show_default=True,
    help="Length of the default hold-out (the latest period), days.",
)
@click.option(
    "--holdout-min-positives",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="The default hold-out starts earlier when needed to hold this many positive rows "
    "(at most half of all; 0: exactly the last --holdout-days).",
)
@click.option(
    "--keep-straddling",
    is_flag=True,
    help="Keep regions alive across the hold-out start in training (default: left out).",
)
@click.option(
    "--any-quality", is_flag=True, help="Keep SHARP records with QUALITY != 0 (default: dropped)."
)
@click.option("--max-abs-lon", type=float, default=None, help="Keep |LON_FWT| <= this (deg) [all].")
@harp_map_option
@click.option("--epochs", type=int, default=None, help="Maximum epochs [the base model's].")
@click.option("--device", default=None, help="auto, cpu, cuda, cuda:N or mps [the base model's].")
@bootstrap_options
@data_dir_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def retrain(sharp_source, catalogue, catalogue_format, on_bad_rows, base_model, out, holdout_start,
            keep_straddling, any_quality, harp_map, epochs, data_dir, quiet, **settings) -> None:  # fmt: skip
    """Relabel SHARP records with a new catalogue, retrain the base model's recipe, compare on the latest period.

    The new model trains on records before the hold-out (minus a latency +
    horizon gap); both models are scored on the same hold-out records with
    region-bootstrap intervals. Writes a new model folder with comparison.md,
    comparison.csv, comparison.json and holdout_predictions.csv; the base
    model folder is only read.
    """
    import sys
    import time

    from tqdm import tqdm

    from flarecast import config as cfg
    from flarecast.data.catalogues.read import read_catalogue
    from flarecast.data.sharp.series import read_harp_map, read_sharp_series
    from flarecast.retrain.base import check_out_folder, read_base_model
    from flarecast.retrain.config import RetrainConfig
    from flarecast.retrain.report import write_retrained
    from flarecast.retrain.run import retrain as run_retrain
    from flarecast.time import to_utc

    t0 = time.perf_counter()
    check_out_folder(out, base_model)  # both before any long work
    read_base_model(base_model)
    if holdout_start is not None:  # an option documented as UTC: a time without a zone is UTC
        holdout_start = to_utc(holdout_start, naive="utc", column="--holdout-start").isoformat()
    config = RetrainConfig(
        holdout_start=holdout_start,
        drop_straddling=not keep_straddling,
        quality_zero=not any_quality,
        max_epochs=epochs,
        **settings,  # the options named as RetrainConfig's fields
    )
    bar = tqdm(unit="epoch", desc="training", disable=quiet, file=sys.stderr)

    def progress(epoch: int, info: dict) -> None:
        bar.update(1)
        bar.set_postfix(
            val_loss=f"{info['val_loss']:.4f}",
            val_auc=f"{info['val_auc']:.3f}",
            active=info["active"],
        )

    with data_warnings_to_stderr():
        events = read_catalogue(
            catalogue, format=catalogue_format, on_bad_rows=on_bad_rows, data_dir=data_dir
        )
        series = read_sharp_series(sharp_source, data_dir=data_dir)
        mapping = read_harp_map(harp_map) if harp_map is not None else None
        try:
            result = run_retrain(
                base_model, series, events, config, harp_map=mapping, callback=progress
            )
        finally:
            bar.close()

    options = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in click.get_current_context().params.items()
    }
    write_retrained(
        result,
        out,
        extra={"options": options, "retrain_config": cfg.to_dict(config)},
        writers=_recipe_writers(result),
    )
    _echo_summary(result, out)
    click.echo(
        f"{'SYNTHETIC data: ' if result.lineage.synthetic else ''}saved {out} in "
        f"{time.perf_counter() - t0:.1f} s; the base model {base_model} was not modified."
    )


def _recipe_writers(result: Any) -> list[Callable[[Path], None]]:
    """Writers of ``history.csv`` and ``train.toml`` (the new model's recipe, rerunnable by flarecast train).

    In that order, as ``flarecast train`` writes them: ``train.toml`` records the
    sha256 of the weights and of ``history.csv`` beside it.
    """
    import dataclasses

    from flarecast.training.config import TrainConfig, write_train_toml
    from flarecast.training.folder import write_history

    params = result.model.get_params()
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    train_table = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items() if k in names
    }
    data_table = {
        "dataset": result.dataset.name,
        "sha256": result.dataset.sha256,
        "synthetic": result.dataset.synthetic,
        "features": list(result.base.features),
        "negatives": list(result.base.negatives),
        "positive_threshold": result.base.positive_threshold,
        "threshold": params["threshold"],
    }
    header = (
        f"# Written by `flarecast retrain` from {result.base.model_id}; the [train] table reruns "
        "with: flarecast train --config THIS_FILE ..."
    )
    return [
        lambda folder: write_history(folder / "history.csv", result.model.history_),
        lambda folder: write_train_toml(
            folder / "train.toml", {"train": train_table, "data": data_table}, header=header
        ),
    ]


def _echo_summary(result: Any, out: Path) -> None:
    """What was labelled, how the hold-out was chosen, what was trained, and the comparison."""
    from flarecast.retrain.report import format_comparison

    a, lab = result.lineage, result.lineage.labelling
    hold, split = a.holdout, a.split
    banner = "SYNTHETIC data: " if a.synthetic else ""
    dropped = ", ".join(f"{v} {k}" for k, v in a.sharp_series["dropped"].items())
    sources = ", ".join(f"{k} {lab[k]} ({lab['source'][k]})" for k in lab["source"])
    click.echo(
        f"{banner}labelled {a.sharp_series['records']} records of {a.sharp_series['source']} with "
        f"{a.catalogue['source']} ({lab['window']}); dropped {dropped or 'none'} (filters), "
        f"{a.sharp_series['dropped_unknown_label']} without a known label, "
        f"{a.sharp_series['dropped_missing_feature']} with a missing feature"
    )
    click.echo(f"label window: {sources}")
    click.echo(
        f"hold-out {hold['start']} .. {hold['end']} ({hold['rule']}): {hold['test_rows']} rows; trained on "
        f"{split['fit_rows']} + {split['validation_rows']} validation rows before {hold['train_end']} "
        f"(gap {hold['gap']}); best epochs {result.model.best_epoch_.tolist()}"
    )
    click.echo(format_comparison(result, out.name))
