"""Where a retrained model came from: the base model, catalogue, SHARP series, labels, hold-out and split.

:class:`Lineage` is stored in the new model's sidecar (``extra.lineage``) and
in ``comparison.json``; a later retrain of the new model reads its label
window back from it. :func:`training_dataset` describes the new model's
training rows for the sidecar's ``data`` block.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pandas as pd

from flarecast.retrain.base import BaseModel

__all__ = [
    "Lineage",
    "content_sha256",
    "base_model_lineage",
    "catalogue_lineage",
    "series_lineage",
    "training_dataset",
]


@dataclasses.dataclass(frozen=True)
class Lineage:
    """JSON-ready provenance of a retrained model, one mapping per ingredient.

    Attributes
    ----------
    base_model : dict
        id, folder, weights sha256, class definition, training data and cut-off.
    catalogue : dict
        source, format, sha256 (of the files, or of the table for a generated one), event counts, coverage.
    sharp_series : dict
        source, sha256, records, rows dropped by each filter.
    labelling : dict
        horizon, latency, event_time, history, window, and ``source`` of each setting.
    holdout : dict
        What :func:`flarecast.retrain.holdout.holdout_split` reports (start, end, rule, gap, counts).
    split : dict
        The inner validation split of the training rows.
    synthetic : bool
        True when the series or the catalogue is SYNTHETIC.
    """

    base_model: dict[str, Any]
    catalogue: dict[str, Any]
    sharp_series: dict[str, Any]
    labelling: dict[str, Any]
    holdout: dict[str, Any]
    split: dict[str, Any]
    synthetic: bool

    def to_dict(self) -> dict[str, Any]:
        """The lineage as one JSON-ready mapping (the keys of the attributes)."""
        return dataclasses.asdict(self)


def content_sha256(frame: pd.DataFrame) -> str:
    """sha256 of a table's contents (values and column names, not the index): an id for generated tables."""
    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    h.update("\x1f".join(map(str, frame.columns)).encode())
    return h.hexdigest()


def base_model_lineage(base: BaseModel) -> dict[str, Any]:
    """The base model's identity and training data, from its sidecar."""
    data = base.sidecar.get("data") or {}
    return {
        "id": base.model_id,
        "folder": str(base.folder),
        "weights_sha256": base.sidecar["weights"]["sha256"],
        "created": base.sidecar.get("created"),
        "class_definition": base.sidecar.get("class_definition"),
        "trained_on": data.get("name"),
        "trained_on_sha256": data.get("sha256"),
        "window": data.get("window"),
        "training_cutoff": base.training_cutoff.isoformat()
        if base.training_cutoff is not None
        else None,
    }


def catalogue_lineage(attrs: dict[str, Any], events: pd.DataFrame) -> dict[str, Any]:
    """The catalogue as the labelled table's ``attrs`` describe it, with a sha256 either way."""
    events_sha = events.attrs.get("sha256") or None
    return {
        "source": attrs["catalogue_source"],
        "format": attrs["catalogue_format"],
        "sha256": events_sha or content_sha256(events),
        "sha256_of": "file(s)" if events_sha else "table contents (generated catalogue)",
        "events": attrs["catalogue_events"],
        "malformed_rows_skipped": attrs["catalogue_bad_rows"],
        "duplicates_removed": attrs["catalogue_duplicates_removed"],
        "flux_scaling": attrs["catalogue_flux_scaling"],
        "coverage": [attrs["coverage_start"], attrs["coverage_end"]],
    }


def series_lineage(
    attrs: dict[str, Any], series: pd.DataFrame, cleaned: pd.DataFrame
) -> dict[str, Any]:
    """The SHARP series and the rows each filter and the labelling dropped."""
    return {
        "source": attrs["sharp_source"],
        "sha256": attrs["sharp_sha256"] or content_sha256(series),
        "records": int(len(series)),
        "dropped": cleaned.attrs.get("dropped", {}),
        "dropped_unknown_label": attrs["dropped_unknown_label"],
        "dropped_missing_feature": attrs["dropped_missing_feature"],
    }


def training_dataset(
    table: pd.DataFrame, features: tuple[str, ...], train_end: pd.Timestamp
) -> Any:
    """The relabelled rows before ``train_end`` as a :class:`~flarecast.data.schema.Dataset`."""
    from flarecast.data.schema import PEAK_FLUX, TIME, Dataset

    train_table = table[table[TIME] < train_end].reset_index(drop=True)
    a = table.attrs
    return Dataset(
        frame=train_table,
        name=f"{a['sharp_source']} labelled with {a['catalogue_source']}, records before {train_end.isoformat()}",
        features=features,
        synthetic=bool(a.get("synthetic")),
        sha256=content_sha256(train_table),
        window=a["window"],
        flaring_only=bool((train_table[PEAK_FLUX] > 0).all()),
        notes=(
            f"relabelled by flarecast retrain from {a['sharp_source']} and {a['catalogue_source']}",
        ),
    )
