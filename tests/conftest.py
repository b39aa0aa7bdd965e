"""Shared fixtures: a fixed seed, and the real data sets through $FLARECAST_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def seed() -> int:
    return 12345


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real data (../shared/data); tests using it skip when it is not configured."""
    value = os.environ.get("FLARECAST_DATA_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("FLARECAST_DATA_DIR is not set to the shared data folder")
    return Path(value)


@pytest.fixture
def table_missing_one_cell(tmp_path: Path) -> Path:
    """The demo table as a CSV with one feature cell (row 3, USFLUX) empty: one row to drop."""
    from flarecast.data.tables.read import load_dataset

    frame = load_dataset("demo").frame.copy()
    frame["USFLUX"] = frame["USFLUX"].astype(float)
    frame.loc[3, "USFLUX"] = np.nan
    table = tmp_path / "t.csv"
    frame.to_csv(table, index=False)
    return table
