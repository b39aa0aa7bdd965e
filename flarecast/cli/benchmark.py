"""``flarecast benchmark``: the frozen comparison on every registered real data set.

A thin layer over :func:`flarecast.evaluation.benchmark.plan_benchmark` and
:func:`~flarecast.evaluation.benchmark.run_benchmark`; the only code here that prints.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import friendly_errors, scheduler_executor
from flarecast.cli._options import data_dir_option, out_folder_option
from flarecast.cli._runs import (
    clean_interrupt,
    command_line,
    parse_methods,
    progress_bar,
    protocol_option,
    quiet_option,
    scheduler_option,
)

__all__ = ["benchmark"]


@click.command("benchmark")
@out_folder_option
@click.option(
    "--repeats",
    type=click.IntRange(min=2),
    default=None,
    help="Region-grouped partitions per data set [the protocol file's: 10].",
)
@click.option(
    "--datasets",
    default=None,
    help="Comma-separated registered names to consider [every registered real data set].",
)
@protocol_option(
    "Frozen protocol file; its sha256 is recorded in run.json [protocols/comparison.toml]."
)
@data_dir_option
@click.option("--no-figures", is_flag=True, help="Skip each data set's figures (forest.png stays).")
@scheduler_option
@quiet_option
@clean_interrupt()
@friendly_errors
def benchmark(
    out: str,
    repeats: int | None,
    datasets: str | None,
    protocol_file: str | None,
    data_dir: Path | None,
    no_figures: bool,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Focal loss vs cross-entropy (and each network vs logistic regression) on every data set.

    Runs the frozen protocol (protocols/comparison.toml) with R region-grouped
    partitions on each registered real data set that fits the M/X-vs-weaker
    question; a data set with no-flare rows gives two rows (negatives C, and
    A,B,C,N). Writes summary.md, summary.csv, differences.csv, forest.png,
    run.json and one subfolder per row (reproduce --repeats' files) into OUT,
    replaced as a whole once everything is written. Data sets left out are
    listed with the reason.
    """
    from flarecast.evaluation.benchmark import run_benchmark
    from flarecast.evaluation.benchmark_plan import plan_benchmark
    from flarecast.evaluation.frozen import load_frozen_protocol

    t0 = time.perf_counter()
    frozen = load_frozen_protocol(protocol_file)
    repeats = frozen.repeats if repeats is None else repeats
    plan = plan_benchmark(frozen.protocol, parse_methods(datasets), data_dir=data_dir)
    for s in plan.skipped:
        size = "" if s.rows is None else f" ({s.rows} rows, {s.regions} region(s))"
        click.echo(f"left out {s.dataset}{size}: {s.reason}", err=True)
    protocol = frozen.protocol
    with scheduler_executor(scheduler) as executor:
        result = run_benchmark(
            plan,
            frozen,
            out,
            repeats,
            figures=not no_figures,
            executor=executor,
            progress=_bars(protocol, repeats, quiet),
            command=command_line(),
        )
    click.echo((Path(out) / "summary.md").read_text(encoding="utf-8"))
    click.echo(
        f"Wrote {Path(out)}/ (summary.md, summary.csv, differences.csv, forest.png, run.json and "
        f"{len(plan.rows)} data-set folders) in {time.perf_counter() - t0:.1f} s; protocol sha256 "
        f"{result.meta['protocol_sha256'][:12]}."
    )


def _bars(protocol: Any, repeats: int, quiet: bool) -> Callable[..., Any]:
    """One progress bar per data set (stderr, only on a terminal), naming the repeat of each fit."""

    @contextlib.contextmanager
    def bars(row: Any, steps: int) -> Iterator[Callable[[int, int, str], None]]:
        t = row.targets
        click.echo(
            f"{row.name}: {len(t.y)} rows ({int(t.y.sum())} positive); {t.definition}", err=True
        )
        bar = progress_bar(steps, row.name, folds=protocol.folds, seeds=protocol.seeds, quiet=quiet)
        with bar as progress:
            yield lambda r, k, name: progress(k, f"{name} (repeat {r + 1}/{repeats})")

    return bars
