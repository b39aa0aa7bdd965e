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
    protocol_option,
    scheduler_option,
)
from flarecast.cli._splits import (
    load_with_split_column,
    score_by_option,
    split_data,
    split_options,
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
    default=None,
    help="Region-grouped partitions, each with its own folds, inner splits and network seeds. "
    "Above 1, table.md/table.csv/comparison.csv/intervals.png give means over the repeats with "
    "corrected repeated k-fold intervals (per-repeat values in repeats.csv; repeat 0 alone in "
    "partition0.md). [10 for a real data set (a registered one or your own table); 1 for "
    "SYNTHETIC data, so the demo stays fast, and for --split chrono; or the --protocol file's]",
)
@protocol_option(
    "A frozen protocol file (protocols/comparison.toml): its settings and repeats, with its "
    "sha256 recorded in run.json. No protocol option, --config or --methods may change it."
)
@click.option(
    "--evolution",
    is_flag=True,
    help="Add rows on the features plus their change since the two previous snapshots (umich-<L>h: "
    "the same flare's longer-lead snapshots; region series: the region's earlier records), each "
    "paired with the method without them and with logistic regression on the same features. "
    "With the ce row, also a GRU row ('sequence') over 3 steps: on umich-<L>h the flare's two "
    "longer-lead snapshots and its own; on a region series with every row kept (e.g. --negatives "
    "A,B,C,N) the last 3 records.",
)
@click.option(
    "--history",
    metavar="CATALOGUE",
    default=None,
    help="Add rows on the features plus the region's flares in the previous 24 h and 48 h from "
    "CATALOGUE (e.g. hek-2010-2019; malformed rows skipped and counted), paired as --evolution.",
)
@split_options
@score_by_option
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
    repeats: int | None,
    protocol_file: str | None,
    evolution: bool,
    history: str | None,
    split_column: str | None,
    train_table: str | None,
    val_table: str | None,
    test_table: str | None,
    score_by: str,
    **options: Any,
) -> None:
    """Focal loss vs cross-entropy on the same folds and seeds, with honest intervals.

    On a real data set the comparison runs on 10 region-grouped partitions by
    default (--repeats): table.md, table.csv and comparison.csv give the means
    over the repeats with corrected repeated k-fold intervals, which hold the
    partition and seed variance, and repeats.csv the per-repeat values. On
    SYNTHETIC data (the demo) and with --repeats 1 it is one partition with
    region-bootstrap intervals. Also written into OUT: calibration.csv (the
    networks before and after a Platt map fitted on each fold's inner
    validation), predictions.parquet, run.json, importance.csv (one partition)
    and PNG figures; then the table and its plain reading are printed. OUT is
    replaced as a whole once everything is written. In a one-partition run every
    finished (fold, method) fit is kept in OUT/.partial/ until then, so an
    interrupted run continues with --resume.
    """
    from flarecast.evaluation.comparison import fold_store, run_comparison, run_meta
    from flarecast.evaluation.tables import calibration_table, format_markdown

    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    record: dict[str, Any] = {}
    if protocol_file is None:
        protocol = build_protocol(config, ctx, methods=parse_methods(methods), **options)
    else:
        extra = {"evolution": evolution or None, "history": history, "split_column": split_column}
        extra |= {"train": train_table, "test": test_table, "score_by": score_by}
        frozen = _frozen_protocol(ctx, protocol_file, config, methods, repeats, options | extra)
        protocol, repeats, record = frozen.protocol, frozen.repeats, frozen.record()
    tables, split_column = split_data(train_table, val_table, test_table, split_column, data_dir)
    if tables is None and split_column is not None:
        tables = load_with_split_column(dataset, split_column, data_dir)
    if tables is None:
        data, targets = load_targets(dataset, data_dir, protocol)
    else:
        data, targets = tables, _table_targets(tables, protocol)
    if repeats is None:
        published = split_column is not None or score_by != "record"
        repeats = 1 if published else _default_repeats(data, protocol, resume)
    registry, pairs = None, None
    if evolution or history is not None:
        from flarecast.evaluation.methods import augmented_run
        from flarecast.features.augment import describe

        aug = augmented_run(data, protocol, evolution=evolution, history=history, data_dir=data_dir)
        data, targets, protocol = aug.data, aug.targets, aug.protocol
        registry, pairs = aug.registry, aug.pairs
        record["additions"] = describe(aug.additions)
        for addition in aug.additions:
            click.echo(addition.note, err=True)
    given_folds = None
    if split_column is not None or score_by != "record":
        given_folds, protocol = _published(
            targets, protocol, split_column, score_by, repeats, resume
        )
        n_given = None if given_folds is None else len(given_folds)
        record["split"] = {"column": split_column, "folds": n_given}
        record["score_by"] = score_by
    if repeats > 1:
        _reproduce_repeated(
            data,
            targets,
            protocol,
            out,
            repeats,
            record,
            resume=resume,
            no_figures=no_figures,
            scheduler=scheduler,
            quiet=quiet,
            started=started,
            t0=t0,
            registry=registry,
            pairs=pairs,
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
    meta.update(record)
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
            methods=registry,
            folds=given_folds,
            score_by=score_by,
        )
    click.echo(format_markdown(run.summary, run.meta, calibration_table(run.result)))
    click.echo(
        f"Wrote {Path(out)}/ (table.md, table.csv, comparison.csv, predictions.parquet, run.json"
        f"{'' if no_figures else ', figures'}) in {time.perf_counter() - t0:.1f} s."
    )


def _table_targets(data: Any, protocol: Any) -> Any:
    """Targets of the combined --train/--val/--test table, described on stderr like load_targets."""
    from flarecast.targets import make_targets

    targets = make_targets(data, protocol.negatives, protocol.positive_threshold)
    click.echo(
        f"{data.name}: {len(targets.y)} rows ({int(targets.y.sum())} positive), "
        f"{len(set(targets.groups.tolist()))} regions; {targets.definition}",
        err=True,
    )
    return targets


def _published(
    targets: Any, protocol: Any, column: str | None, score_by: str, repeats: int, resume: bool
) -> tuple[Any, Any]:
    """The folds of a published split (None: the protocol's own) and the protocol they give."""
    import dataclasses

    from flarecast.errors import ConfigError
    from flarecast.evaluation.published import published_folds

    if repeats > 1 or resume:
        raise ConfigError(
            "--split-column, --train/--test and --score-by region run one partition: use them "
            "without --repeats (or with --repeats 1) and without --resume."
        )
    if column is None:
        return None, protocol
    folds = published_folds(targets, protocol, column)
    if len(folds) > 1:
        protocol = dataclasses.replace(protocol, folds=len(folds))
    return folds, protocol


def _default_repeats(data: Any, protocol: Any, resume: bool) -> int:
    """Repeats when none are asked for: the frozen protocol's 10 on real data, else 1."""
    from flarecast.errors import ConfigError
    from flarecast.evaluation.repeated_comparison import DEFAULT_REPEATS

    if data.synthetic or protocol.split != "kfold":
        return 1
    if resume:
        raise ConfigError(
            f"--resume continues one partition, and {data.name} is real data, which runs "
            f"{DEFAULT_REPEATS} repeats by default; add --repeats 1 to resume a single-partition run."
        )
    return DEFAULT_REPEATS


def _frozen_protocol(
    ctx: click.Context,
    path: str,
    config: str | None,
    methods: str | None,
    repeats: int | None,
    options: dict[str, Any],
) -> Any:
    """The frozen protocol of ``--protocol``, refusing any option that would change it."""
    from click.core import ParameterSource

    from flarecast.errors import ConfigError
    from flarecast.evaluation.frozen import load_frozen_protocol

    given = [
        "--" + key.replace("_", "-")
        for key, value in {**options, "config": config, "methods": methods}.items()
        if value is not None and ctx.get_parameter_source(key) != ParameterSource.DEFAULT
    ]
    frozen = load_frozen_protocol(path)
    if repeats is not None and repeats != frozen.repeats:
        given.append("--repeats")
    if given:
        raise ConfigError(
            f"--protocol {path} is a frozen protocol; {', '.join(sorted(given))} would change it. "
            "Drop those options, or run without --protocol (and the run is not the frozen one)."
        )
    return frozen


def _reproduce_repeated(
    data: Any,
    targets: Any,
    protocol: Any,
    out: str,
    repeats: int,
    record: dict[str, Any],
    *,
    resume: bool,
    no_figures: bool,
    scheduler: str | None,
    quiet: bool,
    started: dt.datetime,
    t0: float,
    registry: Any = None,
    pairs: Any = None,
) -> None:
    """``reproduce --repeats R`` (R > 1): every repeat's fits on one executor, then one output folder."""
    from flarecast.errors import ConfigError
    from flarecast.evaluation.comparison import run_meta
    from flarecast.evaluation.repeated_comparison import run_repeated_comparison

    if resume:
        raise ConfigError(
            "--resume keeps the fits of one partition; it cannot be used with --repeats."
        )
    if protocol.split != "kfold":
        raise ConfigError(
            "--repeats needs region folds (--split kfold); a chronological split has one partition."
        )
    meta = run_meta(data, targets, protocol, started, time.perf_counter() - t0, command_line())
    meta.update(record)
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
            methods=registry,
            **({} if pairs is None else {"pairs": pairs}),
        )
    click.echo(text)
    click.echo(
        f"Wrote {Path(out)}/ (table.md, table.csv, comparison.csv over {repeats} repeats; "
        "repeats.csv, repeated_comparison.csv, predictions_repeats.parquet; repeat 0 alone in "
        f"partition0.md and the rest) in {time.perf_counter() - t0:.1f} s."
    )
