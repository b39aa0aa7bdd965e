"""What a labelled table holds, compactly: its regions and its flares.

A model folder records this for its training table (``model.json``, ``data.regions`` and
``data.flares``), so that scoring the model on another table can say how much of that table
the model has already seen (:func:`flarecast.evaluation.score.training_overlap`): the same
flares at another lead time share no rows and no checksum with the training table, but they
share regions and flares.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from flarecast.data.schema import GOES_CLASS, NOAA_AR

__all__ = ["table_footprint"]


def table_footprint(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """The regions and flares of a labelled table, as a model folder records its training table.

    Returns
    -------
    dict
        ``regions``: sorted distinct region numbers (int); ``flares``: sorted distinct
        ``"REGION CLASS"`` texts of the rows labelled with a flare (not "N"), e.g.
        ``"11158 X2.2"``. A flare is named by its region and GOES class, not its time, so the
        same flare seen at another lead time (another snapshot time) is recognised.
    """
    regions = pd.to_numeric(frame[NOAA_AR], errors="coerce").dropna().astype("int64")
    flares: list[str] = []
    if GOES_CLASS in frame.columns:
        labelled = frame[GOES_CLASS].astype("string")
        flaring = labelled.notna() & (labelled != "N") & frame[NOAA_AR].notna()
        keys = (
            pd.to_numeric(frame.loc[flaring, NOAA_AR]).astype("int64").astype(str)
            + " "
            + labelled[flaring].astype(str)
        )
        flares = sorted(set(keys.tolist()))
    return {"regions": sorted({int(r) for r in regions}), "flares": flares}
