"""``flarecast evaluate``: score a saved model on any labelled table with the model's features.

A thin layer over :func:`flarecast.evaluation.score.score_model` (and the bootstrap and
tables of :mod:`flarecast.evaluation`); the only code here that prints.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import friendly_errors, target_options
from flarecast.cli._options import (
    bootstrap_options,
    data_dir_option,
    model_option,
    out_folder_option,
)
from flarecast.cli._runs import clean_interrupt, command_line
from flarecast.cli._splits import load_with_split_column, score_by_option, split_options

__all__ = ["evaluate"]


@click.command("evaluate")
@model_option
@click.option(
    "--dataset",
    default="demo",
    show_default=True,
    help="Registered data set name or a canonical table file holding the model's features.",
)
@data_dir_option
@target_options
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=None,
    help="Decision threshold [the model's, chosen at training time].",
)
@bootstrap_options
@split_options
@score_by_option
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures.")
@out_folder_option
@click.pass_context
@clean_interrupt()
@friendly_errors
def evaluate(
    ctx: click.Context,
    model_dir: Path,
    dataset: str,
    data_dir: Path | None,
    negatives: tuple[str, ...],
    positive_threshold: str,
    threshold: float | None,
    n_boot: int,
    seed: int,
    no_figures: bool,
    out: str,
    score_by: str,
    **split: str | None,
) -> None:
    """Score a saved model on any labelled table with the model's features.

    The target follows the model's class definition unless --negatives or
    --positive-threshold are given; the threshold is the model's own. Writes
    table.md, table.csv, predictions.parquet, run.json and figures into OUT.
    """
    import dataclasses

    from click.core import ParameterSource

    from flarecast.evaluation.comparison import run_meta
    from flarecast.evaluation.report import SYNTHETIC_BANNER, format_markdown
    from flarecast.evaluation.score import (
        definition_targets,
        evaluate_saved_model,
        training_overlap,
    )
    from flarecast.evaluation.tables import calibration_table
    from flarecast.features.categorical import apply_saved_encoding
    from flarecast.targets import make_targets
    from flarecast.training.artifacts import load_model, read_sidecar

    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    sidecar = read_sidecar(model_dir)
    model = load_model(model_dir, device="cpu")
    data = _test_rows(dataset, data_dir, **split)
    from_model = definition_targets(sidecar.get("class_definition", ""))
    if from_model is not None:
        if ctx.get_parameter_source("negatives") == ParameterSource.DEFAULT:
            negatives = from_model[0]
        if ctx.get_parameter_source("positive_threshold") == ParameterSource.DEFAULT:
            positive_threshold = from_model[1]
    targets = make_targets(data, negatives, positive_threshold)
    frame = apply_saved_encoding(sidecar, targets.frame, data.name)  # categorical -> one-hot
    targets = dataclasses.replace(targets, frame=frame)
    synthetic = bool(data.synthetic or sidecar.get("synthetic"))
    if synthetic:
        click.echo(SYNTHETIC_BANNER, err=True)
    overlap = training_overlap(sidecar, data)
    trained_on = str((sidecar.get("data") or {}).get("name") or "unknown")
    if overlap.any:
        click.echo(f"Warning: {data.name}: {overlap.describe(trained_on)}.", err=True)
    meta = run_meta(data, targets, None, started, time.perf_counter() - t0, command_line())
    meta.update(
        split={"column": split["split_column"], "test_table": split["test_table"]},
        score_by=score_by,
    )
    result, summary, meta = evaluate_saved_model(
        model_dir,
        model,
        sidecar,
        data,
        targets,
        out,
        threshold=threshold,
        n_boot=n_boot,
        seed=seed,
        figures=not no_figures,
        meta=meta,
        score_by=score_by,
    )
    click.echo(format_markdown(summary, meta, calibration_table(result)))
    click.echo(f"Wrote {Path(out)}/ in {time.perf_counter() - t0:.1f} s.")


def _test_rows(
    dataset: str,
    data_dir: Path | None,
    split_column: str | None,
    train_table: str | None,
    val_table: str | None,
    test_table: str | None,
) -> Any:
    """The table to score: --dataset, the --test table, or the 'test' rows of --split-column."""
    import dataclasses

    from flarecast.data.tables.read import load_dataset
    from flarecast.published_splits import read_split_column

    if train_table or val_table:
        raise click.UsageError(
            "evaluate scores a saved model on one test set: give --test TABLE (or --dataset), "
            "not --train/--val."
        )
    if test_table and split_column:
        raise click.UsageError("Give --test TABLE or --split-column COL, not both.")
    if split_column is None:
        return load_dataset(test_table or dataset, data_dir=data_dir)
    data = load_with_split_column(dataset, split_column, data_dir)
    kind, labels = read_split_column(data.frame[split_column], split_column)
    if kind != "roles":
        raise click.UsageError(
            f"evaluate scores one test set: --split-column {split_column} must name roles "
            "(train, val, test), not fold numbers."
        )
    keep = labels == "test"
    click.echo(
        f"{data.name}: scoring the {int(keep.sum())} 'test' rows of {split_column!r}", err=True
    )
    frame = data.frame.loc[keep].drop(columns=split_column).reset_index(drop=True)
    return dataclasses.replace(data, frame=frame)
