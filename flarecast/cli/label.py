"""``flarecast label`` (SHARP records + flare catalogue -> labelled table) and ``flarecast data sharp`` (JSOC).

``flarecast retrain`` is in :mod:`flarecast.cli.retrain`.
"""

from __future__ import annotations

import click

from flarecast.cli._common import (
    data_warnings_to_stderr,
    duration_callback,
    friendly_errors,
    scheduler_executor,
)
from flarecast.cli._options import (
    catalogue_format_option,
    data_dir_option,
    harp_map_option,
    on_bad_rows_option,
    out_option,
    sharp_option,
    window_options,
)

__all__ = ["label", "sharp"]


@click.command()
@sharp_option
@click.option(
    "--catalogue",
    required=True,
    metavar="FILE_OR_NAME",
    help="Flare catalogue file or folder, or name (e.g. hek-2010-2019, ncei-1996-2022, demo).",
)
@catalogue_format_option
@window_options()
@click.option(
    "--history/--no-history",
    default=False,
    show_default=True,
    help="Add the feature history_max_flux_prev_24h (largest flare that peaked in the previous 24 h).",
)
@harp_map_option
@on_bad_rows_option
@data_dir_option
@out_option("Output table: .parquet, .nc or .csv (written atomically).", file=True)
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
@out_option("Output series: .parquet, .nc or .csv.", file=True)
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
