"""``flarecast backtest``: time-ordered verification of region-day forecasts against McIntosh-Poisson.

Thin layer over :mod:`flarecast.evaluation.backtest` and
:mod:`flarecast.evaluation.backtest_report`; the only code here that prints.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import click

from flarecast.cli._common import data_warnings_to_stderr, friendly_errors
from flarecast.cli._options import data_dir_option, on_bad_rows_option, out_folder_option

__all__ = ["backtest"]


@click.command("backtest")
@click.option(
    "--dataset", required=True, help="A region-day data set, e.g. 'hayes-srs', or a file."
)
@out_folder_option
@click.option("--train-until", default="2008-12-31", show_default=True,
              help="Last issue day (UTC) of the first training period.")  # fmt: skip
@click.option("--retrain", type=click.Choice(["none", "yearly"]), default="none", show_default=True,
              help="'yearly': rolling origin, retrained on everything before each test year.")  # fmt: skip
@click.option("--positive", type=click.Choice(["C", "M", "X"]), default="M", show_default=True,
              help="Event: a flare of this class or above on the region-day.")  # fmt: skip
@click.option("--positive-threshold", type=click.Choice(["C1.0", "M1.0", "X1.0"]), default=None,
              help="The same as --positive C/M/X, in GOES-class form; other thresholds cannot be "
              "read from counts per class.")  # fmt: skip
@click.option("--horizon", default=1, show_default=True, type=int,
              help="Forecast day: 1 = the issue day; 2, 3 = the same region's flares 1, 2 days "
              "later (unknown, left out and counted, when the region has no row that day).")  # fmt: skip
@click.option("--latency", default=0, show_default=True, type=int,
              help="Hours from issue to the label window; only 0 (labels are whole UT days).")  # fmt: skip
@click.option("--validation-years", default=2, show_default=True, type=int,
              help="Last training years whose predictions choose the thresholds.")  # fmt: skip
@click.option("--n-boot", default=200, show_default=True, type=int,
              help="Block-bootstrap resamples over 27-day rotations (0: no intervals).")  # fmt: skip
@click.option("--methods", default=None,
              help="Comma-separated rows of the table (default: all eight, networks included).")  # fmt: skip
@click.option("--disk-catalogue", default=None,
              help="Flare catalogue (registered name or file) for the full-disk truth, e.g. "
              "'ncei-1996-2022'; default: the table's own region-days.")  # fmt: skip
@on_bad_rows_option
@click.option("--seed", default=0, show_default=True, type=int)
@data_dir_option
@friendly_errors
def backtest(
    dataset: str,
    out: str,
    train_until: str,
    retrain: str,
    positive: str,
    positive_threshold: str | None,
    horizon: int,
    latency: int,
    validation_years: int,
    n_boot: int,
    methods: str | None,
    disk_catalogue: str | None,
    on_bad_rows: str,
    seed: int,
    data_dir: Path | None,
) -> None:
    """Backtest climatology, persistence, MCSTAT, MCEVOL, logistic regression, gradient boosting, CE and focal networks."""
    from flarecast.data.tables.read import load_dataset
    from flarecast.evaluation.backtest import BacktestConfig, run_backtest
    from flarecast.evaluation.backtest_labels import THRESHOLDS
    from flarecast.evaluation.backtest_methods import METHODS
    from flarecast.evaluation.backtest_report import markdown_table, write_backtest

    if positive_threshold is not None:
        source = click.get_current_context().get_parameter_source("positive")
        if (
            source is not None
            and source.name != "DEFAULT"
            and THRESHOLDS[positive_threshold] != positive
        ):
            raise click.UsageError(
                f"--positive {positive} and --positive-threshold {positive_threshold} disagree; "
                "give one of them."
            )
        positive = THRESHOLDS[positive_threshold]
    chosen = tuple(m.strip() for m in methods.split(",")) if methods else tuple(METHODS)
    config = BacktestConfig(
        methods=chosen,
        train_until=train_until,
        retrain=retrain,
        positive=positive,
        horizon_days=horizon,
        latency_hours=latency,
        validation_years=validation_years,
        n_boot=n_boot,
        seed=seed,
    )
    config.check()
    start = time.perf_counter()
    with data_warnings_to_stderr():
        data = load_dataset(dataset, data_dir=data_dir)
        events = None
        if disk_catalogue:
            from flarecast.data.catalogues.read import read_catalogue

            events = read_catalogue(disk_catalogue, data_dir=data_dir, on_bad_rows=on_bad_rows)
        result = run_backtest(data.frame, config, disk_events=events)
        fitted = time.perf_counter() - start
        try:
            code = version("flarecast")
        except PackageNotFoundError:  # running from a source tree without metadata
            code = "unknown"
        provenance = {
            "dataset": data.name,
            "dataset_sha256": data.sha256,
            "dataset_notes": list(data.notes),
            "flarecast_version": code,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds_fit_predict": round(fitted, 1),
            "disk_catalogue": None if events is None else dict(events.attrs),
        }
        written = write_backtest(out, result, config, provenance)
    click.echo(markdown_table(written["tables"]["regions"], "region-day", positive))
    click.echo("")
    click.echo(markdown_table(written["tables"]["disk"], "full-disk day", positive))
    click.echo(
        f"\nWrote {len(written['paths'])} files to {out} in {time.perf_counter() - start:.0f} s."
    )
