"""``flarecast train`` and ``flarecast predict``: fit a flare network, save it, score a table with it.

Thin layer over :class:`flarecast.training.estimator.FlareClassifier` and
:mod:`flarecast.training.artifacts`; torch is imported only inside the commands.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import friendly_errors, target_options

__all__ = ["train", "predict"]


def _split_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _check_features(
    requested: tuple[str, ...] | None, available: tuple[str, ...], source: str
) -> list[str]:
    from flarecast.errors import ConfigError

    if requested is None:
        return list(available)
    unknown = [f for f in requested if f not in available]
    if unknown:
        hints = []
        for f in unknown:
            close = difflib.get_close_matches(f.upper(), available, n=1)
            hints.append(f"{f!r} (did you mean {close[0]!r}?)" if close else repr(f))
        raise ConfigError(
            f"--features: {', '.join(hints)} not in {source}; its features are {list(available)}"
        )
    if len(set(requested)) != len(requested):
        raise ConfigError(f"--features lists a feature twice: {list(requested)}")
    return list(requested)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _write_toml(path: Path, tables: dict[str, dict[str, Any]]) -> None:
    from flarecast.io import atomic_open

    with atomic_open(path, "w") as fh:
        fh.write(
            "# Written by `flarecast train`; rerun with: flarecast train --config THIS_FILE ...\n"
        )
        for name, table in tables.items():
            fh.write(f"\n[{name}]\n")
            for key, value in table.items():
                if key == "alpha" and value is None:
                    fh.write("alpha = -1  # no class weighting\n")
                elif value is None:
                    fh.write(f"# {key} = (none)\n")  # TOML has no null: absent means the default
                else:
                    fh.write(f"{key} = {_toml_value(value)}\n")


def _records_before(data: Any, before: str, gap: str) -> tuple[Any, int, Any]:
    """``data`` cut to the records with ``time < before - gap`` (UTC): (data, records left out, the cut)."""
    import numpy as np
    import pandas as pd

    from flarecast.errors import ConfigError, DataError

    try:
        stamp, width = pd.Timestamp(before), pd.Timedelta(gap)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"--before must be a time such as 2014-10-24 and --gap a duration such as 24h: {exc}"
        ) from exc
    if stamp is pd.NaT or width is pd.NaT or width < pd.Timedelta(0):
        raise ConfigError(
            f"--before must be a time such as 2014-10-24 and --gap a duration >= 0 such as 24h; "
            f"got {before!r} and {gap!r}"
        )
    cut = (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")) - width
    times = pd.to_datetime(data.frame["time"], utc=True)
    if times.isna().any():
        raise DataError(
            f"{data.name}: {int(times.isna().sum())} record(s) have no time (first at row "
            f"{int(np.flatnonzero(times.isna().to_numpy())[0])}), so --before cannot place them"
        )
    keep = (times < cut).to_numpy()
    if not keep.any():
        raise DataError(
            f"{data.name}: no record before {cut:%Y-%m-%d %H:%M} UTC (--before {before} - --gap {gap}); "
            f"its first record is at {times.min():%Y-%m-%d %H:%M} UTC"
        )
    return (
        dataclasses.replace(data, frame=data.frame[keep].reset_index(drop=True)),
        int((~keep).sum()),
        cut,
    )


def _write_history(path: Path, history: dict[str, Any]) -> None:
    from flarecast.io import atomic_open

    n_epochs, k = history["val_loss"].shape
    with atomic_open(path, "w") as fh:
        fh.write("epoch,member,train_loss,val_loss,val_auc\n")
        for e in range(n_epochs):
            for m in range(k):
                fh.write(
                    f"{e + 1},{m},{history['train_loss'][e, m]:.6g},{history['val_loss'][e, m]:.6g},"
                    f"{history['val_auc'][e, m]:.6g}\n"
                )


@click.command("train")
@click.option(
    "--dataset", required=True, help="Registered data-set name (flarecast data list) or table path."
)
@click.option(
    "--loss",
    type=click.Choice(["focal", "ce", "weighted-ce"]),
    default=None,
    help="Training loss [default: focal].",
)
@click.option(
    "--alpha",
    default=None,
    help="Focal weight of the flare class in [0, 1], or 'none' [default: 0.25].",
)
@click.option(
    "--gamma", type=float, default=None, help="Focal focusing parameter >= 0 [default: 2]."
)
@click.option(
    "--model",
    "model_kind",
    type=click.Choice(["mlp", "sequence"]),
    default=None,
    help="Snapshot MLP or GRU over record windows [default: mlp].",
)
@click.option(
    "--features",
    default=None,
    help="Comma-separated feature columns [default: all of the data set].",
)
@click.option("--hidden", default=None, help="Hidden widths, e.g. 64,64 [default: 32,32].")
@click.option(
    "--seeds", type=int, default=None, help="Ensemble members trained at once [default: 1]."
)
@click.option("--seed", type=int, default=None, help="Base seed [default: 0].")
@click.option(
    "--epochs",
    type=int,
    default=None,
    help="Maximum epochs (early stopping may end sooner) [default: 60].",
)
@click.option("--device", default=None, help="auto, cpu, cuda, cuda:N or mps [default: auto].")
@click.option(
    "--skip",
    type=click.Choice(["none", "linear", "logistic"]),
    default=None,
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
    help="With --before: at least the data set's label horizon plus latency (24h for a 24-hour window).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="torch threads on the CPU. One suits a single member; an ensemble (--seeds 5 or more) trains "
    "faster with one per core on an otherwise idle machine [default: 1].",
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
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Model folder to write, e.g. models/focal-24h.",
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
    type=click.Choice(["platt", "isotonic", "none"]),
    default="platt",
    show_default=True,
    help="Calibrator fitted on the validation rows, saved as calibration.json; forecasts publish its "
    "probabilities.",
)
@target_options
@friendly_errors
def train(
    dataset: str,
    loss: str | None,
    alpha: str | None,
    gamma: float | None,
    model_kind: str | None,
    features: str | None,
    hidden: str | None,
    seeds: int | None,
    seed: int | None,
    epochs: int | None,
    device: str | None,
    skip: str | None,
    before: str | None,
    gap: str,
    threads: int | None,
    threshold: str,
    config_path: Path | None,
    out: Path,
    quiet: bool,
    resume: bool,
    calibration: str,
    negatives: tuple[str, ...],
    positive_threshold: str,
) -> None:
    """Train a flare network on DATASET and save it to --out (weights.safetensors + model.json).

    The validation rows (20% of the regions, with positives on both sides) are
    used for early stopping and the threshold only. The training state is
    checkpointed after every epoch (OUT/.checkpoint/, removed once the model
    is saved), so an interrupted run can be continued with --resume.
    Under torchrun (torchrun --nproc_per_node=N --no-python flarecast train ...)
    the processes train data-parallel and only rank 0 prints and writes.
    """
    import numpy as np
    from tqdm import tqdm

    from flarecast import config as cfg
    from flarecast.data.tables.read import load_dataset
    from flarecast.errors import ConfigError
    from flarecast.evaluation.calibration import fit_calibrator, save_calibrator
    from flarecast.evaluation.tables import provenance
    from flarecast.forecast.core import forecast_support
    from flarecast.splits import inner_validation
    from flarecast.targets import make_targets
    from flarecast.training.artifacts import save_model
    from flarecast.training.checkpoint import Checkpoint
    from flarecast.training.ddp import init_from_env, shutdown
    from flarecast.training.estimator import FlareClassifier
    from flarecast.training.loop import TrainConfig, skip_path

    base = cfg.load_toml(config_path, TrainConfig, table="train") if config_path else TrainConfig()
    if base.alpha == -1:  # TOML has no null: train.toml spells "no class weighting" as -1
        base = dataclasses.replace(base, alpha=None)
    try:
        hidden_value = tuple(int(h) for h in _split_list(hidden)) if hidden is not None else None
        threshold_value: float | str = threshold if threshold == "tss" else float(threshold)
    except ValueError as exc:
        raise ConfigError(
            f"--hidden must be integers like 64,64 and --threshold a number or 'tss': {exc}"
        ) from exc
    config = cfg.replace(
        base,
        loss=loss,
        gamma=gamma,
        model=model_kind,
        hidden=hidden_value,
        n_members=seeds,
        seed=seed,
        max_epochs=epochs,
        device=device,
        skip=skip,
        cpu_threads=threads,
    )
    if (
        alpha is not None
    ):  # set explicitly: 'none' (no class weighting) must not read as "not given"
        try:
            alpha_value = None if alpha.lower() in ("none", "off", "-1") else float(alpha)
        except ValueError as exc:
            raise ConfigError(
                f"--alpha must be a number in [0, 1] or 'none'. Got {alpha!r}."
            ) from exc
        config = dataclasses.replace(config, alpha=alpha_value)
    # Spelled out, so that train.toml reruns this network even after the model's default changes.
    config = dataclasses.replace(config, skip=skip_path(config))

    data = load_dataset(dataset)
    chosen = _check_features(_split_list(features), data.features, data.name)
    cut_note = ""
    if before is not None:
        data, n_later, cut = _records_before(data, before, gap)
        cut_note = f"; left out {n_later} records at or after {cut:%Y-%m-%d %H:%M} UTC (--before {before} - --gap {gap})"
    targets = make_targets(data, negatives=negatives, positive_threshold=positive_threshold)
    y, groups, frame = targets.y.astype(np.int64), targets.groups, targets.frame
    fit_idx, val_idx = inner_validation(
        y, groups, np.arange(len(y)), fraction=0.2, seed=config.seed
    )
    clf = FlareClassifier(**cfg.to_dict(config), threshold=threshold_value, features=tuple(chosen))
    clf.train_config()  # validate before the long part
    # Under torchrun every process runs this command: join the process group (flarecast.training.ddp); each
    # rank then trains on its shard of every batch, and only rank 0 prints and writes.
    ddp = init_from_env(config.device)
    if ddp is not None:
        click.get_current_context().call_on_close(shutdown)
    is_main = ddp is None or ddp.is_main
    echo = click.echo if is_main else (lambda *args, **kwargs: None)

    banner = "SYNTHETIC data: " if data.synthetic else ""
    dropped = {k: v for k, v in targets.dropped.items() if v}
    echo(
        f"{banner}{data.name}: {len(frame)} rows ({targets.definition}), {targets.n_positive} positive; "
        f"left out {sum(dropped.values())} rows {dropped}{cut_note}"
    )
    echo(
        f"training on {len(fit_idx)} rows of {len(np.unique(groups[fit_idx]))} regions, validating on "
        f"{len(val_idx)} rows of {len(np.unique(groups[val_idx]))} regions; {config.n_members} member(s), "
        f"{config.loss} loss, {config.model}, {len(chosen)} features"
    )
    if ddp is not None:
        echo(
            f"data-parallel: {ddp.world_size} torchrun processes ({ddp.backend}), each training on 1/"
            f"{ddp.world_size} of every batch; rank 0 writes the model"
        )
    checkpoint = Checkpoint(out / ".checkpoint" / "train.safetensors", resume=resume)
    found = checkpoint.peek()
    if found is not None:
        echo(
            f"resuming after epoch {found['epoch']} from {checkpoint.path}"
            if resume
            else f"{checkpoint.path} holds an interrupted run (epoch {found['epoch']}); starting afresh, "
            "use --resume to continue it"
        )
    elif resume:
        echo(f"--resume: no checkpoint in {checkpoint.path.parent}; starting afresh")
    bar = tqdm(
        total=config.max_epochs,
        unit="epoch",
        desc="training",
        disable=quiet or not is_main,
        file=sys.stderr,
    )

    def progress(epoch: int, info: dict[str, Any]) -> None:
        bar.update(epoch - bar.n)  # a resumed run starts past epoch 1
        bar.set_postfix(
            val_loss=f"{info['val_loss']:.4f}",
            val_auc=f"{info['val_auc']:.3f}",
            active=info["active"],
        )

    start = time.perf_counter()
    try:
        clf.fit(
            frame.iloc[fit_idx],
            y[fit_idx],
            validation=(frame.iloc[val_idx], y[val_idx]),
            callback=progress,
            checkpoint=checkpoint,
        )
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    if not is_main:  # every rank holds the same weights; rank 0 writes them
        return

    options = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in click.get_current_context().params.items()
    }
    extra = {
        "command": "flarecast train",
        "options": options,
        "split": {
            "method": "inner_validation by region",
            "fraction": 0.2,
            "seed": config.seed,
            "fit_rows": len(fit_idx),
            "validation_rows": len(val_idx),
        },
        "dropped": targets.dropped,
        "notes": list(data.notes),
        # training feature range, M/X counts and data cut-off, for flarecast forecast's flags
        "forecast": forecast_support(frame[chosen], frame["peak_flux"], frame["time"]),
        # the code that produced the model: package versions and the git commit of a source checkout
        "provenance": provenance(),
    }
    if ddp is not None:
        extra["data_parallel"] = {"world_size": ddp.world_size, "backend": ddp.backend}
    if checkpoint.resumed_epoch:
        extra["resumed_after_epoch"] = checkpoint.resumed_epoch
    save_model(clf, out, dataset=data, targets_definition=targets.definition, extra=extra)
    if calibration != "none":  # fitted on the validation rows only, like the threshold
        p_val = clf.predict_proba(frame.iloc[val_idx])[:, 1]
        save_calibrator(out, fit_calibrator(p_val, y[val_idx], calibration))
    _write_toml(
        out / "train.toml",
        {
            "train": cfg.to_dict(config),
            "data": {
                "dataset": data.name,
                "sha256": data.sha256,
                "synthetic": data.synthetic,
                "features": chosen,
                "negatives": list(negatives),
                "positive_threshold": positive_threshold,
                "threshold": threshold,
            },
        },
    )
    _write_history(out / "history.csv", clf.history_)
    checkpoint.remove()  # the model is complete: nothing left to resume

    v = clf.validation_
    click.echo(
        f"validation ({v['n']} rows, base rate {v['base_rate']:.3f}; training base rate {clf.base_rate_:.3f}): "
        f"ensemble AUC {v['auc']:.3f}, mean {config.loss} loss {v['loss']:.4f}"
    )
    click.echo(
        f"best epochs per member: {clf.best_epoch_.tolist()} of {len(clf.history_['val_loss'])} run; "
        f"threshold {clf.threshold_:.3f}; {seconds:.1f} s on {clf.device_}"
    )
    cal_file = ", calibration.json" if calibration != "none" else ""
    click.echo(
        f"{banner}saved {out} (weights.safetensors, model.json{cal_file}, train.toml, history.csv)"
    )


@click.command("predict")
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Model folder written by flarecast train.",
)
@click.option("--dataset", required=True, help="Registered data-set name or table path to score.")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="CSV to write."
)
@click.option("--device", default="cpu", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@friendly_errors
def predict(model_dir: Path, dataset: str, out: Path, device: str) -> None:
    """Score every row of DATASET with a saved model; write P(flare) and the 0/1 prediction to --out.

    ``p_flare`` is the ensemble's raw probability (the threshold applies to it);
    ``p_calibrated`` is the same through the model folder's calibration.json
    (fitted on its validation rows), the probability a forecast publishes, when
    the folder has one.
    """
    import numpy as np
    import pandas as pd

    from flarecast.data.schema import GOES_CLASS, NOAA_AR, TIME
    from flarecast.data.tables.read import load_dataset
    from flarecast.evaluation.calibration import load_calibrator
    from flarecast.io import atomic_open
    from flarecast.training.artifacts import load_model

    clf = load_model(model_dir, device=device)
    calibrator = load_calibrator(model_dir, missing_ok=True)
    data = load_dataset(dataset)
    frame = data.frame
    members = clf.predict_proba_members(frame)
    p = members.mean(axis=0)
    result = pd.DataFrame({c: frame[c] for c in (TIME, NOAA_AR, GOES_CLASS) if c in frame.columns})
    result["p_flare"] = p
    if calibrator is not None:
        result["p_calibrated"] = calibrator.transform(p)
    result["p_member_std"] = members.std(axis=0)
    result["prediction"] = (p >= clf.threshold_).astype(np.int8)
    if data.synthetic:
        result["note"] = "SYNTHETIC data"
    with atomic_open(out, "w", newline="") as fh:
        result.to_csv(fh, index=False)
    banner = "SYNTHETIC data: " if data.synthetic else ""
    meta = clf.metadata_
    click.echo(
        f"{banner}scored {len(result)} rows of {data.name} with {model_dir} "
        f"({meta.get('class_definition') or 'class definition not recorded'}; trained on "
        f"{(meta.get('data') or {}).get('name', '?')})"
    )
    calibrated = (
        f", calibrated {result['p_calibrated'].mean():.3f} ({calibrator.method})"
        if calibrator is not None
        else "; no calibration.json in the model folder, so no p_calibrated column"
    )
    click.echo(
        f"mean P(flare) {p.mean():.3f}{calibrated}; {int(result['prediction'].sum())} predicted positive at "
        f"threshold {clf.threshold_:.3f}; wrote {out}"
    )
