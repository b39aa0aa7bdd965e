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
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Region-grouped partitions, each with its own folds, inner splits and network seeds; "
    "above 1 also writes repeated.md, repeats.csv and repeated_comparison.csv (means over "
    "repeats, corrected repeated k-fold intervals).",
)
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
    repeats: int,
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
    if repeats > 1:
        _reproduce_repeated(
            data, targets, protocol, out, repeats, resume, no_figures, scheduler, quiet, started, t0
        )
        return
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


def _reproduce_repeated(
    data: Any,
    targets: Any,
    protocol: Any,
    out: str,
    repeats: int,
    resume: bool,
    no_figures: bool,
    scheduler: str | None,
    quiet: bool,
    started: dt.datetime,
    t0: float,
) -> None:
    """``reproduce --repeats R`` (R > 1): every repeat's fits on one executor, then one output folder."""
    from flarecast.errors import ConfigError
    from flarecast.evaluation.comparison import run_meta
    from flarecast.evaluation.repeated_comparison import run_repeated_comparison
    from flarecast.evaluation.tables import calibration_table, format_markdown

    if resume:
        raise ConfigError(
            "--resume keeps the fits of one partition; it cannot be used with --repeats."
        )
    if protocol.split != "kfold":
        raise ConfigError(
            "--repeats needs region folds (--split kfold); a chronological split has one partition."
        )
    meta = run_meta(data, targets, protocol, started, time.perf_counter() - t0, command_line())
    steps = repeats * protocol.folds * len(protocol.methods)
    bar = progress_bar(steps, "reproduce", folds=protocol.folds, seeds=protocol.seeds, quiet=quiet)
    with bar as progress, scheduler_executor(scheduler) as executor:
        result, text, meta = run_repeated_comparison(
            data,
            targets,
            protocol,
            out,
            repeats,
            figures=not no_figures,
            executor=executor,
            progress=lambda r, k, name: progress(k, f"{name} (repeat {r + 1}/{repeats})"),
            meta=meta,
        )
    first = result.runs[0]
    from flarecast.evaluation.bootstrap import summarise

    click.echo(format_markdown(summarise(first), meta, calibration_table(first)))
    click.echo(text)
    click.echo(
        f"Wrote {Path(out)}/ (repeated.md, repeats.csv, repeated_comparison.csv, "
        f"predictions_repeats.parquet; table.md and the rest for repeat 0) in "
        f"{time.perf_counter() - t0:.1f} s."
    )
