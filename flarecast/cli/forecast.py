"""``flarecast forecast``: the daily per-region and full-disk flare probability report.

The boundary of the forecast stage: it reads the SHARP records and the model
folder, resolves the issue time into UTC, calls the pure
:func:`flarecast.forecast.make_forecast` and writes the report with
:func:`flarecast.forecast_report.write_report`. torch, pandas and the model
are imported inside the command so ``flarecast --help`` stays fast.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from flarecast.cli._common import friendly_errors

__all__ = ["forecast"]

_DEMO = re.compile(r"^demo(?::(\d+))?$")
# SHARP keyword names JSOC uses for the canonical metadata columns.
_JSOC_NAMES = {"T_REC": "time", "NOAA_AR": "noaa_ar", "HARPNUM": "harpnum"}
# TAI - UTC (s) from each leap second on; SDO/HMI data start in 2010.
_TAI_UTC = (("2006-01-01", 33), ("2009-01-01", 34), ("2012-07-01", 35), ("2015-07-01", 36), ("2017-01-01", 37))
_T_REC = re.compile(r"^\d{4}\.\d{2}\.\d{2}_\d{2}:\d{2}(:\d{2}(\.\d+)?)?_TAI$")


def _tai_to_utc(values: Any, source: str) -> Any:
    """JSOC ``T_REC`` strings (``2014.01.01_00:12:00_TAI``) to UTC timestamps."""
    import numpy as np
    import pandas as pd

    from flarecast.errors import SchemaError, format_examples

    text = pd.Series(values, dtype="string").str.strip()
    bad = ~text.fillna("").str.match(_T_REC.pattern)
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        raise SchemaError(f"{source}: column 'T_REC' has values that are not JSOC TAI times "
                          f"(YYYY.MM.DD_hh:mm:ss_TAI) at {format_examples(rows, text[bad].tolist())}")
    tai = pd.to_datetime(text.str.replace("_TAI", "", regex=False), format="%Y.%m.%d_%H:%M:%S", utc=True)
    offset = np.zeros(len(tai))
    for start, seconds in _TAI_UTC:
        offset[(tai >= pd.Timestamp(start, tz="UTC")).to_numpy()] = seconds
    return tai - pd.to_timedelta(offset, unit="s")


def _read_table_file(path: Path, assume_utc: bool) -> tuple[Any, str]:
    """Read an unlabelled SHARP record table (CSV, ``;``-CSV or Parquet) into canonical columns."""
    import pandas as pd

    from flarecast.errors import DataError, SchemaError
    from flarecast.io import sha256_file

    source = str(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            with open(path, encoding="utf-8", errors="replace") as fh:
                header = fh.readline()
            frame = pd.read_csv(path, sep=";" if header.count(";") > header.count(",") else ",")
        else:
            raise DataError(f"{source}: unknown table format {suffix!r}; expected .csv, .txt, .parquet or .pq")
    except (OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{source}: cannot read the table ({exc})") from exc
    frame = frame.rename(columns={k: v for k, v in _JSOC_NAMES.items() if k in frame.columns and v not in frame.columns})
    if "time" not in frame.columns:
        raise SchemaError(f"{source}: no 'time' (or JSOC 'T_REC') column; columns are {list(frame.columns)}")
    t = frame["time"]
    if isinstance(t.dtype, pd.DatetimeTZDtype):
        frame["time"] = t.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_any_dtype(t):
        if not assume_utc:
            raise SchemaError(f"{source}: column 'time' has no time zone; write times with 'Z' or pass --assume-utc")
        frame["time"] = t.dt.tz_localize("UTC")
    else:
        text = t.astype("string").str.strip()
        if text.fillna("").str.endswith("_TAI").all():
            frame["time"] = _tai_to_utc(text, source)
        else:
            zoned = text.fillna("").str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
            if not zoned.all() and not assume_utc:
                raise SchemaError(f"{source}: column 'time' has times without a zone (e.g. {text[~zoned].iloc[0]!r}); "
                                  "write them with 'Z' or '+00:00', or pass --assume-utc")
            try:
                frame["time"] = pd.to_datetime(text, utc=True, format="ISO8601")
            except ValueError as exc:
                raise SchemaError(f"{source}: column 'time' is not ISO 8601 ({exc})") from exc
    for col in ("noaa_ar", "harpnum"):
        if col in frame.columns:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    return frame, sha256_file(path)


def _read_input(spec: str, assume_utc: bool) -> tuple[Any, Any]:
    """SHARP records and their :class:`InputInfo` from ``--features``."""
    from flarecast.forecast import InputInfo

    demo = _DEMO.match(spec)
    if demo:
        from flarecast.data.synthetic import demo_sharp_series

        seed = int(demo.group(1) or 1)
        frame = demo_sharp_series(seed=seed)
        note = (f"SYNTHETIC demo SHARP series, seed {seed} (the 'demo' training table uses seed 0, so seed 1 is an "
                "independent synthetic sun).")
        return frame, InputInfo(source=f"demo:{seed} (SYNTHETIC)", sha256=None, synthetic=True, notes=(note,))
    from flarecast.data import registry

    path = Path(spec).expanduser()
    if spec in registry.registry() or (path.is_file() and _layout(path) != "table"):
        from flarecast.data.tables import load_dataset

        ds = load_dataset(spec if spec in registry.registry() else path)
        notes = (*ds.notes, "label columns of the data set were ignored: a forecast reads features only.")
        return ds.frame, InputInfo(source=ds.name, sha256=ds.sha256, synthetic=ds.synthetic, notes=notes)
    if not path.is_file():
        from flarecast.errors import ConfigError

        raise ConfigError(f"--features {spec!r} is neither an existing file, 'demo[:SEED]', nor a registered data "
                          f"set ({', '.join(registry.names())})")
    frame, sha = _read_table_file(path, assume_utc)
    synthetic = "synthetic" in frame.columns and bool(frame["synthetic"].astype(bool).any())
    return frame, InputInfo(source=str(path), sha256=sha, synthetic=synthetic)


def _layout(path: Path) -> str:
    from flarecast.data.tables import detect_layout

    return detect_layout(path)


def _read_jsoc(issue_time: Any, lookback_hours: float, features: tuple[str, ...]) -> tuple[Any, Any]:
    from flarecast.errors import ConfigError

    try:
        from flarecast.data import sharp
    except ModuleNotFoundError as exc:
        raise ConfigError("--jsoc needs flarecast.data.sharp (the JSOC reader), which this installation lacks; "
                          "pass --features FILE instead") from exc
    fetch = getattr(sharp, "fetch_sharp", None)
    if fetch is None:
        raise ConfigError("--jsoc: flarecast.data.sharp has no fetch_sharp(); pass --features FILE instead")
    import pandas as pd

    from flarecast.forecast import InputInfo

    start = issue_time - pd.Timedelta(hours=lookback_hours)
    frame = fetch(start=start, end=issue_time, keywords=list(features), nrt=True)
    return frame, InputInfo(source=f"JSOC SHARP NRT {start:%Y-%m-%dT%H:%MZ} to {issue_time:%Y-%m-%dT%H:%MZ}")


def model_info(folder: Path, meta: dict[str, Any], features: tuple[str, ...], calibration: Any) -> Any:
    """:class:`ModelInfo` from a model folder's ``model.json`` (see :mod:`flarecast.artifacts`) and its calibrator.

    The training feature range, M/X counts and data cut-off live in
    ``model.json["extra"]["forecast"]`` (written by ``flarecast train`` from
    :func:`flarecast.forecast.forecast_support`); when absent the forecast says so.
    """
    from flarecast.forecast import ModelInfo

    extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
    support = extra.get("forecast") if isinstance(extra.get("forecast"), dict) else {}
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    rng = support.get("feature_range")
    counts = support.get("x_counts")
    sha = str((meta.get("weights") or {}).get("sha256") or "")
    flaring = data.get("flaring_only")
    return ModelInfo(
        model_id=f"{folder.name}-{sha[:12]}" if sha else folder.name,
        features=features,
        target_definition=str(meta.get("class_definition") or "unknown (model.json has no class definition)"),
        flaring_only=None if flaring is None else bool(flaring),
        calibration=calibration.describe(),
        calibration_method=calibration.method,
        feature_range={k: (float(v[0]), float(v[1])) for k, v in rng.items()} if isinstance(rng, dict) else None,
        x_counts=(int(counts[0]), int(counts[1])) if isinstance(counts, list) and len(counts) == 2 else None,
        path=str(folder),
        flarecast_version=str(meta.get("flarecast_version") or ""),
        created=str(meta.get("created") or ""),
        weights_sha256=sha,
        training_data=str(data.get("name") or "unknown"),
        training_sha256=str(data.get("sha256") or ""),
        training_synthetic=bool(data.get("synthetic") or meta.get("synthetic") or False),
        training_cutoff=support.get("training_cutoff"),
    )


def load_forecaster(folder: str | Path, x_folder: str | Path | None = None) -> tuple[Any, Any, Any]:
    """The calibrated >= M model, its :class:`ModelInfo`, and the calibrated X model or None.

    The X model is ``x_folder`` or, when not given, ``folder/x`` if that is a model folder.
    """
    # flarecast.artifacts imports torch: only when a forecast is made
    from flarecast.artifacts import SIDECAR, load_model
    from flarecast.calibration import CalibratedClassifier, Calibrator, load_calibrator
    from flarecast.errors import ModelFileError

    folder = Path(folder)
    clf = load_model(folder)
    if getattr(clf, "model", "mlp") != "mlp":
        # a sequence model reads windows of past records; the daily forecast scores one record per region
        raise ModelFileError(f"{folder}: a {clf.model!r} model cannot make the daily forecast; train an 'mlp' model")
    features = tuple(map(str, clf.feature_names_in_))
    cal = load_calibrator(folder, missing_ok=True) or Calibrator("none")
    info = model_info(folder, clf.metadata_, features, cal)
    x_path = Path(x_folder) if x_folder is not None else folder / "x"
    x_model = None
    if x_folder is not None or (x_path / SIDECAR).is_file():
        x_clf = load_model(x_path, expected_features=features)
        x_model = CalibratedClassifier(x_clf, load_calibrator(x_path, missing_ok=True) or Calibrator("none"))
    return CalibratedClassifier(clf, cal), info, x_model


def resolve_issue_time(date: str | None, issue_time: str | None, frame: Any = None) -> tuple[Any, str | None]:
    """The issue time in UTC from ``--date`` / ``--issue-time``, or the newest record; plus a note."""
    import pandas as pd

    from flarecast.errors import ConfigError

    if date and issue_time:
        raise ConfigError("give --date or --issue-time, not both")
    if date:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            raise ConfigError(f"--date must be YYYY-MM-DD; got {date!r}")
        try:
            return pd.Timestamp(date, tz="UTC"), None
        except ValueError as exc:
            raise ConfigError(f"--date {date!r} is not a valid date ({exc})") from exc
    if issue_time:
        try:
            t = pd.Timestamp(issue_time)
        except ValueError as exc:
            raise ConfigError(f"--issue-time {issue_time!r} is not an ISO 8601 time ({exc})") from exc
        return (t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")), None
    if frame is None:
        return pd.Timestamp.now(tz="UTC").floor("min"), "issue time not given: the current time was used."
    if len(frame) == 0 or "time" not in frame.columns:
        raise ConfigError("the input has no records: give --date or --issue-time")
    newest = frame["time"].max()
    return newest, f"issue time not given: taken as the newest record time in the input ({newest:%Y-%m-%d %H:%M} UTC)."


@click.command("forecast")
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path),
              help="Model folder (from flarecast train). A sub-folder x/ holding an >=X model is used for P(>=X).")
@click.option("--features", "features_spec", default=None,
              help="SHARP records: a CSV/Parquet file (canonical or JSOC column names), a registered data set, "
                   "or demo[:SEED] for the SYNTHETIC demo series (default seed 1).")
@click.option("--jsoc", is_flag=True, help="Fetch the latest SHARP NRT records from JSOC (needs network and drms).")
@click.option("--date", default=None, help="Issue at 00:00 UTC of this day (YYYY-MM-DD); the report folder name.")
@click.option("--issue-time", default=None, help="Issue time, ISO 8601 (UTC if no zone). Default: newest record.")
@click.option("--out", "out_dir", default="reports", show_default=True, type=click.Path(path_type=Path),
              help="Reports folder; the day goes to OUT/YYYY-MM-DD/ and OUT/index.html lists every day.")
@click.option("--x-model", default=None, type=click.Path(path_type=Path), help="Separate >=X model folder.")
@click.option("--stale-hours", type=float, default=None, help="Flag records older than this [24].")
@click.option("--lookback-hours", type=float, default=None, help="Regions unseen for longer are off the disk [72].")
@click.option("--limb-deg", type=float, default=None, help="Flag |LON_FWT| above this [70].")
@click.option("--assume-utc", is_flag=True, help="Read zone-less times of a features file as UTC.")
@click.option("--json", "as_json", is_flag=True, help="Print the forecast JSON instead of the summary.")
@friendly_errors
def forecast(model_dir: Path, features_spec: str | None, jsoc: bool, date: str | None, issue_time: str | None,
             out_dir: Path, x_model: Path | None, stale_hours: float | None, lookback_hours: float | None,
             limb_deg: float | None, assume_utc: bool, as_json: bool) -> None:
    """Daily per-region and full-disk flare probabilities (P(>=M), P(>=X) in the next 24 h).

    Example (no network): flarecast forecast --model models/demo --features demo --date 2011-06-01 --out reports/
    """
    import warnings

    from flarecast.config import replace
    from flarecast.errors import ConfigError, FlarecastWarning
    from flarecast.forecast import ForecastConfig, make_forecast
    from flarecast.forecast_report import forecast_to_dict, percent, write_report

    if bool(features_spec) == jsoc:
        raise ConfigError("give exactly one of --features FILE|NAME|demo and --jsoc")
    try:
        config = replace(ForecastConfig(), stale_hours=stale_hours, lookback_hours=lookback_hours, limb_deg=limb_deg)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FlarecastWarning)
        model, info, x_clf = load_forecaster(model_dir, x_model)
        if jsoc:
            t0, note = resolve_issue_time(date, issue_time)
            frame, input_info = _read_jsoc(t0, config.lookback_hours, info.features)
        else:
            frame, input_info = _read_input(features_spec, assume_utc)
            t0, note = resolve_issue_time(date, issue_time, frame)
        if note:
            input_info = type(input_info)(**{**input_info.__dict__, "notes": (*input_info.notes, note)})
        fc = make_forecast(frame, model, info, t0, input_info=input_info, x_model=x_clf, config=config)
        day = write_report(fc, out_dir)
    for w in caught:
        if issubclass(w.category, FlarecastWarning):
            click.echo(f"Warning: {w.message}", err=True)
    if as_json:
        click.echo(json.dumps(forecast_to_dict(fc), indent=2))
        return
    if fc.synthetic:
        click.echo("SYNTHETIC DATA -- NOT A REAL FORECAST")
    click.echo(f"Forecast issued {fc.issue_time:%Y-%m-%d %H:%M} UTC, valid {config.valid_hours:g} h; "
               f"{fc.n_forecast} of {len(fc.regions)} regions forecast.")
    click.echo(f"Full disk: Class M {percent(fc.full_disk_m)}%  Class X {percent(fc.full_disk_x)}% "
               "(1 - prod(1 - p_i), regions assumed independent)")
    for w in fc.warnings:
        click.echo(f"Warning: {w}", err=True)
    click.echo(f"Wrote {day}/ (forecast.json, .csv, .txt, .md, .html) and {Path(out_dir) / 'index.html'}")
