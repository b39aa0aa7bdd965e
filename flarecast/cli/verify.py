"""``flarecast verify``: score the daily reports already issued against the flares that happened.

Thin layer over :mod:`flarecast.forecast.verify` (reading the reports and the
catalogue) and :func:`flarecast.evaluation.backtest_report.write_backtest`
(the backtest's scores and figures); the only code here that prints.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from flarecast.cli._common import data_warnings_to_stderr, friendly_errors
from flarecast.cli._options import (
    catalogue_format_option,
    data_dir_option,
    on_bad_rows_option,
    out_option,
)

__all__ = ["verify"]


@click.command("verify")
@click.argument("reports_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--catalogue", required=True,
              help="Flare catalogue: a registered name (or demo) or a file/folder.")  # fmt: skip
@catalogue_format_option
@on_bad_rows_option
@out_option("Output folder: table.md, table.csv, predictions.parquet, run.json, figures.")
@click.option("--n-boot", default=200, show_default=True, type=int,
              help="Block-bootstrap resamples over 27-day rotations (0: no intervals).")  # fmt: skip
@click.option("--seed", default=0, show_default=True, type=int)
@data_dir_option
@friendly_errors
def verify(
    reports_dir: Path,
    catalogue: str,
    catalogue_format: str | None,
    on_bad_rows: str,
    out: Path,
    n_boot: int,
    seed: int,
    data_dir: Path | None,
) -> None:
    """Score published reports/*/forecast.json (flarecast, and MCSTAT/MCEVOL where shown) against a catalogue."""
    from flarecast.data.catalogues.read import read_catalogue
    from flarecast.errors import ConfigError
    from flarecast.evaluation.backtest_report import markdown_table, write_backtest
    from flarecast.forecast.verify import (
        observe,
        read_published,
        verification_result,
        verify_config,
    )

    if n_boot < 0:
        raise ConfigError(f"--n-boot must be >= 0; got {n_boot}")
    with data_warnings_to_stderr():
        regions, disk, notes = read_published(reports_dir)
        events = read_catalogue(
            catalogue, format=catalogue_format, on_bad_rows=on_bad_rows, data_dir=data_dir
        )
        regions, disk = observe(regions, disk, events)
        result = verification_result(regions, disk)
        config = verify_config(tuple(result["disk"]["method"].unique()), n_boot, seed)
        provenance = {
            "dataset": f"published reports in {reports_dir}",
            "catalogue": str(events.attrs.get("source", catalogue)),
            "catalogue_sha256": events.attrs.get("sha256"),
            "dataset_notes": [
                *notes,
                "threshold 50% (a published forecast has no validation period); BSS against the "
                "sample climatology of the verified days; region-day event: a >= M1.0 flare of the "
                "region peaking in the valid period; full-disk event: any >= M1.0 flare peaking in it",
            ],
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        written = write_backtest(out, result, config, provenance)
    for note in notes:
        click.echo(note)
    click.echo(markdown_table(written["tables"]["regions"], "region-day"))
    click.echo("")
    click.echo(markdown_table(written["tables"]["disk"], "full-disk day"))
    click.echo(f"\nWrote {len(written['paths'])} files to {out}.")
