"""``flarecast forecast``: the daily per-region and full-disk flare probability report.

Options in, lines out: the model folder is read by
:func:`flarecast.forecast.loading.load_forecaster`, the SHARP records and the
issue time by :mod:`flarecast.forecast.inputs`, the forecast is made by
:func:`flarecast.forecast.core.make_forecast` and written by
:func:`flarecast.forecast.report.write_report`. pandas and the model are
imported inside the command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import data_warnings_to_stderr, friendly_errors
from flarecast.cli._options import data_dir_option, on_bad_rows_option, out_option
from flarecast.forecast.loading import ENGINES

__all__ = ["forecast", "reference_rates"]


def _path_option(*decls: str, **attrs: Any) -> Any:
    """An optional file or folder option, given to the command as a Path (None when left out)."""
    return click.option(*decls, default=None, type=click.Path(path_type=Path), **attrs)


@click.command("forecast")
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Model folder (from flarecast train). A sub-folder x/ holding an >=X model is used for P(>=X).",
)
@click.option(
    "--features",
    "features_spec",
    default=None,
    help="SHARP records: a CSV/Parquet/netCDF file (canonical or JSOC column names, T_REC in TAI is "
    "converted), hollanda-2019 or another registered data set, or demo[:SEED] for the SYNTHETIC "
    "demo series (default seed 1).",
)
@click.option(
    "--jsoc",
    is_flag=True,
    help="Fetch the latest SHARP NRT records from JSOC (needs network and drms).",
)
@click.option(
    "--date",
    default=None,
    help="Issue at 00:00 UTC of this day (YYYY-MM-DD); the report folder name.",
)
@click.option(
    "--issue-time",
    default=None,
    help="Issue time, ISO 8601 (UTC if no zone). Default: the newest input record (--jsoc: now).",
)
@click.option(
    "--out",
    "out_dir",
    default="reports",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Reports folder; the day goes to OUT/YYYY-MM-DD/ and OUT/index.html lists every day.",
)
@_path_option("--x-model", help="Separate >=X model folder.")
@click.option("--stale-hours", type=float, default=None, help="Flag records older than this [24].")
@click.option(
    "--lookback-hours",
    type=float,
    default=None,
    help="Regions unseen for longer are off the disk [72].",
)
@click.option("--limb-deg", type=float, default=None, help="Flag |LON_FWT| above this [70].")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="auto",
    show_default=True,
    help="Model evaluation: numpy for plain MLPs (fast start, no torch import), else torch.",
)
@_path_option(
    "--srs",
    "srs_path",
    help="The day's NOAA SRS text file (needs the 'srs' extra): the report shows MCSTAT beside flarecast.",
)
@_path_option(
    "--srs-previous",
    help="The previous day's SRS: adds MCEVOL (rate per previous-day/today class pair).",
)
@_path_option(
    "--reference-rates",
    "rates_path",
    help="McIntosh-Poisson rates file (flarecast reference-rates); required with --srs.",
)
@click.option(
    "--skill",
    "skill_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="table.csv of flarecast backtest or flarecast verify: each method's verified skill is shown "
    "beside its numbers (repeatable). Without it the report says 'no verified track record'.",
)
@click.option(
    "--catalogue",
    default=None,
    help="Flare catalogue (registered name, demo, or file): the History panel marks the earlier days "
    "on which a region had a >=M flare in that report's valid period.",
)
@on_bad_rows_option
@click.option(
    "--json", "as_json", is_flag=True, help="Print the forecast JSON instead of the summary."
)
@friendly_errors
def forecast(
    model_dir: Path,
    features_spec: str | None,
    jsoc: bool,
    date: str | None,
    issue_time: str | None,
    out_dir: Path,
    x_model: Path | None,
    stale_hours: float | None,
    lookback_hours: float | None,
    limb_deg: float | None,
    engine: str,
    srs_path: Path | None,
    srs_previous: Path | None,
    rates_path: Path | None,
    skill_paths: tuple[Path, ...],
    catalogue: str | None,
    on_bad_rows: str,
    as_json: bool,
) -> None:
    """Daily per-region and full-disk flare probabilities (P(>=M), P(>=X) in the next 24 h).

    Example (no network): flarecast forecast --model models/demo --features demo --date 2011-06-01 --out reports/
    """
    import dataclasses

    from flarecast.config import replace
    from flarecast.errors import ConfigError
    from flarecast.forecast.config import ForecastConfig
    from flarecast.forecast.core import make_forecast
    from flarecast.forecast.formats import forecast_to_dict, percent
    from flarecast.forecast.inputs import read_input, read_jsoc, resolve_issue_time
    from flarecast.forecast.loading import load_forecaster
    from flarecast.forecast.report import write_report
    from flarecast.forecast.support import training_overlap

    if bool(features_spec) == jsoc:
        raise ConfigError("give exactly one of --features FILE|NAME|demo and --jsoc")
    if srs_path is None and (srs_previous or rates_path or skill_paths):
        raise ConfigError("--srs-previous, --reference-rates and --skill need --srs FILE")
    if srs_path is not None and rates_path is None:
        raise ConfigError(
            "--srs needs --reference-rates FILE; write one with "
            "flarecast reference-rates --dataset hayes-srs --out FILE"
        )
    try:
        config = replace(
            ForecastConfig(),
            stale_hours=stale_hours,
            lookback_hours=lookback_hours,
            limb_deg=limb_deg,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    with data_warnings_to_stderr():
        model, info, x_clf = load_forecaster(model_dir, x_model, engine)
        if jsoc:
            t0, note = resolve_issue_time(date, issue_time)
            frame, input_info = read_jsoc(t0, config.lookback_hours, info.features)
        else:
            frame, input_info = read_input(features_spec)
            t0, note = resolve_issue_time(date, issue_time, frame)
        if note:
            input_info = dataclasses.replace(input_info, notes=(*input_info.notes, note))
        fc = make_forecast(
            frame, model, info, t0, input_info=input_info, x_model=x_clf, config=config
        )
        if srs_path is not None:
            fc = _with_comparison(fc, srs_path, srs_previous, rates_path, skill_paths)
        events = None
        if catalogue is not None:
            from flarecast.data.catalogues.read import read_catalogue

            events = read_catalogue(catalogue, on_bad_rows=on_bad_rows)
        day = write_report(fc, out_dir, events=events)
    overlap = training_overlap(fc.issue_time, info)  # not in the report: see training_overlap
    if as_json:
        click.echo(json.dumps(forecast_to_dict(fc), indent=2))
        if overlap:
            click.echo(f"Warning: {overlap}", err=True)
        return
    if fc.synthetic:
        click.echo("SYNTHETIC DATA -- NOT A REAL FORECAST")
    click.echo(
        f"Forecast issued {fc.issue_time:%Y-%m-%d %H:%M} UTC, valid {config.valid_hours:g} h; "
        f"{fc.n_forecast} of {len(fc.regions)} regions forecast."
    )
    click.echo(
        f"Full disk: Class M {percent(fc.full_disk_m)}%  Class X {percent(fc.full_disk_x)}% "
        "(1 - prod(1 - p_i), regions assumed independent)"
    )
    for w in (*fc.warnings, *([overlap] if overlap else [])):
        click.echo(f"Warning: {w}", err=True)
    if fc.comparison is not None:
        click.echo(
            "Full disk Class M: "
            + ", ".join(
                f"{m} {percent(fc.comparison.full_disk[m][0])}%" for m in fc.comparison.methods
            )
        )
    click.echo(
        f"Wrote {day}/ (forecast.json, .csv, .txt, .md, .html) and {Path(out_dir) / 'index.html'}"
    )


def _with_comparison(
    fc: object,
    srs_path: Path,
    srs_previous: Path | None,
    rates_path: Path,
    skill_paths: tuple[Path, ...],
) -> object:
    """``fc`` with MCSTAT (and MCEVOL) beside it, from the day's SRS and a rates file."""
    import dataclasses

    from flarecast.data.tables.srs_text import read_srs_text
    from flarecast.forecast.comparison import compare, read_skill
    from flarecast.forecast.rates import load_rates

    rates = load_rates(rates_path)
    previous = read_srs_text(srs_previous) if srs_previous is not None else None
    skill = read_skill(list(skill_paths)) if skill_paths else None
    comparison = compare(fc, read_srs_text(srs_path), rates, previous=previous, skill=skill)
    return dataclasses.replace(fc, comparison=comparison)


@click.command("reference-rates")
@click.option("--dataset", default="hayes-srs", show_default=True,
              help="Region-day data set with McIntosh classes and flare counts.")  # fmt: skip
@click.option("--train-until", default="2008-12-31", show_default=True,
              help="Last issue day (UTC) fitted: the backtest's default training period.")  # fmt: skip
@click.option("--min-days", default=10, show_default=True, type=int,
              help="MCEVOL: pairs seen on fewer training region-days back off to MCSTAT.")  # fmt: skip
@out_option("The rates file (JSON) that flarecast forecast --reference-rates reads.", file=True)
@data_dir_option
@friendly_errors
def reference_rates(
    dataset: str, train_until: str, min_days: int, out: Path, data_dir: Path | None
) -> None:
    """Fit the McIntosh-Poisson (MCSTAT, MCEVOL) rates the daily report shows beside flarecast."""
    from flarecast.data.tables.read import load_dataset
    from flarecast.forecast.rates import fit_rates, save_rates

    with data_warnings_to_stderr():
        data = load_dataset(dataset, data_dir=data_dir)
        rates = fit_rates(
            data.frame, train_until=train_until, min_days=min_days, dataset=data.name,
            sha256=data.sha256,
        )  # fmt: skip
        save_rates(out, rates)
    m = rates["thresholds"]["M"]
    click.echo(
        f"Fitted on {rates['region_days']} region-days {rates['first_issue']}..{rates['last_issue']} of "
        f"{data.name}: {len(m['class_rate'])} McIntosh classes, {len(m['pair_rate'])} MCEVOL pairs, "
        f">=M climatology {m['climatology_rate']:.4f} flares/region-day. Wrote {out}."
    )
