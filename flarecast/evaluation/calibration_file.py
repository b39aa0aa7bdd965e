"""The ``calibration.json`` file: its format, its checks, and the weights stamp.

:mod:`flarecast.evaluation.calibration` fits and applies the maps; this module
is what a calibration looks like on disk. A file comes from a model folder that
may have been edited or planted, so every field is checked before a map is
built from it, and a file fitted for other weights is refused (the stamp
:data:`flarecast.training.folder.WEIGHTS_KEY`, written by :func:`write_state`).
No pickle: the JSON holds the method and its parameters only.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from flarecast.errors import ModelFileError
from flarecast.io import read_json, write_json

__all__ = ["METHODS", "CALIBRATION_FILE", "check_state", "write_state", "read_state"]

METHODS: tuple[str, ...] = ("platt", "isotonic", "none")
CALIBRATION_FILE = "calibration.json"
FORMAT = "flarecast-calibration"
FORMAT_VERSION = 1
_MAX_BYTES = 16 * 1024 * 1024


def _finite_number(value: Any) -> bool:
    """A JSON number that is a finite float (an int beyond the float range, e.g. 10**400, is not)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) <= sys.float_info.max
        and bool(np.isfinite(float(value)))
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_state(state: Mapping[str, Any], source: str = "calibration") -> dict[str, Any]:
    """The fields of a calibrator, checked, from a ``calibration.json`` state.

    Parameters
    ----------
    state : mapping
        As written by ``Calibrator.to_dict``.
    source : str, default "calibration"
        Named in every error (normally the file's path).

    Returns
    -------
    dict
        ``method``, ``params`` (plain floats and lists), ``n_samples``,
        ``n_positive`` and ``fitted_on``: the keyword arguments of ``Calibrator``.

    Raises
    ------
    ModelFileError
        Naming ``source`` and what is wrong (unknown method, missing or
        malformed parameters, counts that are not counts).
    """
    method = state.get("method")
    if method not in METHODS:
        raise ModelFileError(
            f"{source}: unknown calibration method {method!r}; legal methods are {list(METHODS)}"
        )
    params = state.get("params", {})
    if not isinstance(params, Mapping):
        raise ModelFileError(f"{source}: 'params' must be an object, got {type(params).__name__}")
    need = {"platt": ("slope", "intercept"), "isotonic": ("x", "y"), "none": ()}[method]
    missing = [k for k in need if k not in params]
    if missing:
        raise ModelFileError(f"{source}: {method} calibration lacks parameter(s) {missing}")
    if method == "platt":
        vals = [params["slope"], params["intercept"]]
        if not all(_finite_number(v) for v in vals):
            raise ModelFileError(
                f"{source}: Platt slope and intercept must be finite numbers, got {vals}"
            )
        clean: dict[str, Any] = {"slope": float(vals[0]), "intercept": float(vals[1])}
    elif method == "isotonic":
        try:
            x = np.asarray(params["x"], dtype=float)
            y = np.asarray(params["y"], dtype=float)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ModelFileError(
                f"{source}: isotonic thresholds must be lists of numbers ({exc})"
            ) from exc
        problems = []
        if x.ndim != 1 or x.shape != y.shape or x.size == 0:
            problems.append(
                f"x and y must be non-empty lists of equal length (got {x.shape} and {y.shape})"
            )
        elif not (np.isfinite(x).all() and np.isfinite(y).all()):
            problems.append("x and y must be finite")
        else:
            if np.any(np.diff(x) < 0):
                problems.append("x must be non-decreasing")
            if np.any(np.diff(y) < 0) or y.min() < 0 or y.max() > 1:
                problems.append("y must be non-decreasing and within [0, 1]")
        if problems:
            raise ModelFileError(
                f"{source}: malformed isotonic calibration: " + "; ".join(problems)
            )
        clean = {"x": x.tolist(), "y": y.tolist()}
    else:
        clean = {}
    counts = {key: state.get(key, 0) for key in ("n_samples", "n_positive")}
    bad = {k: v for k, v in counts.items() if not _count(v)}
    if bad or counts["n_positive"] > counts["n_samples"]:
        raise ModelFileError(
            f"{source}: n_samples and n_positive must be counts (ints >= 0, n_positive <= "
            f"n_samples); got {counts}"
        )
    return {
        "method": method,
        "params": clean,
        "n_samples": counts["n_samples"],
        "n_positive": counts["n_positive"],
        "fitted_on": str(state.get("fitted_on", "unknown")),
    }


def write_state(folder: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` as ``folder/calibration.json`` (atomically); return the path.

    When ``folder`` holds a saved model (``model.json``), the file records the
    sha256 of its weights, so that a calibration left beside other weights is
    refused on load (:func:`flarecast.training.folder.check_companions`).
    """
    from flarecast.training.folder import WEIGHTS_KEY, weights_sha256

    folder = Path(folder)
    path = folder / CALIBRATION_FILE
    state = dict(state)
    if (folder / "model.json").is_file():
        state[WEIGHTS_KEY] = weights_sha256(folder)
    write_json(path, state)
    return path


def read_state(
    folder: str | Path, *, missing_ok: bool = False
) -> tuple[Path, Mapping[str, Any]] | None:
    """The path and JSON state of ``folder/calibration.json``, unchecked beyond its format tag.

    Returns None when the file is absent and ``missing_ok``.

    Raises
    ------
    ModelFileError
        When the file is absent (unless ``missing_ok``), too large, not JSON,
        or not a flarecast calibration file.
    """
    path = Path(folder) / CALIBRATION_FILE
    if not path.is_file():
        if missing_ok:
            return None
        raise ModelFileError(
            f"{path} does not exist: this model folder has no calibrator; fit one on the validation split "
            "with fit_calibrator and save_calibrator (flarecast train --calibration platt|isotonic)"
        )
    size = path.stat().st_size
    if size > _MAX_BYTES:  # a real one is a few kB: do not read a planted huge file
        raise ModelFileError(f"{path} is {size} bytes; a calibration file is at most {_MAX_BYTES}")
    try:
        state = read_json(path, error=ModelFileError)
    except (OSError, ModelFileError) as exc:
        raise ModelFileError(f"cannot read calibration JSON: {exc}") from exc
    if not isinstance(state, Mapping) or state.get("format", FORMAT) != FORMAT:
        raise ModelFileError(
            f"{path}: not a flarecast calibration file (format {FORMAT!r} expected)"
        )
    return path, state
