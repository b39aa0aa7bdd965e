"""``flarecast data``: list, describe and fetch data sets.

Thin layer over :mod:`flarecast.data.registry` and :mod:`flarecast.data.tables.read`;
the only code here that prints.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import friendly_errors
from flarecast.cli._options import data_dir_option

__all__ = ["data"]


@click.group("data")
def data() -> None:
    """List, describe and fetch data sets."""


@data.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@friendly_errors
def list_(as_json: bool) -> None:
    """List the registered data sets (name, rows, licence, description), then the flare catalogues."""
    from flarecast.data import registry

    entries = list(registry.registry().values())
    if as_json:
        click.echo(json.dumps([_entry_dict(e) for e in entries], indent=2))
        return
    rows = [
        (e.name, "?" if e.rows is None else str(e.rows), e.licence, e.description) for e in entries
    ]
    widths = [max(len(r[i]) for r in [("NAME", "ROWS", "LICENCE", ""), *rows]) for i in range(3)]
    click.echo(
        f"{'NAME':<{widths[0]}}  {'ROWS':>{widths[1]}}  {'LICENCE':<{widths[2]}}  DESCRIPTION"
    )
    for name, n, lic, desc in rows:
        click.echo(f"{name:<{widths[0]}}  {n:>{widths[1]}}  {lic:<{widths[2]}}  {desc}")
    click.echo(
        "\n'?' rows: generated on demand. Details: flarecast data info NAME; sources: data/README.md"
    )
    _list_catalogues()


def _list_catalogues() -> None:
    """The registered flare catalogues and SHARP series, the names `label --catalogue/--sharp` take."""
    from flarecast.data.catalogues.read import CATALOGUES
    from flarecast.data.sharp.series import SERIES_NAMES

    rows = [(name, fmt, desc) for name, (fmt, _, desc) in CATALOGUES.items()]
    rows.append(("demo", "demo", "SYNTHETIC demo catalogue (generated)"))
    width = max(len(r[0]) for r in [("CATALOGUE", ""), *rows])
    fmt_width = max(len(r[1]) for r in [("", "FORMAT"), *rows])
    click.echo(f"\n{'CATALOGUE':<{width}}  {'FORMAT':<{fmt_width}}  DESCRIPTION")
    for name, fmt, desc in rows:
        click.echo(f"{name:<{width}}  {fmt:<{fmt_width}}  {desc}")
    series = ", ".join([*SERIES_NAMES, "demo"])
    click.echo(
        f"\nSHARP series names (flarecast label --sharp NAME): {series}. Catalogue names go to "
        "--catalogue; a file in another layout needs --catalogue-format (see 'flarecast label "
        "--help')."
    )


def _entry_dict(entry: Any) -> dict[str, Any]:
    return {
        "name": entry.name,
        "rows": entry.rows,
        "description": entry.description,
        "synthetic": entry.synthetic,
        "licence": entry.licence,
        "licence_note": entry.licence_note,
        "citation": entry.citation,
        "homepage": entry.homepage,
        "commit": entry.commit,
        "files": [
            {"path": f.path, "url": f.url, "sha256": f.sha256, "size": f.size} for f in entry.files
        ],
    }


def _parse_map(items: tuple[str, ...]) -> dict[str, str] | None:
    from flarecast.errors import ConfigError

    mapping: dict[str, str] = {}
    for item in items:
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise ConfigError(
                f"--map expects SRC=DST (e.g. --map T_REC=time). Got {item!r} instead."
            )
        mapping[src.strip()] = dst.strip()
    return mapping or None


@data.command("info")
@click.argument("name_or_path")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@data_dir_option
@click.option(
    "--map", "mapping", multiple=True, metavar="SRC=DST", help="Rename a column of a table file."
)
@click.option("--assume-utc", is_flag=True, help="Read naive times of a table file as UTC.")
@click.option(
    "--duplicates",
    type=click.Choice(["keep", "drop", "error"]),
    default="keep",
    show_default=True,
    help="Exact duplicate rows.",
)
@click.option(
    "--missing",
    type=click.Choice(["drop", "error"]),
    default="drop",
    show_default=True,
    help="Rows with a NaN/inf feature.",
)
@click.option("--no-download", is_flag=True, help="Fail instead of downloading missing files.")
@friendly_errors
def info(
    name_or_path: str,
    as_json: bool,
    data_dir: Path | None,
    mapping: tuple[str, ...],
    assume_utc: bool,
    duplicates: str,
    missing: str,
    no_download: bool,
) -> None:
    """Describe a data set or table: rows, classes, regions, time span, features, notes.

    A CSV table file is read in chunks, so a file of many GB is summarised in
    bounded memory.
    """
    from flarecast.data import registry
    from flarecast.data.tables.read import load_dataset, summarize
    from flarecast.data.tables.summary import is_plain_csv, summarize_csv
    from flarecast.errors import DataWarning

    columns = _parse_map(mapping)
    policies = {"assume_utc": assume_utc, "duplicates": duplicates, "missing": missing}
    with warnings.catch_warnings():
        # Rows dropped by a policy are listed under "notes" below; no need to say it twice.
        warnings.simplefilter("ignore", DataWarning)
        if name_or_path not in registry.registry() and is_plain_csv(name_or_path, columns):
            summary = summarize_csv(name_or_path, columns=columns, **policies)
        else:
            dataset = load_dataset(
                name_or_path,
                columns=columns,
                data_dir=data_dir,
                download=not no_download,
                progress=not as_json,
                **policies,
            )
            summary = summarize(dataset)
    if name_or_path in registry.registry():
        entry = registry.get_entry(name_or_path)
        summary.update(
            description=entry.description,
            licence=entry.licence,
            licence_note=entry.licence_note,
            citation=entry.citation,
            homepage=entry.homepage,
        )
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    _print_summary(summary)


def _print_summary(s: dict[str, Any]) -> None:
    if s["synthetic"]:
        click.echo("*** SYNTHETIC data: generated, not observations ***")
    classes = "  ".join(f"{k} {v}" for k, v in s["classes"].items())
    lines = [
        ("name", s["name"]),
        ("description", s.get("description")),
        ("rows", s["rows"]),
        ("classes", classes),
        ("regions", f"{s['regions']} NOAA active regions"),
        ("time span", f"{s['time_start']} .. {s['time_end']} (UTC)"),
        ("features", f"{len(s['features'])}: {', '.join(s['features'])}"),
        ("synthetic", "YES" if s["synthetic"] else "no"),
        (
            "flaring only",
            "yes (no quiet regions: base rates overstate operational ones)"
            if s["flaring_only"]
            else "no",
        ),
        ("window", s["window"]),
        ("sha256", s["sha256"]),
        ("licence", " - ".join(x for x in (s.get("licence"), s.get("licence_note")) if x) or None),
        ("citation", s.get("citation")),
    ]
    for key, value in lines:
        if value is not None and value != "":
            click.echo(f"{key + ':':<14}{value}")
    if s["notes"]:
        click.echo("notes:")
        for note in s["notes"]:
            click.echo(f"  - {note}")


@data.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--all", "fetch_all", is_flag=True, help="Fetch every registered data set.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Local data folder to look in first.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Download cache (default $FLARECAST_CACHE_DIR or the user cache).",
)
@click.option(
    "--base-url", help="Mirror laid out like the data folder (default $FLARECAST_DATA_URL)."
)
@friendly_errors
def fetch(
    names: tuple[str, ...],
    fetch_all: bool,
    data_dir: Path | None,
    cache_dir: Path | None,
    base_url: str | None,
) -> None:
    """Verify data sets in the data folder; download what is missing into the cache (sha256-checked)."""
    from flarecast.data import registry
    from flarecast.errors import ConfigError, FlarecastError

    if fetch_all:
        names = tuple(registry.names())
    if not names:
        raise ConfigError("Name at least one data set (see 'flarecast data list') or pass --all.")
    failed = []
    for name in names:
        entry = registry.get_entry(name)
        if not entry.files:
            click.echo(f"{name}: generated on demand, nothing to fetch")
            continue
        try:
            paths = registry.locate(
                name, data_dir=data_dir, cache_dir=cache_dir, base_url=base_url, progress=True
            )
        except FlarecastError as exc:
            if len(names) == 1:
                raise
            failed.append(name)
            click.echo(f"{name}: FAILED: {exc}", err=True)
            continue
        for path in paths.values():
            click.echo(f"{name}: {path} (sha256 verified)")
    if failed:
        raise click.ClickException(
            f"{len(failed)} data set(s) could not be fetched: {', '.join(failed)}"
        )


# `flarecast data sharp` (JSOC) is owned by the labelling commands in flarecast/cli/label.py.
data.add_command(__import__("flarecast.cli.label", fromlist=["sharp"]).sharp, "sharp")
