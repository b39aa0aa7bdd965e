"""The sequence row on the Michigan tables: windows of each flare's own earlier snapshots only."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flarecast.data.schema import NOAA_AR, PEAK_FLUX, TIME
from flarecast.data.synthetic import demo_dataset
from flarecast.errors import SchemaError
from flarecast.evaluation.methods import SEQUENCE, WINDOW_COLUMNS, augmented_methods
from flarecast.evaluation.protocol import Protocol
from flarecast.features.snapshots import snapshot_columns, umich_snapshots
from flarecast.features.transforms import FeatureTransformer
from flarecast.models.sequence import make_windows
from flarecast.training.inputs import network_inputs

DATA = Path(os.environ.get("FLARECAST_DATA_DIR", "../shared/data"))
FEATURES = ("USFLUX", "TOTUSJH", "MEANPOT")
SNAPS = snapshot_columns(FEATURES, 2)
T0 = pd.Timestamp("2014-03-01", tz="UTC")
NETWORK = {"max_epochs": 2, "hidden": [4], "patience": 1}
# (name, region, peak hours after T0, peak flux, leads with a snapshot). A's flare peaks 14 h
# after B's forecast time (B's 24 h snapshot), so A's 24 h row, the row before B's in the
# region's part of the 24 h file, exists only because of that later flare.
FLARES = [
    ("A", 11, 100, 2e-5, (12, 24, 36, 48)),
    ("B", 11, 110, 3e-6, (12, 24, 36, 48)),
    ("C", 11, 200, 1e-6, (12, 24, 48)),  # no 36 h snapshot: the 48 h one is its lag 1
    ("D", 12, 105, 5e-6, (12, 24)),  # no earlier snapshot at all
    ("E", 12, 130, 1e-4, (12, 24, 36, 48)),
]


def _tables(scale: dict[str, float] | None = None) -> dict[int, pd.DataFrame]:
    """One shuffled table per lead; ``scale`` multiplies a flare's features in every table."""
    rng = np.random.default_rng(0)
    tables = {}
    for lead in (12, 24, 36, 48):
        rows = []
        for name, region, peak, flux, leads in FLARES:
            values = rng.lognormal(3, 1, len(FEATURES)) * (scale or {}).get(name, 1.0)
            if lead in leads:
                time = T0 + pd.Timedelta(hours=peak - lead)
                row = {"flare": name, TIME: time, NOAA_AR: region, PEAK_FLUX: flux}
                rows.append(row | dict(zip(FEATURES, values, strict=True)))
        tables[lead] = pd.DataFrame(rows).sample(frac=1.0, random_state=lead, ignore_index=True)
    return tables


def _row(table: pd.DataFrame, flare: str) -> pd.Series:
    return table.loc[table["flare"] == flare, list(FEATURES)].iloc[0]


def _windows(X: pd.DataFrame, transformer: FeatureTransformer) -> tuple[np.ndarray, np.ndarray]:
    windows, mask = network_inputs(X, X[list(FEATURES)].to_numpy(), "sequence", 3, transformer)
    return windows.numpy(), mask.numpy()


def test_snapshots_are_the_flares_own_earlier_ones_never_later_or_other_flares():
    tables = _tables()
    snaps = umich_snapshots(tables, 24, FEATURES)
    target = tables[24]
    assert list(snaps.columns) == SNAPS and snaps.index.equals(target.index)
    by_flare = snaps.set_index(target["flare"])
    lag1, lag2 = SNAPS[: len(FEATURES)], SNAPS[len(FEATURES) :]
    for name in ("A", "B", "E"):
        np.testing.assert_array_equal(by_flare.loc[name, lag1], _row(tables[36], name))
        np.testing.assert_array_equal(by_flare.loc[name, lag2], _row(tables[48], name))
    np.testing.assert_array_equal(by_flare.loc["C", lag1], _row(tables[48], "C"))
    assert by_flare.loc["C", lag2].isna().all() and by_flare.loc["D"].isna().all()
    # The 12 h snapshots are taken after the forecast time: never read, whatever they hold.
    later = dict(tables)
    later[12] = tables[12].assign(**{f: 1e30 for f in FEATURES})
    pd.testing.assert_frame_equal(umich_snapshots(later, 24, FEATURES), snaps)
    # Every other flare's snapshots scaled: B's columns stay; its own scaled: they move.
    others = _tables({n: 7.0 for n in "ACDE"})
    again = umich_snapshots(others, 24, FEATURES).set_index(others[24]["flare"])
    pd.testing.assert_series_equal(again.loc["B"], by_flare.loc["B"])
    assert not again.loc["A"].equals(by_flare.loc["A"])
    mine = umich_snapshots(_tables({"B": 7.0}), 24, FEATURES).set_index(target["flare"])
    np.testing.assert_allclose(mine.loc["B"], 7.0 * by_flare.loc["B"])


def test_gru_windows_hold_only_the_rows_own_snapshots_where_neighbouring_rows_would_leak():
    tables = _tables()
    target = tables[24]
    X = pd.concat(
        [target[[TIME, NOAA_AR, *FEATURES]], umich_snapshots(tables, 24, FEATURES)], axis=1
    )
    transformer = FeatureTransformer(feature_names=list(FEATURES)).fit(X[list(FEATURES)])
    windows, mask = _windows(X, transformer)
    row = {name: int(np.flatnonzero(target["flare"] == name)[0]) for name in "ABCDE"}
    scaled = {
        lead: transformer.transform(t[list(FEATURES)].to_numpy()) for lead, t in tables.items()
    }

    def at(lead: int, name: str) -> np.ndarray:
        return scaled[lead][np.flatnonzero(tables[lead]["flare"] == name)[0]].astype(np.float32)

    b = row["B"]
    np.testing.assert_array_equal(mask[b], [True, True, True])
    np.testing.assert_array_equal(windows[b], [at(48, "B"), at(36, "B"), at(24, "B")])
    np.testing.assert_array_equal(mask[row["C"]], [False, True, True])
    np.testing.assert_array_equal(windows[row["C"], 1], at(48, "C"))
    np.testing.assert_array_equal(mask[row["D"]], [False, False, True])
    assert not windows[row["D"], :2].any()  # masked slots hold zeros, not a filled value
    # The neighbouring-rows route would put A's 24 h row, which exists because of a flare 14 h
    # after B's forecast time, into B's window: this case can fail.
    old, old_mask = make_windows(
        transformer.transform(X[list(FEATURES)].to_numpy()), X[NOAA_AR], X[TIME], 3
    )
    assert old_mask[b, 1] and np.array_equal(old[b, 1], at(24, "A"))
    assert not any(np.array_equal(step, at(24, "A")) for step in windows[b])
    # Without A's row, or with the region and time columns gone, B's window is the same.
    without_a = X.drop(index=row["A"])
    alone, _ = _windows(without_a, transformer)
    np.testing.assert_array_equal(alone[without_a.index.get_loc(b)], windows[b])
    bare, bare_mask = _windows(X.drop(columns=[TIME, NOAA_AR]), transformer)
    np.testing.assert_array_equal(bare, windows)
    np.testing.assert_array_equal(bare_mask, mask)
    with pytest.raises(SchemaError, match="lacks"):
        _windows(X.drop(columns=SNAPS[-1]), transformer)


def _snapshot_frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.lognormal(3, 1, (n, 3 * len(FEATURES))), columns=[*FEATURES, *SNAPS])
    frame.loc[rng.random(n) < 0.2, SNAPS] = np.nan  # no earlier snapshot
    frame.loc[rng.random(n) < 0.2, SNAPS[len(FEATURES) :]] = np.nan  # one only
    y = (np.log(frame["USFLUX"]) + rng.normal(size=n) > 3.5).astype(int).to_numpy()
    return frame, y


def test_sequence_row_reads_its_own_snapshots_and_fits_the_transform_on_fit_rows():
    registry, rows, pairs = augmented_methods(
        ("logistic", "ce"), FEATURES, [("evolution", ["d"])], snapshots=SNAPS
    )
    assert rows[-1] == SEQUENCE
    assert {(SEQUENCE, "logistic+evolution"), (SEQUENCE, "ce")} <= set(pairs)
    protocol = Protocol(methods=rows, seeds=1, network=NETWORK)
    assert all(not set(SNAPS) & set(registry[m].factory(protocol, 0).columns) for m in rows[:-1])
    frame, y = _snapshot_frame()
    model = registry[SEQUENCE].factory(protocol, 0)
    fit, val, test = frame.iloc[:250], frame.iloc[250:300], frame.iloc[300:].reset_index(drop=True)
    model.fit(fit, y[:250], validation=(val, y[250:300]))
    assert list(model.fill_.index) == list(FEATURES)  # snapshots are masked, never filled
    net = model.estimator
    assert list(net.feature_names_in_) == list(FEATURES)
    # One transform, fitted on the fit rows' own snapshots, scales the earlier ones too.
    alone = FeatureTransformer(feature_names=list(FEATURES)).fit(fit[list(FEATURES)].to_numpy())
    np.testing.assert_array_equal(net.transformer_.mean_, alone.mean_)
    np.testing.assert_array_equal(net.transformer_.scale_, alone.scale_)
    p = model.predict_proba(test)[:, 1]
    i = int(np.flatnonzero(test[SNAPS].notna().all(axis=1))[0])
    others = test.copy()
    others.loc[others.index != i, [*FEATURES, *SNAPS]] *= 3.0
    assert model.predict_proba(others)[i, 1] == p[i]
    own = test.copy()
    own.loc[i, SNAPS[: len(FEATURES)]] *= 3.0
    assert model.predict_proba(own)[i, 1] != p[i]  # the window does read the row's snapshots


def test_region_series_gru_keeps_its_neighbouring_records_route():
    registry, rows, _ = augmented_methods(("logistic", "ce"), FEATURES, [], sequence=True)
    view = registry[SEQUENCE].factory(Protocol(methods=rows, seeds=1), 0)
    assert registry[SEQUENCE].label == "GRU over the last 3 records (CE)"
    assert view.columns == [*FEATURES, *WINDOW_COLUMNS] and view.unfilled == []
    assert view.estimator.features is None and view.estimator.window == 3
    data = demo_dataset(seed=5, n_regions=30, days=20)
    frame, features = data.frame, list(data.features)
    transformer = FeatureTransformer(feature_names=features).fit(frame[features])
    Z = transformer.transform(frame[features].to_numpy())
    windows, mask = network_inputs(frame, frame[features].to_numpy(), "sequence", 3, transformer)
    old, old_mask = make_windows(Z, frame[NOAA_AR], frame[TIME], 3)
    np.testing.assert_array_equal(windows.numpy(), old)
    np.testing.assert_array_equal(mask.numpy(), old_mask)
    assert old_mask[:, 0].any()  # the demo's regions do have histories here


@pytest.mark.skipif(not (DATA / "umich_arflares").is_dir(), reason="needs the umich data")
def test_umich_24h_evolution_has_the_sequence_row_and_its_pairs():
    from flarecast.data.tables.read import load_dataset
    from flarecast.evaluation.methods import augmented_run

    data = load_dataset("umich-24h", data_dir=DATA)
    protocol = Protocol(seeds=1, network=NETWORK)
    run = augmented_run(data, protocol, evolution=True, data_dir=DATA)
    assert run.protocol.methods[-1] == SEQUENCE and SEQUENCE not in protocol.methods
    assert {(SEQUENCE, "logistic+evolution"), (SEQUENCE, "ce")} <= set(run.pairs)
    snaps = snapshot_columns(data.features, 2)
    assert run.additions[0].snapshots == tuple(snaps)
    assert tuple(run.data.features[-len(snaps) :]) == tuple(snaps)
    view = run.registry[SEQUENCE].factory(run.protocol, 0)
    assert view.columns == [*data.features, *snaps] and view.unfilled == snaps
    assert tuple(view.estimator.features) == tuple(data.features)
    for name in run.protocol.methods[:-1]:
        assert not set(snaps) & set(run.registry[name].factory(run.protocol, 0).columns)
    # A 24 h row's lag-1 snapshot is its own flare's 36 h row: same region and flux, 12 h
    # earlier (within a record step).
    other = load_dataset("umich-36h", data_dir=DATA).frame
    lag1 = [f"{f}_snap1" for f in data.features]
    checked = 0
    for _, row in run.targets.frame.head(40).iterrows():
        match = other[
            (other[NOAA_AR] == row[NOAA_AR])
            & (other[PEAK_FLUX] == row[PEAK_FLUX])
            & ((other[TIME] - (row[TIME] - pd.Timedelta("12h"))).abs() <= pd.Timedelta("12min"))
        ]
        if len(match) == 1:
            own = match[list(data.features)].iloc[0].to_numpy(float)
            np.testing.assert_array_equal(row[lag1].to_numpy(float), own)
            checked += 1
    assert checked >= 20
    # The row fits and predicts on the real table, missing snapshots included.
    X = run.targets.frame[list(run.data.features)]
    assert X[snaps].isna().any(axis=None)
    y, groups = run.targets.y.astype(int), run.targets.groups
    fit = np.isin(groups, np.unique(groups)[::2])
    view.fit(X[fit], y[fit], groups=groups[fit])
    p = view.predict_proba(X[~fit])[:, 1]
    assert np.isfinite(p).all() and p.std() > 0
