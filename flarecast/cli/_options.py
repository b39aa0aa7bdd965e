"""Click options that several commands share word for word.

A shared option is one definition, so that its name, default and help cannot
drift apart between the commands that read the same kind of input
(``flarecast label`` and ``flarecast retrain`` both read SHARP records and a
flare catalogue). Options that only look alike (same shape, other help or
default) stay with their command.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["sharp_option", "catalogue_format_option", "on_bad_rows_option", "data_dir_option"]

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

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Shared data folder for registered names (default $FLARECAST_DATA_DIR).",
)
