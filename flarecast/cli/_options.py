"""Click options that several commands share word for word.

A shared option is one definition, so that its name, default and help cannot
drift apart between the commands that read the same kind of input (``flarecast
label`` and ``flarecast retrain`` both read SHARP records and a flare catalogue;
most commands read registered data sets from the same data folder). Options
that only look alike (same shape, other meaning or default) stay with their
command. :func:`option_group` makes one decorator of several options.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import duration_callback

__all__ = [
    "option_group",
    "sharp_option",
    "catalogue_format_option",
    "on_bad_rows_option",
    "harp_map_option",
    "window_options",
    "data_dir_option",
    "model_option",
    "out_option",
    "out_folder_option",
    "bootstrap_options",
]

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def option_group(*options: Decorator) -> Decorator:
    """One decorator adding ``options`` in the order given, the order ``--help`` lists them."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


sharp_option = click.option(
    "--sharp",
    "sharp_source",
    required=True,
    metavar="FILE_OR_NAME",
    help="SHARP series file (CSV/Parquet/netCDF) or name: hollanda-2019, demo.",
)

catalogue_format_option = click.option(
    "--catalogue-format",
    default=None,
    metavar="FORMAT",
    help="Catalogue format if it cannot be detected (ncei, swpc-list, hek, xrs-report, ...).",
)

on_bad_rows_option = click.option(
    "--on-bad-rows",
    type=click.Choice(["error", "skip"]),
    default="error",
    show_default=True,
    help="Malformed catalogue rows: stop with an error, or skip them (counted).",
)

harp_map_option = click.option(
    "--harp-map",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="HARP->NOAA map (harp_to_noaa.csv / harp_stats.csv): label by HARP, counting all its regions.",
)


def window_options(*, recorded: bool = False) -> Decorator:
    """``--horizon``, ``--latency`` and ``--event-time``: the window a record is labelled by.

    With ``flarecast label``'s defaults; ``recorded`` (``flarecast retrain``): none, so that
    the base model's recorded window stands, else those defaults.
    """

    def option(name: str, default: str, help: str, **attrs: Any) -> Decorator:
        if recorded:
            help = f"{help} [the base model's, else {default}]."
            return click.option(name, default=None, help=help, **attrs)
        return click.option(name, default=default, show_default=True, help=f"{help}.", **attrs)

    return option_group(
        option(
            "--horizon",
            "24h",
            "Label window length, with a unit (24h, 90min, 1d)",
            callback=duration_callback,
        ),
        option(
            "--latency",
            "0h",
            "Gap between record and window, with a unit (6h, 0h)",
            callback=duration_callback,
        ),
        option(
            "--event-time",
            "peak",
            "Flare time that must fall in the window",
            type=click.Choice(["peak", "start"]),
        ),
    )


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Local data folder for registered names (default $FLARECAST_DATA_DIR).",
)

model_option = click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Model folder written by flarecast train.",
)


def out_option(help: str, *, file: bool = False) -> Decorator:
    """The required ``--out``, given to the command as a Path: a folder, or with ``file`` a file."""
    kind = {"dir_okay": False} if file else {"file_okay": False}
    return click.option("--out", required=True, type=click.Path(**kind, path_type=Path), help=help)


# The output folder of the commands that take it as text (reproduce, tune, evaluate, ...).
out_folder_option = click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Output folder."
)

# The region bootstrap of a scored model (evaluate, retrain): resamples and their seed.
bootstrap_options = option_group(
    click.option(
        "--n-boot", type=int, default=1000, show_default=True, help="Region bootstrap resamples."
    ),
    click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap."),
)
