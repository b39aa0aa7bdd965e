"""``flarecast reproduce``: the focal-loss vs cross-entropy comparison table.

Thin layer over :mod:`flarecast.evaluate` (protocol), :mod:`flarecast.bootstrap`
(intervals) and :mod:`flarecast.report` (files); the only code here that prints.
``tune`` and ``evaluate`` (listed in the command group) belong in this module
too and reuse the same protocol pieces.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import friendly_errors, target_options

__all__ = ["reproduce", "build_protocol"]


def _read_config(path: str | None) -> dict[str, Any]:
    """Keys of a TOML file's ``[protocol]`` table, or of the whole file when it has none."""
    from flarecast.errors import ConfigError

    if path is None:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    return dict(data.get("protocol", data))


def build_protocol(config: str | None, ctx: click.Context | None = None, **options: Any) -> Any:
    """Protocol from defaults < the ``--config`` file < options given on the command line.

    ``options`` holds the command's values; ``None`` means "not given". Options
    with a click default (``--negatives``, ``--positive-threshold``) count as
    given only when they did not come from that default.
    """
    from click.core import ParameterSource

    from flarecast import config as cfg
    from flarecast.evaluate import Protocol

    data = _read_config(config)
    source = str(config) if config else "command line"
    protocol = cfg.from_dict(Protocol, data, source=source)
    given = {}
    for key, value in options.items():
        if value is None:
            continue
        if ctx is not None and ctx.get_parameter_source(key) == ParameterSource.DEFAULT:
            continue
        given[key] = value
    try:
        return cfg.replace(protocol, **given)
    except (TypeError, ValueError) as exc:
        from flarecast.errors import ConfigError

        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(str(exc)) from exc


def _methods(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(m.strip() for m in value.split(",") if m.strip())


@click.command("reproduce")
@click.option("--dataset", default="demo", show_default=True,
              help="Registered data set name (see 'flarecast data list') or a canonical table file.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Local data folder for registered names (default $FLARECAST_DATA_DIR).")
@click.option("--folds", type=int, default=None, help="Outer region-grouped folds [5].")
@click.option("--seeds", type=int, default=None, help="Seeds (ensemble members) per network fit [5].")
@click.option("--alpha", type=float, default=None, help="Focal-loss alpha [0.25].")
@click.option("--gamma", type=float, default=None, help="Focal-loss gamma [2].")
@click.option("--threshold-metric", default=None,
              help="Threshold rule, chosen on inner validation: hss, tss or fixed:<p> [hss].")
@click.option("--split", type=click.Choice(["kfold", "chrono"]), default=None,
              help="Outer split: region k-fold or chronological hold-out [kfold].")
@click.option("--cutoff", default=None, help="First test time for --split chrono [2015-01-01].")
@click.option("--gap", default=None, help="Gap before the cutoff, >= the forecast horizon [48h].")
@target_options
@click.option("--methods", default=None,
              help="Comma-separated rows: climatology, logistic, gboost, ce, weighted-ce, focal [all].")
@click.option("--n-boot", type=int, default=None, help="Region bootstrap resamples [1000].")
@click.option("--seed", type=int, default=None, help="Seed of folds, networks and bootstrap [0].")
@click.option("--config", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TOML file with a [protocol] table; command-line options override it.")
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.pass_context
@friendly_errors
def reproduce(ctx: click.Context, dataset: str, data_dir: str | None, config: str | None, no_figures: bool,
              out: str, methods: str | None, **options: Any) -> None:
    """Focal loss vs cross-entropy on the same folds and seeds, with region-bootstrap intervals.

    Writes table.md, table.csv, comparison.csv, predictions.parquet, run.json
    and PNG figures into OUT, then prints the table and its plain reading.
    """
    from tqdm.auto import tqdm

    from flarecast import config as cfg
    from flarecast.bootstrap import summarise
    from flarecast.data.tables import load_dataset
    from flarecast.evaluate import run_protocol
    from flarecast.report import SYNTHETIC_BANNER, format_markdown, provenance, write_outputs
    from flarecast.targets import make_targets

    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    protocol = build_protocol(config, ctx, methods=_methods(methods), **options)
    data = load_dataset(dataset, data_dir=data_dir)
    targets = make_targets(data, protocol.negatives, protocol.positive_threshold)
    if data.synthetic:
        click.echo(SYNTHETIC_BANNER, err=True)
    click.echo(f"{data.name}: {len(targets.y)} rows ({int(targets.y.sum())} positive), "
               f"{len(set(targets.groups.tolist()))} regions; {targets.definition}", err=True)

    steps = (1 if protocol.split == "chrono" else protocol.folds) * len(protocol.methods)
    with tqdm(total=steps, desc="folds x methods", unit="fit", file=sys.stderr, disable=None) as bar:
        def progress(fold: int, method: str) -> None:
            bar.set_postfix_str(f"fold {fold} {method}")
            bar.update()

        result = run_protocol(targets, data.features, protocol, progress=progress)
    summary = summarise(result)
    wall = time.perf_counter() - t0
    meta = {
        "command": "flarecast reproduce " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "flarecast reproduce",
        "dataset": data.name,
        "synthetic": data.synthetic,
        "data_sha256": data.sha256,
        "window": data.window,
        "flaring_only": data.flaring_only,
        "data_notes": list(data.notes),
        "features": list(data.features),
        "definition": targets.definition,
        "rows": len(targets.y),
        "dropped": targets.dropped,
        "protocol": cfg.to_dict(protocol),
        "fold_sizes": [{"fold": f.index, "fit": len(f.fit), "validation": len(f.val), "test": len(f.test)}
                       for f in result.folds],
        "started_utc": started.isoformat(),
        "wall_seconds": round(wall, 2),
        **provenance(),
    }
    write_outputs(out, result, summary, meta, figures=not no_figures)
    click.echo(format_markdown(summary, meta))
    click.echo(f"Wrote {Path(out)}/ (table.md, table.csv, comparison.csv, predictions.parquet, run.json"
               f"{'' if no_figures else ', figures'}) in {time.perf_counter() - t0:.1f} s.")
