"""``flarecast reproduce``: the focal-loss vs cross-entropy comparison table.

Thin layer over :mod:`flarecast.evaluation.protocol` (protocol), :mod:`flarecast.evaluation.bootstrap`
(intervals) and :mod:`flarecast.evaluation.tables` (files); the only code here that prints.
``tune`` and ``evaluate`` (listed in the command group) belong in this module
too and reuse the same protocol pieces.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import (
    duration_callback,
    friendly_errors,
    scheduler_executor,
    target_options,
)

__all__ = ["reproduce", "tune", "evaluate", "build_protocol"]


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
    from flarecast.evaluation.protocol import Protocol

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


def _scheduler_option(func: Any) -> Any:
    return click.option(
        "--scheduler",
        default=None,
        metavar="local|processes|tcp://HOST:PORT",
        help="Run the independent fits as Dask tasks (needs flarecast[dask]): threads here, one worker "
        "process per CPU here, or a running scheduler. Same results as without. [this process]",
    )(func)


def _common_options(func: Any) -> Any:
    """Options shared by ``reproduce`` and ``tune``: data, targets, folds, seeds, config, output."""
    options = [
        click.option(
            "--dataset",
            default="demo",
            show_default=True,
            help="Registered data set name (see 'flarecast data list') or a canonical table file.",
        ),
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Local data folder for registered names (default $FLARECAST_DATA_DIR).",
        ),
        click.option("--folds", type=int, default=None, help="Outer region-grouped folds [5]."),
        click.option(
            "--seeds", type=int, default=None, help="Seeds (ensemble members) per network fit [5]."
        ),
        click.option(
            "--threshold-metric",
            default=None,
            help="Threshold rule, chosen on inner validation: hss, tss or fixed:<p> [hss].",
        ),
        click.option(
            "--split",
            type=click.Choice(["kfold", "chrono"]),
            default=None,
            help="Outer split: region k-fold or chronological hold-out [kfold].",
        ),
        click.option(
            "--cutoff", default=None, help="First test time for --split chrono [2015-01-01]."
        ),
        click.option(
            "--gap",
            default=None,
            callback=duration_callback,
            help="Gap before the cutoff, >= the forecast horizon, with a unit [48h].",
        ),
        target_options,
        click.option(
            "--seed", type=int, default=None, help="Seed of folds, networks and bootstrap [0]."
        ),
        click.option(
            "--config",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="TOML file with a [protocol] table; command-line options override it.",
        ),
        click.option(
            "--out", required=True, type=click.Path(file_okay=False), help="Output folder."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load(dataset: str, data_dir: str | None, protocol: Any) -> tuple[Any, Any]:
    from flarecast.data.tables.read import load_dataset
    from flarecast.evaluation.tables import SYNTHETIC_BANNER
    from flarecast.targets import make_targets

    data = load_dataset(dataset, data_dir=data_dir)
    targets = make_targets(data, protocol.negatives, protocol.positive_threshold)
    if data.synthetic:
        click.echo(SYNTHETIC_BANNER, err=True)
    click.echo(
        f"{data.name}: {len(targets.y)} rows ({int(targets.y.sum())} positive), "
        f"{len(set(targets.groups.tolist()))} regions; {targets.definition}",
        err=True,
    )
    return data, targets


def _data_meta(
    data: Any, targets: Any, protocol: Any, started: dt.datetime, wall: float
) -> dict[str, Any]:
    from flarecast import config as cfg
    from flarecast.evaluation.tables import provenance

    return {
        "command": " ".join(["flarecast", *sys.argv[1:]]),
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
        "started_utc": started.isoformat(),
        "wall_seconds": round(wall, 2),
        **provenance(),
    }


@contextlib.contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[int, str], None]]:
    from tqdm.auto import tqdm

    with tqdm(
        total=total, desc="folds x methods", unit="fit", file=sys.stderr, disable=None
    ) as bar:

        def progress(fold: int, method: str) -> None:
            bar.set_postfix_str(f"fold {fold} {method}")
            bar.update()

        yield progress


@click.command("reproduce")
@_common_options
@click.option("--alpha", type=float, default=None, help="Focal-loss alpha [0.25].")
@click.option("--gamma", type=float, default=None, help="Focal-loss gamma [2].")
@click.option(
    "--methods",
    default=None,
    help="Comma-separated rows: climatology, logistic, gboost, ce, weighted-ce, focal [all].",
)
@click.option("--n-boot", type=int, default=None, help="Region bootstrap resamples [1000].")
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures.")
@click.option(
    "--importance/--no-importance",
    default=True,
    show_default=True,
    help="Permutation importance (AUC drop on test folds) of the focal and CE networks.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Reuse the fits an interrupted run with the same options finished (kept in OUT/.partial/) "
    "and fit only the rest; the outputs equal an uninterrupted run's.",
)
@_scheduler_option
@click.pass_context
@friendly_errors
def reproduce(
    ctx: click.Context,
    dataset: str,
    data_dir: str | None,
    config: str | None,
    no_figures: bool,
    importance: bool,
    resume: bool,
    out: str,
    methods: str | None,
    scheduler: str | None,
    **options: Any,
) -> None:
    """Focal loss vs cross-entropy on the same folds and seeds, with region-bootstrap intervals.

    Writes table.md, table.csv, comparison.csv, calibration.csv (the networks
    before and after a Platt map fitted on each fold's inner validation),
    predictions.parquet, run.json, importance.csv and PNG figures into OUT,
    then prints the table and its plain reading. Every finished (fold, method)
    fit is kept in OUT/.partial/ until the outputs are written, so an
    interrupted run continues with --resume.
    """
    from flarecast.evaluation.bootstrap import summarise
    from flarecast.evaluation.fits import run_protocol
    from flarecast.evaluation.tables import calibration_table, format_markdown, write_outputs

    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    protocol = build_protocol(config, ctx, methods=_methods(methods), **options)
    data, targets = _load(dataset, data_dir, protocol)
    steps = (1 if protocol.split == "chrono" else protocol.folds) * len(protocol.methods)
    collector = None
    if importance and {"focal", "ce"} & set(protocol.methods):
        from flarecast.evaluation.importance import ImportanceCollector

        collector = ImportanceCollector(
            targets.frame[list(data.features)].reset_index(drop=True),
            targets.y.astype(int),
            data.features,
            seed=protocol.seed,
        )
    store, done = _fold_store(
        Path(out), resume, data, targets, protocol, collector is not None, steps
    )
    parts = {
        key: tables["importance"] for key, (_, tables) in done.items() if "importance" in tables
    }

    def on_fit(fold: Any, name: str, estimator: Any, fit: Any) -> None:
        tables = {}
        if collector is not None and name in collector.methods:
            collector(fold, name, estimator, fit)
            tables["importance"] = parts[(fold.index, name)] = collector.parts.pop()
        store.save(
            fold.index, name, fit, tables
        )  # kept at once: a kill from now on loses nothing of it

    with _progress_bar(steps) as progress, scheduler_executor(scheduler) as executor:
        result = run_protocol(
            targets,
            data.features,
            protocol,
            progress=progress,
            on_fit=on_fit,
            executor=executor,
            done={key: fit for key, (fit, _) in done.items()},
        )
    if collector is not None:  # fold and method order, whichever fits were resumed
        collector.parts = [
            parts[(f.index, m)]
            for f in result.folds
            for m in protocol.methods
            if (f.index, m) in parts
        ]
    summary = summarise(result)
    meta = _data_meta(data, targets, protocol, started, time.perf_counter() - t0)
    meta["fold_sizes"] = [
        {"fold": f.index, "fit": len(f.fit), "validation": len(f.val), "test": len(f.test)}
        for f in result.folds
    ]
    meta["resumed_fits"] = len(done)
    write_outputs(
        out,
        result,
        summary,
        meta,
        figures=not no_figures,
        importance=None if collector is None else collector.table(),
    )
    store.clear()  # the outputs are complete: nothing left to resume
    click.echo(format_markdown(summary, meta, calibration_table(result)))
    click.echo(
        f"Wrote {Path(out)}/ (table.md, table.csv, comparison.csv, predictions.parquet, run.json"
        f"{'' if no_figures else ', figures'}) in {time.perf_counter() - t0:.1f} s."
    )


def _fold_store(
    out: Path, resume: bool, data: Any, targets: Any, protocol: Any, importance: bool, steps: int
) -> tuple[Any, dict[Any, Any]]:
    """The store of finished fits in OUT/.partial for this run, and what it already holds (with --resume)."""
    from flarecast import config as cfg
    from flarecast.evaluation.store import FoldStore, run_fingerprint

    store = FoldStore(
        out / ".partial",
        run_fingerprint(
            {
                "protocol": cfg.to_dict(protocol),
                "dataset": data.name,
                "data_sha256": data.sha256,
                "features": list(data.features),
                "definition": targets.definition,
                "rows": len(targets.y),
                "importance": importance,
            }
        ),
    )
    if resume:
        done = store.load()
        click.echo(
            f"--resume: {len(done)} of {steps} fits were finished by the interrupted run", err=True
        )
        return store, done
    if store.count():
        click.echo(
            f"discarding {store.count()} finished fits in {store.folder} (--resume would reuse them)",
            err=True,
        )
        store.clear()
    return store, {}


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
@_common_options
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
@_scheduler_option
@click.pass_context
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
    **options: Any,
) -> None:
    """Search the focal-loss alpha (gamma fixed), then gamma (best alpha), on validation folds only.

    Writes tune.md, tune.csv, tune_heatmap.png and run.json into OUT. The test
    folds are not scored: run 'flarecast reproduce --alpha A --gamma G' with the
    chosen pair for the comparison table.
    """
    from flarecast import config as cfg
    from flarecast.evaluation.figures import save_png, tune_heatmap
    from flarecast.evaluation.tables import format_tune_markdown
    from flarecast.evaluation.tune import TuneConfig, tune_focal
    from flarecast.io import atomic_open, atomic_path, write_json

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
    data, targets = _load(dataset, data_dir, protocol)
    n_folds = 1 if protocol.split == "chrono" else protocol.folds
    # The pair (best alpha, fixed gamma) is trained once, in stage 1.
    n_pairs = len(set(tune_cfg.alphas)) + len(set(tune_cfg.gammas) - {tune_cfg.fixed_gamma})
    with _progress_bar(n_folds * n_pairs) as progress, scheduler_executor(scheduler) as executor:
        table = tune_focal(
            targets, data.features, protocol, tune_cfg, progress=progress, executor=executor
        )
    meta = _data_meta(data, targets, protocol, started, time.perf_counter() - t0)
    meta["tune"] = cfg.to_dict(tune_cfg)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = format_tune_markdown(table, meta)
    with atomic_open(out_dir / "tune.md", "w") as fh:
        fh.write(text)
    with atomic_path(out_dir / "tune.csv") as tmp:
        table.assign(dataset=data.name, synthetic=data.synthetic).to_csv(
            tmp, index=False, float_format="%.6g"
        )
    save_png(
        tune_heatmap(table, synthetic=data.synthetic), out_dir / "tune_heatmap.png", data.synthetic
    )
    write_json(
        out_dir / "run.json",
        {**meta, "files": ["tune.md", "tune.csv", "tune_heatmap.png", "run.json"]},
    )
    click.echo(text)
    click.echo(
        f"Wrote {out_dir}/ (tune.md, tune.csv, tune_heatmap.png, run.json) in "
        f"{time.perf_counter() - t0:.1f} s."
    )


@click.command("evaluate")
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Model folder written by 'flarecast train'.",
)
@click.option(
    "--dataset",
    default="demo",
    show_default=True,
    help="Registered data set name or a canonical table file holding the model's features.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Local data folder for registered names (default $FLARECAST_DATA_DIR).",
)
@target_options
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=None,
    help="Decision threshold [the model's, chosen at training time].",
)
@click.option(
    "--n-boot", type=int, default=1000, show_default=True, help="Region bootstrap resamples."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.pass_context
@friendly_errors
def evaluate(
    ctx: click.Context,
    model_dir: str,
    dataset: str,
    data_dir: str | None,
    negatives: tuple[str, ...],
    positive_threshold: str,
    threshold: float | None,
    n_boot: int,
    seed: int,
    no_figures: bool,
    out: str,
) -> None:
    """Score a saved model on any labelled table with the model's features.

    The target follows the model's class definition unless --negatives or
    --positive-threshold are given; the threshold is the model's own. Writes
    table.md, table.csv, predictions.parquet, run.json and figures into OUT.
    """
    from click.core import ParameterSource

    from flarecast.data.tables.read import load_dataset
    from flarecast.evaluation.bootstrap import summarise
    from flarecast.evaluation.calibration import load_calibrator
    from flarecast.evaluation.score import definition_targets, same_data, score_model
    from flarecast.evaluation.tables import (
        SYNTHETIC_BANNER,
        calibration_table,
        format_markdown,
        write_outputs,
    )
    from flarecast.targets import make_targets
    from flarecast.training.artifacts import load_model, read_sidecar

    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    sidecar = read_sidecar(model_dir)
    model = load_model(model_dir, device="cpu")
    data = load_dataset(dataset, data_dir=data_dir)
    from_model = definition_targets(sidecar.get("class_definition", ""))
    if from_model is not None:
        if ctx.get_parameter_source("negatives") == ParameterSource.DEFAULT:
            negatives = from_model[0]
        if ctx.get_parameter_source("positive_threshold") == ParameterSource.DEFAULT:
            positive_threshold = from_model[1]
    targets = make_targets(data, negatives, positive_threshold)
    synthetic = bool(data.synthetic or sidecar.get("synthetic"))
    if synthetic:
        click.echo(SYNTHETIC_BANNER, err=True)
    in_sample = same_data(sidecar, data)
    if in_sample:
        click.echo(
            f"Warning: {data.name} is the model's training data (same checksum); scores are in-sample.",
            err=True,
        )
    thr = float(model.threshold_ if threshold is None else threshold)
    calibrator = load_calibrator(
        model_dir, missing_ok=True
    )  # fitted on the model's validation rows, if any
    result = score_model(
        model,
        targets,
        sidecar["features"],
        threshold=thr,
        climatology=float(sidecar["base_rate"]),
        n_boot=n_boot,
        seed=seed,
        calibrator=calibrator,
    )
    summary = summarise(result)
    meta = _data_meta(data, targets, result.protocol, started, time.perf_counter() - t0)
    trained = sidecar.get("data") or {}
    meta.update(
        synthetic=synthetic,
        model={
            "folder": str(model_dir),
            "trained_on": trained.get("name"),
            "trained_sha256": trained.get("sha256"),
            "class_definition": sidecar.get("class_definition"),
            "threshold": thr,
            "in_sample": in_sample,
            "weights_sha256": sidecar["weights"]["sha256"],
            "created": sidecar.get("created"),
        },
    )
    meta["model"]["calibration"] = None if calibrator is None else calibrator.describe()
    write_outputs(out, result, summary, meta, figures=not no_figures)
    click.echo(format_markdown(summary, meta, calibration_table(result)))
    click.echo(f"Wrote {Path(out)}/ in {time.perf_counter() - t0:.1f} s.")
