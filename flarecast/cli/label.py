"""``flarecast label`` (SHARP records + flare catalogue -> labelled table) and ``flarecast data sharp`` (JSOC)."""

from __future__ import annotations

from pathlib import Path

import click

from flarecast.cli._common import (
    data_warnings_to_stderr,
    duration_callback,
    friendly_errors,
    scheduler_executor,
)

__all__ = ["label", "sharp", "retrain"]

_ON_BAD_ROWS = click.Choice(["error", "skip"])


@click.command()
@click.option(
    "--sharp",
    "sharp_source",
    required=True,
    metavar="FILE_OR_NAME",
    help="SHARP series file (CSV/Parquet/netCDF) or name: hollanda-2019, demo.",
)
@click.option(
    "--catalogue",
    required=True,
    metavar="FILE_OR_NAME",
    help="Flare catalogue file or folder, or name (e.g. hek-2010-2019, ncei-1996-2022, demo).",
)
@click.option(
    "--catalogue-format",
    default=None,
    metavar="FORMAT",
    help="Catalogue format if it cannot be detected (ncei, swpc-list, hek, xrs-report, ...).",
)
@click.option(
    "--horizon",
    default="24h",
    show_default=True,
    callback=duration_callback,
    help="Forecast window length, with a unit (24h, 90min, 1d).",
)
@click.option(
    "--latency",
    default="0h",
    show_default=True,
    callback=duration_callback,
    help="Gap between record and window, with a unit (6h, 0h).",
)
@click.option(
    "--event-time",
    type=click.Choice(["peak", "start"]),
    default="peak",
    show_default=True,
    help="Flare time that must fall in the window.",
)
@click.option(
    "--history/--no-history",
    default=False,
    show_default=True,
    help="Add the feature history_max_flux_prev_24h (largest flare that peaked in the previous 24 h).",
)
@click.option(
    "--harp-map",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="HARP->NOAA map (harp_to_noaa.csv / harp_stats.csv): label by HARP, counting all its regions.",
)
@click.option(
    "--on-bad-rows",
    type=_ON_BAD_ROWS,
    default="error",
    show_default=True,
    help="Malformed catalogue rows: stop with an error, or skip them (counted).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Shared data folder for registered names (default $FLARECAST_DATA_DIR).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output table: .parquet, .nc or .csv (written atomically).",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="local|processes|tcp://HOST:PORT",
    help="Label on Dask (needs flarecast[dask]), partitioned by region: threads here, worker processes "
    "here, or a running scheduler. Same table as without. [default: this process]",
)
@friendly_errors
def label(sharp_source, catalogue, catalogue_format, horizon, latency, event_time, history, harp_map,
          on_bad_rows, data_dir, out, scheduler) -> None:  # fmt: skip
    """Label SHARP records with the largest flare of their region in (t + latency, t + latency + horizon]."""
    import pandas as pd

    from flarecast.data.catalogues.read import read_catalogue
    from flarecast.data.sharp.series import read_harp_map, read_sharp_series
    from flarecast.data.tables.write import write_table
    from flarecast.labels import labelled_table

    with data_warnings_to_stderr():
        events = read_catalogue(
            catalogue, format=catalogue_format, on_bad_rows=on_bad_rows, data_dir=data_dir
        )
        series = read_sharp_series(sharp_source, data_dir=data_dir)
        mapping = read_harp_map(harp_map) if harp_map is not None else None
        with scheduler_executor(scheduler) as executor:
            table = labelled_table(
                series,
                events,
                horizon=horizon,
                latency=latency,
                event_time=event_time,
                history="24h" if history else None,
                harp_map=mapping,
                executor=executor,
            )
        table.attrs["created"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    write_table(table, out)
    a = table.attrs
    classes = table["goes_class"].str[0].value_counts()
    counts = ", ".join(f"{k} {classes.get(k, 0)}" for k in ("N", "A", "B", "C", "M", "X"))
    click.echo(
        f"Catalogue: {a['catalogue_source']} ({a['catalogue_format']}, {a['catalogue_events']} events, "
        f"{a['catalogue_bad_rows']} malformed skipped, {a['catalogue_duplicates_removed']} duplicates removed; "
        f"flux scaling {a['catalogue_flux_scaling']})"
    )
    click.echo(f"Window: {a['window']}")
    click.echo(
        f"Records: {a['records_in']} read, {a['dropped_unknown_label']} without a known label dropped "
        f"(window outside the catalogue coverage or no region), "
        f"{a['dropped_missing_feature']} with a missing feature dropped; {len(table)} written"
    )
    click.echo(f"Labels: {counts}")
    click.echo(f"Wrote {out}")


@click.command()
@click.option("--start", required=True, help="First T_REC (JSOC TAI label), e.g. 2014-01-01.")
@click.option("--end", required=True, help="End T_REC (exclusive).")
@click.option(
    "--cadence",
    default="1h",
    show_default=True,
    callback=duration_callback,
    help="Record spacing, a multiple of 12 min.",
)
@click.option(
    "--series",
    default="hmi.sharp_cea_720s",
    show_default=True,
    help="hmi.sharp_cea_720s, hmi.sharp_cea_720s_nrt, hmi.sharp_720s or hmi.sharp_720s_nrt.",
)
@click.option(
    "--keywords",
    default=None,
    help="Comma-separated SHARP keywords (default: the 18 space-weather ones).",
)
@click.option("--harp", "harps", multiple=True, type=int, help="Only this HARP (repeatable).")
@click.option("--chunk", default="30D", show_default=True, help="Time span of one JSOC query.")
@click.option("--retries", default=3, show_default=True, type=int, help="Retries per failed query.")
@click.option(
    "--max-abs-lon",
    default=70.0,
    show_default=True,
    type=float,
    help="Keep |LON_FWT| <= this (deg).",
)
@click.option(
    "--server-url", default=None, help="CGI folder of another DRMS server (default JSOC)."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output series: .parquet, .nc or .csv.",
)
@friendly_errors
def sharp(
    start, end, cadence, series, keywords, harps, chunk, retries, max_abs_lon, server_url, out
) -> None:
    """Fetch SHARP keyword series from JSOC (needs flarecast[jsoc]); QUALITY == 0, TAI -> UTC."""
    from flarecast.data.sharp.jsoc import DEFAULT_KEYWORDS, fetch_sharp
    from flarecast.data.tables.write import write_table

    keys = (
        [k.strip() for k in keywords.split(",") if k.strip()]
        if keywords
        else list(DEFAULT_KEYWORDS)
    )
    frame = fetch_sharp(
        start,
        end,
        series=series,
        keywords=keys,
        cadence=cadence,
        harpnums=list(harps) or None,
        chunk=chunk,
        retries=retries,
        max_abs_lon=max_abs_lon,
        server_url=server_url,
    )
    write_table(frame, out)
    dropped = ", ".join(f"{k} {v}" for k, v in frame.attrs["dropped"].items())
    click.echo(
        f"{len(frame.attrs['queries'])} JSOC queries, {frame.attrs['records_received']} records received; "
        f"dropped: {dropped}; {len(frame)} records from {frame['harpnum'].nunique()} HARPs written"
    )
    click.echo(f"Wrote {out}")


@click.command("retrain")
@click.option(
    "--sharp",
    "sharp_source",
    required=True,
    metavar="FILE_OR_NAME",
    help="SHARP series file (CSV/Parquet/netCDF) or name: hollanda-2019, demo.",
)
@click.option(
    "--catalogue",
    required=True,
    metavar="FILE_OR_NAME",
    help="The new flare catalogue: file, folder or name (hek-2010-2019, ncei-1996-2022, demo, ...).",
)
@click.option(
    "--catalogue-format",
    default=None,
    metavar="FORMAT",
    help="Catalogue format if it cannot be detected (ncei, swpc-list, hek, xrs-report, ...).",
)
@click.option(
    "--on-bad-rows",
    type=_ON_BAD_ROWS,
    default="error",
    show_default=True,
    help="Malformed catalogue rows: stop with an error, or skip them (counted).",
)
@click.option(
    "--base-model",
    "base_model",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Model folder to retrain (read only; never modified).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New model folder; must not exist (or be empty).",
)
@click.option(
    "--horizon",
    default=None,
    callback=duration_callback,
    help="Label window length, with a unit [base model's recorded window, else 24h].",
)
@click.option(
    "--latency",
    default=None,
    callback=duration_callback,
    help="Gap between record and window, with a unit [recorded, else 0h].",
)
@click.option(
    "--event-time",
    type=click.Choice(["peak", "start"]),
    default=None,
    help="Flare time that must fall in the window [recorded, else peak].",
)
@click.option(
    "--holdout-start",
    default=None,
    help="First hold-out time (UTC), e.g. 2017-01-01 [the last --holdout-days of labelled records].",
)
@click.option(
    "--holdout-days",
    type=float,
    default=90.0,
    show_default=True,
    help="Length of the default hold-out (the latest period), days.",
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
@click.option(
    "--harp-map",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="HARP->NOAA map: label by HARP, counting all its regions.",
)
@click.option("--epochs", type=int, default=None, help="Maximum epochs [the base model's].")
@click.option("--device", default=None, help="auto, cpu, cuda, cuda:N or mps [the base model's].")
@click.option(
    "--n-boot", type=int, default=1000, show_default=True, help="Region bootstrap resamples."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Shared data folder for registered names (default $FLARECAST_DATA_DIR).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def retrain(sharp_source, catalogue, catalogue_format, on_bad_rows, base_model, out, horizon, latency, event_time,
            holdout_start, holdout_days, keep_straddling, any_quality, max_abs_lon, harp_map, epochs, device,
            n_boot, seed, data_dir, quiet) -> None:  # fmt: skip
    """Relabel SHARP records with a new catalogue, retrain the base model's recipe, compare on the latest period.

    The new model trains on records before the hold-out (minus a latency +
    horizon gap); both models are scored on the same hold-out records with
    region-bootstrap intervals. Writes a new model folder with comparison.md,
    comparison.csv, comparison.json and holdout_predictions.csv; the base
    model folder is only read.
    """
    import dataclasses
    import sys
    import time

    from tqdm import tqdm

    from flarecast import config as cfg
    from flarecast.cli.train import _write_history, _write_toml
    from flarecast.data.catalogues.read import read_catalogue
    from flarecast.data.sharp.series import read_harp_map, read_sharp_series
    from flarecast.retrain.report import format_comparison, write_retrained
    from flarecast.retrain.run import RetrainConfig, check_out_folder, read_base_model
    from flarecast.retrain.run import retrain as run_retrain
    from flarecast.training.loop import TrainConfig

    t0 = time.perf_counter()
    check_out_folder(out, base_model)  # both before any long work
    read_base_model(base_model)
    config = RetrainConfig(
        horizon=horizon,
        latency=latency,
        event_time=event_time,
        holdout_start=holdout_start,
        holdout_days=holdout_days,
        drop_straddling=not keep_straddling,
        quality_zero=not any_quality,
        max_abs_lon=max_abs_lon,
        max_epochs=epochs,
        device=device,
        n_boot=n_boot,
        seed=seed,
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

    params = result.model.get_params()
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    train_table = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items() if k in names
    }
    lab = result.lineage["labelling"]
    data_table = {
        "dataset": result.dataset.name,
        "sha256": result.dataset.sha256,
        "synthetic": result.dataset.synthetic,
        "features": list(result.base.features),
        "negatives": list(result.base.negatives),
        "positive_threshold": result.base.positive_threshold,
        "threshold": params["threshold"],
    }

    def write_toml(folder: Path) -> None:
        _write_toml(folder / "train.toml", {"train": train_table, "data": data_table})
        text = (
            (folder / "train.toml").read_text().split("\n", 1)[1]
        )  # say who wrote it (the folder is private)
        (folder / "train.toml").write_text(
            f"# Written by `flarecast retrain` from {result.base.model_id}; the [train] table reruns with: "
            f"flarecast train --config THIS_FILE ...\n{text}"
        )

    writers = [
        write_toml,
        lambda folder: _write_history(folder / "history.csv", result.model.history_),
    ]
    options = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in click.get_current_context().params.items()
    }
    write_retrained(
        result,
        out,
        extra={"options": options, "retrain_config": cfg.to_dict(config)},
        writers=writers,
    )

    a, hold, split = result.lineage, result.lineage["holdout"], result.lineage["split"]
    banner = "SYNTHETIC data: " if a["synthetic"] else ""
    dropped = ", ".join(f"{v} {k}" for k, v in a["sharp_series"]["dropped"].items())
    click.echo(
        f"{banner}labelled {a['sharp_series']['records']} records of {a['sharp_series']['source']} with "
        f"{a['catalogue']['source']} ({lab['window']}); dropped {dropped or 'none'} (filters), "
        f"{a['sharp_series']['dropped_unknown_label']} without a known label, "
        f"{a['sharp_series']['dropped_missing_feature']} with a missing feature"
    )
    click.echo(
        f"hold-out {hold['start']} .. {hold['end']}: {hold['test_rows']} rows; trained on "
        f"{split['fit_rows']} + {split['validation_rows']} validation rows before {hold['train_end']} "
        f"(gap {hold['gap']}); best epochs {result.model.best_epoch_.tolist()}"
    )
    click.echo(format_comparison(result, out.name))
    click.echo(
        f"{banner}saved {out} in {time.perf_counter() - t0:.1f} s; the base model {base_model} was not "
        "modified."
    )
