"""Step 1 of a retrain: label the SHARP series with the new catalogue, with the base model's label window.

The window (event time, horizon, latency) must be the one the base model was
trained with, or the comparison mixes two questions. It is taken from the
caller's options, else from what the base model folder records
(:func:`recorded_labelling`: an earlier retrain's lineage, a structured
``data.labelling``, or the ``data.window`` text that ``flarecast train``
copies from a labelled table), else from :data:`DEFAULT_LABELLING`, and the
retrain says which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from flarecast.errors import ModelFileError

__all__ = [
    "DEFAULT_LABELLING",
    "label_recipe",
    "recipe_from_window",
    "recorded_labelling",
    "choose_labelling",
    "relabel",
]

#: Label window used when neither the caller nor the base model folder gives one.
DEFAULT_LABELLING = {"horizon": "24h", "latency": "0h", "event_time": "peak"}

# The window texts written by flarecast.labels (flarecast label), the hollanda-2019 reader and the
# SYNTHETIC demo table, in that order.
_LABEL_WINDOW = re.compile(
    r"with (?P<event>peak|start) time in \(t \+ (?P<lo>\d+(?:\.\d+)?)h, t \+ (?P<hi>\d+(?:\.\d+)?)h\]"
)
_HOLLANDA_WINDOW = re.compile(r"starting in \(T_REC(?:\+(?P<lo>\d+)h)?, T_REC\+(?P<hi>\d+)h\]")
_DEMO_WINDOW = re.compile(r"with peak in \(t, t \+ (?P<hi>\d+(?:\.\d+)?) h\]")


def _hours(value: float) -> str:
    return f"{value:g}h"


def recipe_from_window(window: str) -> dict[str, str] | None:
    """``horizon``, ``latency``, ``event_time`` from a data set's label-window text, or None.

    Parameters
    ----------
    window : str
        :attr:`flarecast.data.schema.Dataset.window`, as stored in ``model.json["data"]["window"]``.

    Returns
    -------
    dict or None
        None when the text is not one of the windows flarecast writes.
    """
    for pattern, event in (
        (_LABEL_WINDOW, None),
        (_HOLLANDA_WINDOW, "start"),
        (_DEMO_WINDOW, "peak"),
    ):
        m = pattern.search(window or "")
        if m:
            lo = float(m.groupdict().get("lo") or 0)
            hi = float(m.group("hi"))
            return {
                "horizon": _hours(hi - lo),
                "latency": _hours(lo),
                "event_time": event or m.group("event"),
            }
    return None


def label_recipe(attrs: Mapping[str, Any]) -> dict[str, str] | None:
    """The label recipe of a labelled table (its ``attrs`` from :func:`flarecast.labels.labelled_table`).

    JSON-ready, for a model folder: ``horizon``, ``latency``, ``event_time``
    and, when known, ``catalogue`` and ``catalogue_sha256``. None when the
    table carries no recipe.
    """
    if not all(attrs.get(k) for k in DEFAULT_LABELLING):
        return None
    recipe = {k: str(attrs[k]) for k in DEFAULT_LABELLING}
    if attrs.get("catalogue_source"):
        recipe["catalogue"] = str(attrs["catalogue_source"])
    if attrs.get("catalogue_sha256"):
        recipe["catalogue_sha256"] = str(attrs["catalogue_sha256"])
    return recipe


def recorded_labelling(meta: Mapping[str, Any]) -> tuple[dict[str, str], str]:
    """The base model's label window as its ``model.json`` records it, and where it was found.

    Returns
    -------
    labelling : dict
        ``horizon``, ``latency``, ``event_time`` (empty when not recorded).
    source : str
        "lineage", "data.labelling", "data.window" or "" (not recorded).
    """
    extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
    data = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    lineage = extra.get("lineage") if isinstance(extra.get("lineage"), dict) else {}
    for source, recorded in (
        ("lineage", lineage.get("labelling")),
        ("data.labelling", data.get("labelling")),
    ):
        if isinstance(recorded, dict):
            found = {k: str(v) for k, v in recorded.items() if k in DEFAULT_LABELLING}
            if found:
                return found, source
    parsed = recipe_from_window(str(data.get("window") or ""))
    return (parsed, "data.window") if parsed else ({}, "")


def choose_labelling(
    recorded: Mapping[str, str], recorded_from: str, options: Mapping[str, str | None]
) -> tuple[dict[str, str], dict[str, str]]:
    """Each label setting from the options, else the base model's record, else the default.

    Parameters
    ----------
    recorded, recorded_from
        What :func:`recorded_labelling` returned.
    options : mapping
        ``horizon``, ``latency``, ``event_time`` given by the caller (None: not given).

    Returns
    -------
    labelling : dict
        ``horizon``, ``latency``, ``event_time``.
    source : dict
        For each: "option", "base model (<where>)" or "default".
    """
    labelling, source = {}, {}
    for key, default in DEFAULT_LABELLING.items():
        given = options.get(key)
        if given is not None:
            labelling[key], source[key] = given, "option"
        elif key in recorded:
            labelling[key], source[key] = recorded[key], f"base model ({recorded_from})"
        else:
            labelling[key], source[key] = default, "default"
    return labelling, source


def relabel(
    series: pd.DataFrame,
    events: pd.DataFrame,
    labelling: Mapping[str, str],
    *,
    features: tuple[str, ...],
    history: str | None,
    base_folder: Any,
    quality_zero: bool,
    max_abs_lon: float | None,
    harp_map: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Filter ``series`` and label it with ``events``: the cleaned series and the labelled table.

    Raises
    ------
    ModelFileError
        When the labelled table lacks one of the base model's ``features``.
    """
    from flarecast.data.sharp.series import clean_series
    from flarecast.labels import labelled_table

    cleaned = clean_series(series, max_abs_lon=max_abs_lon, quality_zero=quality_zero, keywords=())
    table = labelled_table(
        cleaned,
        events,
        horizon=labelling["horizon"],
        latency=labelling["latency"],
        event_time=labelling["event_time"],
        history=history,
        harp_map=harp_map,
    )
    missing = [f for f in features if f not in table.columns]
    if missing:
        raise ModelFileError(
            f"{base_folder}: the base model uses feature(s) {missing}, which the labelled series "
            f"({series.attrs.get('source', 'SHARP series')}) lacks; it has {table.attrs['features']}. "
            "Retrain needs a series with every base-model feature."
        )
    return cleaned, table
