"""``flarecast predict``: score a table with a saved model folder.

Thin layer over :func:`flarecast.training.artifacts.load_model` and
:mod:`flarecast.evaluation.calibration`; torch is imported only inside the command.
"""

from __future__ import annotations

from pathlib import Path

import click

from flarecast.cli._common import data_warnings_to_stderr, friendly_errors
from flarecast.cli._options import model_option, out_option

__all__ = ["predict"]


@click.command("predict")
@model_option
@click.option("--dataset", required=True, help="Registered data-set name or table path to score.")
@out_option("CSV to write.", file=True)
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
    from flarecast.features.categorical import apply_saved_encoding
    from flarecast.io import atomic_open
    from flarecast.training.artifacts import load_model

    with data_warnings_to_stderr():
        clf = load_model(model_dir, device=device)
        calibrator = load_calibrator(model_dir, missing_ok=True)
        data = load_dataset(dataset)
        frame = apply_saved_encoding(clf.metadata_, data.frame, data.name)
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
