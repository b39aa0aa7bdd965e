"""``flarecast tune``: the focal-loss alpha/gamma search on validation folds only.

A thin layer over :func:`flarecast.evaluation.tune.tune_focal` and
:func:`flarecast.evaluation.outputs.write_tune_outputs`; the only code here that prints.
"""

from __future__ import annotations

import datetime as dt
import time
import tomllib
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import friendly_errors, scheduler_executor
from flarecast.cli._runs import (
    build_protocol,
    clean_interrupt,
    command_line,
    common_options,
    load_targets,
    progress_bar,
    scheduler_option,
)

__all__ = ["tune"]


def _floats(value: str | None, name: str) -> tuple[float, ...] | None:
    from flarecast.errors import ConfigError

    if value is None:
        return None
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError as exc:
        raise ConfigError(
            f"--{name} must be comma-separated numbers such as '0.25,0.5'. Got {value!r}."
        ) from exc


@click.command("tune")
@common_options
@click.option(
    "--alphas", default=None, help="Stage-1 alphas at the fixed gamma [0.25,0.5,0.75,0.9]."
)
@click.option("--gammas", default=None, help="Stage-2 gammas at the best alpha [0.5,1,2,3,5].")
@click.option("--fixed-gamma", type=float, default=None, help="Gamma of the alpha search [2].")
@click.option(
    "--select",
    type=click.Choice(["tss", "hss", "auc"]),
    default=None,
    help="Validation score to maximise [tss].",
)
@scheduler_option
@click.pass_context
@clean_interrupt()
@friendly_errors
def tune(
    ctx: click.Context,
    dataset: str,
    data_dir: str | None,
    config: str | None,
    out: str,
    alphas: str | None,
    gammas: str | None,
    fixed_gamma: float | None,
    select: str | None,
    scheduler: str | None,
    quiet: bool,
    **options: Any,
) -> None:
    """Search the focal-loss alpha (gamma fixed), then gamma (best alpha), on validation folds only.

    Writes tune.md, tune.csv, tune_heatmap.png and run.json into OUT (replaced as a whole
    once everything is written). The test folds are not scored: run 'flarecast reproduce
    --alpha A --gamma G' with the chosen pair for the comparison table.
    """
    from flarecast import config as cfg
    from flarecast.evaluation.comparison import run_meta
    from flarecast.evaluation.outputs import write_tune_outputs
    from flarecast.evaluation.tune import TuneConfig, tune_focal

    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    protocol = build_protocol(config, ctx, methods=("focal",), **options)
    file_cfg = {}
    if config is not None:
        file_cfg = tomllib.loads(Path(config).read_text()).get("tune", {})
    tune_cfg = cfg.replace(
        cfg.from_dict(TuneConfig, file_cfg, source=str(config)),
        alphas=_floats(alphas, "alphas"),
        gammas=_floats(gammas, "gammas"),
        fixed_gamma=fixed_gamma,
        select=select,
    )
    data, targets = load_targets(dataset, data_dir, protocol)
    n_folds = 1 if protocol.split == "chrono" else protocol.folds
    # The pair (best alpha, fixed gamma) is trained once, in stage 1.
    n_pairs = len(set(tune_cfg.alphas)) + len(set(tune_cfg.gammas) - {tune_cfg.fixed_gamma})
    bar = progress_bar(n_folds * n_pairs, "tune", folds=n_folds, seeds=protocol.seeds, quiet=quiet)
    with bar as progress, scheduler_executor(scheduler) as executor:
        table = tune_focal(
            targets, data.features, protocol, tune_cfg, progress=progress, executor=executor
        )
    meta = run_meta(data, targets, protocol, started, time.perf_counter() - t0, command_line())
    meta["tune"] = cfg.to_dict(tune_cfg)
    text = write_tune_outputs(out, table, meta)
    click.echo(text)
    click.echo(
        f"Wrote {Path(out)}/ (tune.md, tune.csv, tune_heatmap.png, run.json) in "
        f"{time.perf_counter() - t0:.1f} s."
    )
