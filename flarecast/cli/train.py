"""``flarecast train``: fit a flare network on a data set and save it as a model folder.

Thin layer over :mod:`flarecast.training.fit` (the pipeline) and the configs
it is built from; torch is imported only inside the command.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import (
    data_warnings_to_stderr,
    duration_callback,
    friendly_errors,
    target_options,
)
from flarecast.cli._options import out_option
from flarecast.cli._splits import published_training, split_options
from flarecast.evaluation.calibration import METHODS as CALIBRATION_METHODS
from flarecast.models.config import MODELS, SKIPS
from flarecast.training.config import TrainConfig
from flarecast.training.losses import LOSSES, NO_WEIGHTING

__all__ = ["train"]

_D = TrainConfig()  # the defaults the help texts show


def _split_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _config_from_options(config_path: Path | None, options: dict[str, Any]) -> TrainConfig:
    """The TrainConfig of a ``--config`` file (or the defaults) with the given options on top."""
    import dataclasses

    from flarecast import config as cfg
    from flarecast.errors import ConfigError
    from flarecast.training.config import check_config, load_train_config, skip_path
    from flarecast.training.losses import read_alpha

    base = load_train_config(config_path) if config_path else TrainConfig()
    try:
        hidden = options.pop("hidden")
        hidden_value = tuple(int(h) for h in _split_list(hidden)) if hidden is not None else None
    except ValueError as exc:
        raise ConfigError(f"--hidden must be integers like 64,64: {exc}") from exc
    alpha = options.pop("alpha")
    config = cfg.replace(base, hidden=hidden_value, **options)
    if (
        alpha is not None
    ):  # set explicitly: 'none' (no class weighting) must not read as "not given"
        config = dataclasses.replace(config, alpha=read_alpha(alpha, "--alpha", legacy=False))
    # Spelled out, so that train.toml reruns this network even after the model's default changes.
    config = dataclasses.replace(config, skip=skip_path(config))
    check_config(config)  # before the long part
    return config


def _config_option(*decls: str, **attrs: Any) -> Any:
    """An option over a TrainConfig field; left out (None), the --config file's value or the
    default its help shows stands (see :func:`_config_from_options`)."""
    return click.option(*decls, default=None, **attrs)


@click.command("train")
@click.option(
    "--dataset",
    default=None,
    help="Registered data-set name (flarecast data list) or table path (or --train TABLE).",
)
@_config_option("--loss", type=click.Choice(LOSSES), help=f"Training loss [default: {_D.loss}].")
@_config_option(
    "--alpha",
    help=f"Focal weight of the flare class in [0, 1], or '{NO_WEIGHTING}' [default: {_D.alpha}].",
)
@_config_option(
    "--gamma", type=float, help=f"Focal focusing parameter >= 0 [default: {_D.gamma:g}]."
)
@_config_option(
    "--model",
    "model_kind",
    type=click.Choice(MODELS),
    help=f"Snapshot MLP or GRU over record windows [default: {_D.model}].",
)
@click.option(
    "--features",
    default=None,
    help="Comma-separated feature columns [default: all of the data set].",
)
@_config_option(
    "--hidden",
    help=f"Hidden widths, e.g. 64,64 [default: {','.join(map(str, _D.hidden))}].",
)
@_config_option(
    "--seeds", type=int, help=f"Ensemble members trained at once [default: {_D.n_members}]."
)
@_config_option("--seed", type=int, help=f"Base seed [default: {_D.seed}].")
@_config_option(
    "--epochs",
    type=int,
    help=f"Maximum epochs (early stopping may end sooner) [default: {_D.max_epochs}].",
)
@_config_option("--device", help=f"auto, cpu, cuda, cuda:N or mps [default: {_D.device}].")
@_config_option(
    "--skip",
    type=click.Choice(SKIPS),
    help="MLP: a linear path from the features to the logit beside the hidden layers, starting at zero "
    "or at a logistic regression fitted to the training rows [default: logistic for the mlp, none "
    "for the sequence model].",
)
@click.option(
    "--before",
    default=None,
    help="Train only on records whose label window closed before this UTC time, i.e. with time < BEFORE "
    "- GAP (e.g. the day a forecast is for, so the model has not seen it).",
)
@click.option(
    "--gap",
    default="48h",
    show_default=True,
    callback=duration_callback,
    help="With --before: at least the data set's label horizon plus latency (24h for a 24-hour window).",
)
@_config_option(
    "--threads",
    type=click.IntRange(min=1),
    help="torch threads on the CPU. One suits a single member; an ensemble (--seeds 5 or more) trains "
    f"faster with one per core on an otherwise idle machine [default: {_D.cpu_threads}].",
)
@click.option(
    "--threshold",
    default="tss",
    show_default=True,
    help="Decision threshold stored for predict: 'tss' (the one maximising TSS on the validation "
    "rows) or a probability. Focal-loss probabilities are not calibrated, so 0.5 can mean "
    "no positives at all.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML file whose [train] table sets TrainConfig fields; options above override it.",
)
@out_option("Model folder to write, e.g. models/focal-24h.")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the model already in OUT (without it, a folder holding a model is refused).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a run that was interrupted (killed, power cut) from the checkpoint it saved after "
    "its last finished epoch in OUT/.checkpoint/; give the same options. The result is the same, "
    "bit for bit on the CPU, as a run that was never interrupted.",
)
@click.option(
    "--calibration",
    type=click.Choice(CALIBRATION_METHODS),
    default="platt",
    show_default=True,
    help="Calibrator fitted on the validation rows, saved as calibration.json; forecasts publish its "
    "probabilities.",
)
@target_options
@split_options
@friendly_errors
def train(dataset: str | None, loss: str | None, alpha: str | None, gamma: float | None, model_kind: str | None,
          features: str | None, hidden: str | None, seeds: int | None, seed: int | None, epochs: int | None,
          device: str | None, skip: str | None, before: str | None, gap: str, threads: int | None,
          threshold: str, config_path: Path | None, out: Path, overwrite: bool, quiet: bool, resume: bool,
          calibration: str, negatives: tuple[str, ...], positive_threshold: str,
          split_column: str | None, train_table: str | None, val_table: str | None,
          test_table: str | None) -> None:  # fmt: skip
    """Train a flare network on DATASET and save it to --out (weights.safetensors + model.json).

    The validation rows (20% of the regions, with positives on both sides) are
    used for early stopping, the threshold and the calibration only. The
    training state is checkpointed after every epoch (OUT/.checkpoint/), so an
    interrupted run can be continued with --resume. The model folder is
    assembled aside and put in place whole, so it never mixes two trainings.
    Under torchrun (torchrun --nproc_per_node=N --no-python flarecast train ...)
    the processes train data-parallel and only rank 0 prints and writes.
    """
    from tqdm import tqdm

    from flarecast.errors import ConfigError
    from flarecast.evaluation.calibration import fit_calibrator, save_calibrator
    from flarecast.evaluation.tables import provenance
    from flarecast.forecast.support import forecast_support
    from flarecast.training.checkpoint import Checkpoint
    from flarecast.training.ddp import init_from_env, shutdown
    from flarecast.training.fit import describe_fit, fit_network, prepare_training, save_trained
    from flarecast.training.folder import CHECKPOINT_DIR, check_out_folder

    config = _config_from_options(
        config_path,
        {"loss": loss, "alpha": alpha, "gamma": gamma, "model": model_kind, "hidden": hidden,
         "n_members": seeds, "seed": seed, "max_epochs": epochs, "device": device, "skip": skip,
         "cpu_threads": threads},
    )  # fmt: skip
    try:
        threshold_value: float | str = threshold if threshold == "tss" else float(threshold)
    except ValueError as exc:
        raise ConfigError(f"--threshold must be a number or 'tss': {exc}") from exc
    check_out_folder(out, overwrite=overwrite)  # before the long part, and again at the end
    tables = (train_table, val_table, test_table)
    published = split_column is not None or any(tables)
    if dataset is None and not published:
        raise click.UsageError("Missing option '--dataset' (or give --train TABLE).")
    with data_warnings_to_stderr():
        if published:
            prepared = published_training(dataset, split_column, tables,
                                          features=_split_list(features), before=before, gap=gap,
                                          negatives=negatives,
                                          positive_threshold=positive_threshold, seed=config.seed)  # fmt: skip
        else:
            prepared = prepare_training(dataset, features=_split_list(features), before=before,
                                        gap=gap, negatives=negatives,
                                        positive_threshold=positive_threshold, seed=config.seed)  # fmt: skip
    # Under torchrun every process runs this command: join the process group (flarecast.training.ddp);
    # each rank then trains on its shard of every batch, and only rank 0 prints and writes.
    ddp = init_from_env(config.device)
    if ddp is not None:
        click.get_current_context().call_on_close(shutdown)
    is_main = ddp is None or ddp.is_main
    notes = prepared.describe(config)
    if ddp is not None:
        notes.append(
            f"data-parallel: {ddp.world_size} torchrun processes ({ddp.backend}), each training on 1/"
            f"{ddp.world_size} of every batch; rank 0 writes the model"
        )
    checkpoint = Checkpoint(out / CHECKPOINT_DIR / "train.safetensors", resume=resume)
    notes.append(checkpoint.start_note())
    for line in notes if is_main else ():
        if line:
            click.echo(line)
    bar = tqdm(total=config.max_epochs, unit="epoch", desc="training", disable=quiet or not is_main,
               file=sys.stderr)  # fmt: skip

    def progress(epoch: int, info: dict[str, Any]) -> None:
        bar.update(epoch - bar.n)  # a resumed run starts past epoch 1
        bar.set_postfix(val_loss=f"{info['val_loss']:.4f}", val_auc=f"{info['val_auc']:.3f}",
                        active=info["active"])  # fmt: skip

    start = time.perf_counter()
    try:
        with data_warnings_to_stderr():
            clf = fit_network(prepared, config, threshold=threshold_value, callback=progress,
                              checkpoint=checkpoint)  # fmt: skip
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    if not is_main:  # every rank holds the same weights; rank 0 writes them
        return

    frame, params = prepared.targets.frame, click.get_current_context().params
    extra = prepared.provenance(
        config,
        options={k: (str(v) if isinstance(v, Path) else v) for k, v in params.items()},
    )
    if published:
        extra["split"]["method"] = (
            f"published split {split_column or 'by tables'}: 'train' rows fit"
        )
    # training feature range, M/X counts and data cut-off, for flarecast forecast's flags
    extra["forecast"] = forecast_support(
        frame[prepared.features], frame["peak_flux"], frame["time"]
    )
    # the code that produced the model: package versions and the git commit of a source checkout
    extra["provenance"] = provenance()
    if ddp is not None:
        extra["data_parallel"] = {"world_size": ddp.world_size, "backend": ddp.backend}
    if checkpoint.resumed_epoch:
        extra["resumed_after_epoch"] = checkpoint.resumed_epoch
    writers = []
    if calibration != "none":  # fitted on the validation rows only, like the threshold
        X_val, y_val = prepared.rows(prepared.val_idx)
        calibrator = fit_calibrator(clf.predict_proba(X_val)[:, 1], y_val, calibration)
        writers.append(lambda folder: save_calibrator(folder, calibrator))
    save_trained(out, clf, prepared, config, threshold=threshold, extra=extra, writers=writers,
                 overwrite=overwrite)  # fmt: skip

    for line in describe_fit(clf, config, seconds):
        click.echo(line)
    cal_file = ", calibration.json" if calibration != "none" else ""
    click.echo(
        f"{prepared.banner}saved {out} (weights.safetensors, model.json{cal_file}, train.toml, "
        "history.csv)"
    )
