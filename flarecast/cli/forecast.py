"""``flarecast forecast``: the daily per-region and full-disk flare probability report.

The boundary of the forecast stage: it reads the SHARP records and the model
folder, resolves the issue time into UTC, calls the pure
:func:`flarecast.forecast.core.make_forecast` and writes the report with
:func:`flarecast.forecast.report.write_report`. torch, pandas and the model
are imported inside the command so ``flarecast --help`` stays fast.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import data_warnings_to_stderr, friendly_errors

__all__ = ["forecast"]

_DEMO = re.compile(r"^demo(?::(\d+))?$")


def read_input(spec: str) -> tuple[Any, Any]:
    """SHARP records and their :class:`~flarecast.forecast.core.InputInfo` from ``--features``.

    ``demo[:SEED]`` is the SYNTHETIC demo series (seed 1 by default, a sun
    independent of the ``demo`` training table's seed 0); a registered labelled
    data set (``umich-24h``, ...) is read by :func:`flarecast.data.tables.read.load_dataset`
    and its labels ignored; anything else (a file, ``hollanda-2019``) by
    :func:`flarecast.data.sharp.series.read_sharp_series`.
    """
    from flarecast.forecast.core import InputInfo

    demo = _DEMO.match(spec)
    if demo:
        from flarecast.data.synthetic import demo_sharp_series

        seed = int(demo.group(1) or 1)
        note = (
            f"SYNTHETIC demo SHARP series, seed {seed} (the 'demo' training table uses seed 0, so seed 1 is an "
            "independent synthetic sun)."
        )
        return demo_sharp_series(seed=seed), InputInfo(
            f"demo:{seed} (SYNTHETIC)", None, True, (note,)
        )
    from flarecast.data import registry
    from flarecast.data.sharp.series import SERIES_NAMES, read_sharp_series

    if spec in registry.registry() and spec not in SERIES_NAMES:
        from flarecast.data.tables.read import load_dataset

        ds = load_dataset(spec)
        notes = (
            *ds.notes,
            "label columns of the data set were ignored: a forecast reads features only.",
        )
        return ds.frame, InputInfo(
            source=ds.name, sha256=ds.sha256, synthetic=ds.synthetic, notes=notes
        )
    frame = read_sharp_series(spec)
    dropped = frame.attrs.get("dropped_columns") or []
    notes = (f"columns not used as SHARP keywords or metadata: {dropped}",) if dropped else ()
    return frame, InputInfo(
        source=str(frame.attrs.get("source", spec)),
        sha256=frame.attrs.get("sha256"),
        synthetic=bool(frame.attrs.get("synthetic", False)),
        notes=notes,
    )


def read_jsoc(
    issue_time: Any, lookback_hours: float, features: tuple[str, ...], client: Any = None
) -> tuple[Any, Any]:
    """The SHARP NRT records of the look-back window before ``issue_time``, from JSOC.

    Records near the limb are kept (the forecast flags them); ``QUALITY != 0``
    records and records with a missing keyword are dropped by the reader and
    counted in the notes. ``client`` is any object with drms's ``query``.
    """
    import pandas as pd

    from flarecast.data.schema import SHARP_UNITS
    from flarecast.errors import ConfigError
    from flarecast.forecast.core import InputInfo

    try:
        from flarecast.data.sharp.jsoc import fetch_sharp
    except ModuleNotFoundError as exc:
        raise ConfigError(
            "--jsoc needs flarecast.data.sharp.jsoc (the JSOC reader), which this installation lacks; "
            "pass --features FILE instead"
        ) from exc
    keywords = [f for f in features if f in SHARP_UNITS]
    start = issue_time - pd.Timedelta(hours=lookback_hours)
    frame = fetch_sharp(
        start,
        issue_time + pd.Timedelta(minutes=1),
        series="hmi.sharp_cea_720s_nrt",
        keywords=keywords,
        cadence="1h",
        chunk=f"{int(lookback_hours) + 1}h",
        max_abs_lon=None,
        quality_zero=True,
        client=client,
    )
    dropped = frame.attrs.get("dropped") or {}
    notes = tuple(
        f"JSOC records dropped by the reader ({why}): {n}" for why, n in dropped.items() if n
    )
    return frame, InputInfo(
        source=str(frame.attrs.get("source", "JSOC hmi.sharp_cea_720s_nrt")), notes=notes
    )


def model_info(
    folder: Path, meta: dict[str, Any], features: tuple[str, ...], calibration: Any
) -> Any:
    """:class:`ModelInfo` from a model folder's ``model.json`` (see :mod:`flarecast.training.artifacts`) and its calibrator.

    The training feature range, M/X counts and data cut-off live in
    ``model.json["extra"]["forecast"]`` (written by ``flarecast train`` from
    :func:`flarecast.forecast.core.forecast_support`); when absent the forecast says so.
    """
    from flarecast.forecast.core import ModelInfo

    extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
    support = extra.get("forecast") if isinstance(extra.get("forecast"), dict) else {}
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    rng = support.get("feature_range")
    counts = support.get("x_counts")
    sha = str((meta.get("weights") or {}).get("sha256") or "")
    definition = str(meta.get("class_definition") or "")
    flaring = data.get("flaring_only")
    negatives = re.search(r"negative: (.+)$", definition)
    if negatives and "N" not in [part.strip()[:1] for part in negatives.group(1).split(",")]:
        # negatives without 'N' (no flare): no quiet region was ever a training sample, whatever the data held
        flaring = True
    positive = re.search(r"positive: >= (\S+?);", definition)
    try:
        feature_range = (
            {str(k): (float(v[0]), float(v[1])) for k, v in rng.items()}
            if isinstance(rng, dict)
            else None
        )
        x_counts = (
            (int(counts[0]), int(counts[1]))
            if isinstance(counts, list) and len(counts) == 2
            else None
        )
    except (TypeError, ValueError, IndexError) as exc:
        from flarecast.errors import ModelFileError

        raise ModelFileError(
            f"{folder / 'model.json'}: extra.forecast is malformed ({exc}); expected feature_range as "
            "{feature: [min, max]} and x_counts as [n_x, n_mx]. Retrain the model or remove extra.forecast."
        ) from exc
    return ModelInfo(
        model_id=f"{folder.name}-{sha[:12]}" if sha else folder.name,
        features=features,
        target_definition=definition or "unknown (model.json has no class definition)",
        positive_class=positive.group(1) if positive else None,
        flaring_only=None if flaring is None else bool(flaring),
        calibration=calibration.describe(),
        calibration_method=calibration.method,
        feature_range=feature_range,
        x_counts=x_counts,
        path=str(folder),
        flarecast_version=str(meta.get("flarecast_version") or ""),
        created=str(meta.get("created") or ""),
        weights_sha256=sha,
        training_data=str(data.get("name") or "unknown"),
        training_sha256=str(data.get("sha256") or ""),
        training_synthetic=bool(data.get("synthetic") or meta.get("synthetic") or False),
        training_cutoff=support.get("training_cutoff"),
        training_start=support.get("training_start"),
    )


ENGINES = ("auto", "numpy", "torch")


def _load_classifier(
    folder: Path, engine: str, expected: tuple[str, ...] | None = None
) -> tuple[Any, str]:
    """A fitted classifier for ``folder`` and the engine that evaluates it."""
    from flarecast.errors import ConfigError, ModelFileError
    from flarecast.forecast.engine import NumpyMLP, UnsupportedModel

    if engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {list(ENGINES)}; got {engine!r}")
    if engine != "torch":
        try:
            clf = NumpyMLP.from_folder(folder)
        except UnsupportedModel as exc:
            if engine == "numpy":
                raise ConfigError(f"--engine numpy: {exc}; use --engine torch") from exc
        else:
            if expected is not None and tuple(clf.feature_names_in_) != expected:
                raise ModelFileError(
                    f"{folder}: features {list(clf.feature_names_in_)} differ from the main "
                    f"model's {list(expected)}"
                )
            return clf, "numpy"
    # flarecast.training.artifacts.load_model imports torch and scikit-learn: only on this path
    from flarecast.training.artifacts import load_model

    clf = load_model(folder, expected_features=expected)
    if getattr(clf, "model", "mlp") != "mlp":
        # a sequence model reads windows of past records; the daily forecast scores one record per region
        raise ModelFileError(
            f"{folder}: a {clf.model!r} model cannot make the daily forecast; train an 'mlp' model"
        )
    return clf, "torch"


def load_forecaster(
    folder: str | Path, x_folder: str | Path | None = None, engine: str = "auto"
) -> tuple[Any, Any, Any]:
    """The calibrated >= M model, its :class:`ModelInfo`, and the calibrated X model or None.

    The X model is ``x_folder`` or, when not given, ``folder/x`` if that is a
    model folder. ``engine`` "auto" evaluates plain MLPs in numpy
    (:class:`flarecast.forecast.engine.NumpyMLP`, no torch import) and anything
    else with torch; "numpy" or "torch" force one.
    """
    import dataclasses

    from flarecast.evaluation.calibration import CalibratedClassifier, Calibrator, load_calibrator
    from flarecast.training.artifacts import SIDECAR

    folder = Path(folder)
    clf, used = _load_classifier(folder, engine)
    features = tuple(map(str, clf.feature_names_in_))
    cal = load_calibrator(folder, missing_ok=True) or Calibrator("none")
    info = dataclasses.replace(model_info(folder, clf.metadata_, features, cal), inference=used)
    x_path = Path(x_folder) if x_folder is not None else folder / "x"
    x_model = None
    if x_folder is not None or (x_path / SIDECAR).is_file():
        x_clf, _ = _load_classifier(x_path, engine, expected=features)
        x_model = CalibratedClassifier(
            x_clf, load_calibrator(x_path, missing_ok=True) or Calibrator("none")
        )
    return CalibratedClassifier(clf, cal), info, x_model


def resolve_issue_time(
    date: str | None, issue_time: str | None, frame: Any = None
) -> tuple[Any, str | None]:
    """The issue time in UTC from ``--date`` / ``--issue-time``, or the newest record; plus a note."""
    import pandas as pd

    from flarecast.errors import ConfigError
    from flarecast.forecast.core import check_issue_time

    if date and issue_time:
        raise ConfigError("give --date or --issue-time, not both")
    if date:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            raise ConfigError(f"--date must be YYYY-MM-DD; got {date!r}")
        try:
            t = pd.Timestamp(date, tz="UTC")
        except ValueError as exc:
            raise ConfigError(f"--date {date!r} is not a valid date ({exc})") from exc
        return check_issue_time(t, "--date", date), None
    if issue_time:
        try:
            t = pd.Timestamp(issue_time)
        except ValueError as exc:
            raise ConfigError(
                f"--issue-time {issue_time!r} is not an ISO 8601 time ({exc})"
            ) from exc
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        return check_issue_time(t, "--issue-time", issue_time), None
    if frame is None:
        return pd.Timestamp.now(tz="UTC").floor(
            "min"
        ), "issue time not given: the current time was used."
    if len(frame) == 0 or "time" not in frame.columns:
        raise ConfigError("the input has no records: give --date or --issue-time")
    newest = frame["time"].max()
    return (
        newest,
        f"issue time not given: taken as the newest record time in the input ({newest:%Y-%m-%d %H:%M} UTC).",
    )


@click.command("forecast")
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Model folder (from flarecast train). A sub-folder x/ holding an >=X model is used for P(>=X).",
)
@click.option(
    "--features",
    "features_spec",
    default=None,
    help="SHARP records: a CSV/Parquet/netCDF file (canonical or JSOC column names, T_REC in TAI is "
    "converted), hollanda-2019 or another registered data set, or demo[:SEED] for the SYNTHETIC "
    "demo series (default seed 1).",
)
@click.option(
    "--jsoc",
    is_flag=True,
    help="Fetch the latest SHARP NRT records from JSOC (needs network and drms).",
)
@click.option(
    "--date",
    default=None,
    help="Issue at 00:00 UTC of this day (YYYY-MM-DD); the report folder name.",
)
@click.option(
    "--issue-time",
    default=None,
    help="Issue time, ISO 8601 (UTC if no zone). Default: the newest input record (--jsoc: now).",
)
@click.option(
    "--out",
    "out_dir",
    default="reports",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Reports folder; the day goes to OUT/YYYY-MM-DD/ and OUT/index.html lists every day.",
)
@click.option(
    "--x-model", default=None, type=click.Path(path_type=Path), help="Separate >=X model folder."
)
@click.option("--stale-hours", type=float, default=None, help="Flag records older than this [24].")
@click.option(
    "--lookback-hours",
    type=float,
    default=None,
    help="Regions unseen for longer are off the disk [72].",
)
@click.option("--limb-deg", type=float, default=None, help="Flag |LON_FWT| above this [70].")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="auto",
    show_default=True,
    help="Model evaluation: numpy for plain MLPs (fast start, no torch import), else torch.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the forecast JSON instead of the summary."
)
@friendly_errors
def forecast(
    model_dir: Path,
    features_spec: str | None,
    jsoc: bool,
    date: str | None,
    issue_time: str | None,
    out_dir: Path,
    x_model: Path | None,
    stale_hours: float | None,
    lookback_hours: float | None,
    limb_deg: float | None,
    engine: str,
    as_json: bool,
) -> None:
    """Daily per-region and full-disk flare probabilities (P(>=M), P(>=X) in the next 24 h).

    Example (no network): flarecast forecast --model models/demo --features demo --date 2011-06-01 --out reports/
    """
    import dataclasses

    from flarecast.config import replace
    from flarecast.errors import ConfigError
    from flarecast.forecast.core import ForecastConfig, make_forecast, training_overlap
    from flarecast.forecast.report import forecast_to_dict, percent, write_report

    if bool(features_spec) == jsoc:
        raise ConfigError("give exactly one of --features FILE|NAME|demo and --jsoc")
    try:
        config = replace(
            ForecastConfig(),
            stale_hours=stale_hours,
            lookback_hours=lookback_hours,
            limb_deg=limb_deg,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    with data_warnings_to_stderr():
        model, info, x_clf = load_forecaster(model_dir, x_model, engine)
        if jsoc:
            t0, note = resolve_issue_time(date, issue_time)
            frame, input_info = read_jsoc(t0, config.lookback_hours, info.features)
        else:
            frame, input_info = read_input(features_spec)
            t0, note = resolve_issue_time(date, issue_time, frame)
        if note:
            input_info = dataclasses.replace(input_info, notes=(*input_info.notes, note))
        fc = make_forecast(
            frame, model, info, t0, input_info=input_info, x_model=x_clf, config=config
        )
        day = write_report(fc, out_dir)
    if as_json:
        click.echo(json.dumps(forecast_to_dict(fc), indent=2))
        return
    if fc.synthetic:
        click.echo("SYNTHETIC DATA -- NOT A REAL FORECAST")
    click.echo(
        f"Forecast issued {fc.issue_time:%Y-%m-%d %H:%M} UTC, valid {config.valid_hours:g} h; "
        f"{fc.n_forecast} of {len(fc.regions)} regions forecast."
    )
    click.echo(
        f"Full disk: Class M {percent(fc.full_disk_m)}%  Class X {percent(fc.full_disk_x)}% "
        "(1 - prod(1 - p_i), regions assumed independent)"
    )
    overlap = training_overlap(fc.issue_time, info)
    for w in (*fc.warnings, *([overlap] if overlap else [])):
        click.echo(f"Warning: {w}", err=True)
    click.echo(
        f"Wrote {day}/ (forecast.json, .csv, .txt, .md, .html) and {Path(out_dir) / 'index.html'}"
    )
