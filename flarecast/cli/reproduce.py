"""``flarecast reproduce``: the focal-loss vs cross-entropy comparison table.

A thin layer over :func:`flarecast.evaluation.comparison.run_comparison`; the only code here
that prints.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import friendly_errors, scheduler_executor
from flarecast.cli._runs import (
    build_protocol,
    clean_interrupt,
    command_line,
    common_options,
    load_targets,
    parse_methods,
    progress_bar,
    scheduler_option,
)

__all__ = ["reproduce"]


@click.command("reproduce")
@common_options
@click.option("--alpha", type=float, default=None, help="Focal-loss alpha [0.25].")
@click.option("--gamma", type=float, default=None, help="Focal-loss gamma [2].")
@click.option(
    "--methods",
    default=None,
    help="Comma-separated rows: climatology, logistic, gboost, ce, weighted-ce, focal [all].",
)
@click.option("--n-boot", type=int, default=None, help="Region bootstrap resamples [1000].")
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures.")
@click.option(
    "--importance/--no-importance",
    default=True,
    show_default=True,
    help="Permutation importance (AUC drop on test folds) of the focal and CE networks.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Reuse the fits an interrupted run with the same options finished (kept in OUT/.partial/) "
    "and fit only the rest; the outputs equal an uninterrupted run's.",
)
@scheduler_option
@click.pass_context
@clean_interrupt()
@friendly_errors
def reproduce(
    ctx: click.Context,
    dataset: str,
    data_dir: str | None,
    config: str | None,
    no_figures: bool,
    importance: bool,
    resume: bool,
    out: str,
    methods: str | None,
    scheduler: str | None,
    quiet: bool,
    **options: Any,
) -> None:
    """Focal loss vs cross-entropy on the same folds and seeds, with region-bootstrap intervals.

    Writes table.md, table.csv, comparison.csv, calibration.csv (the networks
    before and after a Platt map fitted on each fold's inner validation),
    predictions.parquet, run.json, importance.csv and PNG figures into OUT,
    then prints the table and its plain reading. OUT is replaced as a whole once
    everything is written. Every finished (fold, method) fit is kept in
    OUT/.partial/ until then, so an interrupted run continues with --resume.
    """
    from flarecast.evaluation.comparison import fold_store, run_comparison, run_meta
    from flarecast.evaluation.tables import calibration_table, format_markdown

    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    protocol = build_protocol(config, ctx, methods=parse_methods(methods), **options)
    data, targets = load_targets(dataset, data_dir, protocol)
    folds = 1 if protocol.split == "chrono" else protocol.folds
    steps = folds * len(protocol.methods)
    with_importance = importance and bool({"focal", "ce"} & set(protocol.methods))
    store = fold_store(out, data, targets, protocol, with_importance)
    done: dict[Any, Any] = {}
    if resume:
        done = store.load()
        click.echo(
            f"--resume: {len(done)} of {steps} fits were finished by the interrupted run", err=True
        )
    elif store.count():
        click.echo(
            f"discarding {store.count()} finished fits in {store.folder} (--resume would reuse them)",
            err=True,
        )
        store.clear()
    meta = run_meta(data, targets, protocol, started, time.perf_counter() - t0, command_line())
    bar = progress_bar(steps, "reproduce", folds=folds, seeds=protocol.seeds, quiet=quiet)
    with bar as progress, scheduler_executor(scheduler) as executor:
        run = run_comparison(
            data,
            targets,
            protocol,
            out,
            store=store,
            done=done,
            importance=with_importance,
            figures=not no_figures,
            executor=executor,
            progress=progress,
            meta=meta,
        )
    click.echo(format_markdown(run.summary, run.meta, calibration_table(run.result)))
    click.echo(
        f"Wrote {Path(out)}/ (table.md, table.csv, comparison.csv, predictions.parquet, run.json"
        f"{'' if no_figures else ', figures'}) in {time.perf_counter() - t0:.1f} s."
    )
