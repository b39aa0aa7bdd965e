"""Test helper: a small real model folder (FlareClassifier + calibrator + forecast support) and SHARP files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TARGET = "positive: >= M1.0; negative: N, A, B, C"
#: The SYNTHETIC training set of the tiny model.
TRAIN_DATA = {"seed": 0, "n_regions": 120, "days": 90}


def train_tiny_model(folder: Path, *, seed: int = 0) -> Path:
    """Train a few epochs of a focal-loss network on a small SYNTHETIC demo set and save a full model folder."""
    from flarecast.data.synthetic import demo_dataset
    from flarecast.evaluation.calibration import fit_calibrator, save_calibrator
    from flarecast.forecast.support import forecast_support
    from flarecast.training.artifacts import save_model
    from flarecast.training.estimator import FlareClassifier

    ds = demo_dataset(**TRAIN_DATA)
    frame = ds.frame
    X = frame[list(ds.features)]
    y = (frame["peak_flux"].to_numpy() >= 1e-5).astype(int)
    val = (frame["noaa_ar"].to_numpy(dtype=int) % 4) == 0  # a region split, not a row split
    clf = FlareClassifier(loss="focal", hidden=(8,), max_epochs=3, patience=2, seed=seed)
    clf.fit(X[~val], y[~val], validation=(X[val], y[val]))
    save_model(
        clf,
        folder,
        dataset=ds,
        targets_definition=TARGET,
        extra={"forecast": forecast_support(X, frame["peak_flux"].to_numpy(), frame["time"])},
    )
    save_calibrator(folder, fit_calibrator(clf.predict_proba(X[val])[:, 1], y[val], "platt"))
    return folder


def demo_records(n_regions: int = 60, days: int = 30, seed: int = 1) -> pd.DataFrame:
    """SYNTHETIC hourly SHARP records of a sun independent of the training one."""
    from flarecast.data.synthetic import demo_sharp_series

    return demo_sharp_series(seed=seed, n_regions=n_regions, days=days)


def write_jsoc_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write records the way a JSOC keyword query returns them: T_REC in TAI, NOAA_AR, HARPNUM."""
    out = frame.rename(columns={"noaa_ar": "NOAA_AR", "harpnum": "HARPNUM"}).drop(columns=["time"])
    tai = frame["time"] + pd.Timedelta(seconds=34)  # TAI - UTC in 2011
    out.insert(0, "T_REC", tai.dt.strftime("%Y.%m.%d_%H:%M:%S_TAI"))
    out.to_csv(path, index=False)
    return path
