"""Dask scale-out: labelling and sweeps on a real 2-worker LocalCluster equal the single-process path.

The cluster is ``dask.distributed.LocalCluster`` with two single-threaded
worker *processes* on 127.0.0.1, started once for the module. Every
comparison is exact: the same rows, values, dtypes, index and ``attrs``.
"""

from __future__ import annotations

import importlib
import socket
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from flarecast.cli import main
from flarecast.data.synthetic import demo_catalogue, demo_dataset, demo_sharp_series
from flarecast.errors import ConfigError, SchemaError
from flarecast.evaluation.fits import FitQueue, run_protocol
from flarecast.evaluation.importance import ImportanceCollector
from flarecast.evaluation.protocol import Protocol, make_folds
from flarecast.evaluation.tune import TuneConfig, tune_focal
from flarecast.labels import label_records, labelled_table
from flarecast.partitions import label_in_partitions, region_partitions
from flarecast.scaleout.dask import DaskExecutor, dask_executor, make_client
from flarecast.targets import make_targets

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    """``--scheduler processes`` with 2 workers: a LocalCluster of 2 single-threaded processes on 127.0.0.1."""
    with make_client("processes", n_workers=2) as c:
        assert isinstance(c.cluster, distributed.LocalCluster) and sorted(
            c.nthreads().values()
        ) == [1, 1]
        assert all(address.startswith("tcp://127.0.0.1:") for address in c.nthreads())
        # Each worker imports torch and the estimators while the labelling tests run, so the sweep tests
        # do not wait for it (seconds on a busy machine). The futures are held until the module ends.
        warm = [
            c.submit(
                importlib.import_module, "flarecast.training.estimator", pure=False, workers=[w]
            )
            for w in c.nthreads()
        ]
        yield c
        del warm


@pytest.fixture(scope="module")
def address(client):
    """The scheduler's address, as a user passes it: --scheduler tcp://127.0.0.1:PORT."""
    return client.scheduler.address


# -- scheduler names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["threads", "http://127.0.0.1:8786", "", 3])
def test_make_client_rejects_unknown_schedulers(bad):
    with (
        pytest.raises(ConfigError, match="'scheduler' parameter must be .*'local', 'processes'"),
        make_client(bad),
    ):
        pass


def test_make_client_reports_an_unreachable_scheduler():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        ConfigError, match=rf"No Dask scheduler answered at tcp://127.0.0.1:{port}.*dask scheduler"
    ):
        with make_client(f"tcp://127.0.0.1:{port}", timeout="1s"):
            pass


def test_make_client_connects_to_an_address_and_passes_clients_through(client, address):
    with make_client(address) as c:
        assert c is not client and c.scheduler.address == address
        assert sorted(c.nthreads().values()) == [1, 1]
    with make_client(client) as c:
        assert c is client
    assert client.status == "running"  # a caller's client is left open


def test_started_workers_keep_malloc_defaults_and_do_not_profile(client):
    # Dask's MALLOC_TRIM_THRESHOLD_=65536 doubled the CPU time of a network fit (flarecast.scaleout.dask).
    def settings():
        import os

        import dask

        return (
            os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            dask.config.get("distributed.worker.profile.enabled"),
            os.environ.get("OMP_NUM_THREADS"),
            dask.config.get("distributed.admin.system-monitor.interval"),
        )

    assert set(client.run(settings).values()) == {(None, False, "1", "2s")}


def test_make_client_local_threads():
    with make_client("local", n_workers=2) as c:
        assert list(c.nthreads().values()) == [2]  # one worker, two threads, in this process
        assert c.submit(sum, [1, 2, 3]).result() == 6


# -- region partitions -------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.one_of(st.integers(11000, 11030), st.none()), min_size=0, max_size=300),
    st.integers(1, 8),
    st.sampled_from([1.0, 0.5, 1e9]),
)
def test_region_partitions_never_split_a_region(values, n_parts, scale):
    # scale 1: region numbers (counted with a bincount); 0.5 and 1e9: the general path (a sort)
    keys = np.array([np.nan if v is None else float(v) * scale for v in values])
    part, bounds = region_partitions(keys, n_parts)
    assert part.shape == keys.shape
    if not len(keys):
        assert bounds.tolist() == [-np.inf, np.inf]  # one empty partition that needs no flares
        return
    used = np.unique(part)
    assert len(bounds) == len(used) + 1 and np.array_equal(
        used, np.arange(len(used))
    )  # no empty partition
    assert len(used) <= n_parts and np.all(bounds[1:] >= bounds[:-1])
    frame = pd.DataFrame({"key": keys, "part": part})
    assert (frame.dropna().groupby("key")["part"].nunique() == 1).all()
    assert frame.loc[frame["key"].isna(), "part"].nunique() <= 1
    for p in used:  # the bounds say where each partition's flares are
        k = keys[(part == p) & ~np.isnan(keys)]
        assert np.all((k >= bounds[p]) & (k < bounds[p + 1]))
    if len(
        keys
    ):  # balanced up to one region: no partition exceeds its share by more than the largest region
        largest = frame.groupby(frame["key"].fillna(-1))["part"].size().max()
        assert np.bincount(part).max() <= len(keys) / len(used) + largest


def test_region_partitions_rejects_bad_counts():
    with pytest.raises(
        ConfigError, match=r"'partitions' parameter must be an int in \[1, 32767\]. Got 0"
    ):
        region_partitions(np.array([1.0]), 0)


# -- labelling ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def records_and_events():
    """SYNTHETIC demo series, shuffled, with a non-default index, some records without a region,
    and a catalogue with region-less events and a NaN-free flux column."""
    rng = np.random.default_rng(7)
    records = demo_sharp_series(seed=4, n_regions=80, days=60)
    records = records.sample(frac=1.0, random_state=3)  # any order: the result keeps it
    records.index = rng.permutation(len(records)) * 3 + 100
    no_region = rng.random(len(records)) < 0.03
    records.loc[no_region, "noaa_ar"] = pd.NA
    records.attrs = {"source": "demo (shuffled)", "note": "kept"}
    events = demo_catalogue(seed=4, n_regions=80, days=60)
    events.loc[events.sample(frac=0.1, random_state=1).index, "noaa_ar"] = pd.NA
    return records, events


def assert_same(single: pd.DataFrame, dask: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(single, dask, check_exact=True)
    assert single.attrs == dask.attrs


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"history": "24h", "unknown": "drop", "horizon": "48h"},
        {"event_time": "start", "latency": "6h", "partitions": 5},
    ],
)
def test_labels_equal_single_process_row_for_row(client, records_and_events, options):
    records, events = records_and_events
    single = label_records(
        records, events, **{k: v for k, v in options.items() if k != "partitions"}
    )
    if "partitions" in options:
        dask = label_in_partitions(
            label_records, records, events, executor=DaskExecutor(client), **options
        )
    else:
        dask = label_records(records, events, executor=DaskExecutor(client), **options)
    assert_same(single, dask)
    assert (
        dask.attrs["records_without_region"] > 0
        and dask["goes_class"].str[0].isin(["M", "X"]).any()
    )
    if options.get("unknown") == "drop":
        assert dask.attrs["unknown_labels_dropped"] > 0 and len(dask) < len(records)


def test_labels_equal_through_a_scheduler_address(address, records_and_events):
    records, events = records_and_events
    with dask_executor(address) as executor:
        assert executor.workers == 2
        assert_same(
            label_records(records, events), label_records(records, events, executor=executor)
        )


def test_labelled_table_by_harp_equal(client):
    series = demo_sharp_series(seed=5, n_regions=60, days=45)
    events = demo_catalogue(seed=5, n_regions=60, days=45)
    mapping = series[["harpnum", "noaa_ar"]].drop_duplicates().reset_index(drop=True)
    # One HARP spans two regions, so partitions must follow HARPs, not regions.
    first, second = mapping.iloc[0], mapping.iloc[1]
    mapping = pd.concat(
        [mapping, pd.DataFrame({"harpnum": [first["harpnum"]], "noaa_ar": [second["noaa_ar"]]})],
        ignore_index=True,
    ).astype({"harpnum": "Int64", "noaa_ar": "Int64"})
    single = labelled_table(series, events, history="24h", harp_map=mapping)
    dask = labelled_table(
        series, events, history="24h", harp_map=mapping, executor=DaskExecutor(client)
    )
    assert_same(single, dask)
    assert single.attrs["key"] == "harpnum" and len(single) > 1000


def test_real_catalogue_and_series_equal(client, data_dir):
    """hollanda-2019 SHARP records against the real NCEI list (1996-2022), history feature on."""
    from flarecast.data.catalogues.read import read_catalogue
    from flarecast.data.sharp.series import read_sharp_series

    series = read_sharp_series("hollanda-2019", data_dir=data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 4 malformed rows are counted by the reader
        events = read_catalogue("ncei-1996-2022", data_dir=data_dir, on_bad_rows="skip")
    single = labelled_table(series, events, history="24h")
    dask = labelled_table(series, events, history="24h", executor=DaskExecutor(client))
    assert_same(single, dask)
    assert len(single) > 5000 and single["goes_class"].str[0].eq("X").any()


def test_labelling_errors_match_the_single_process_path(client, records_and_events):
    records, events = records_and_events
    with pytest.raises(ConfigError, match="'horizon' parameter must be a duration > 0"):
        label_records(records, events, horizon="0h", executor=DaskExecutor(client))
    bad = records.copy()
    bad.iloc[[4, 9], bad.columns.get_loc("time")] = pd.NaT
    with pytest.raises(SchemaError, match=r"missing times at rows \[4, 9\]"):
        label_records(bad, events, executor=DaskExecutor(client))


def test_cli_label_with_scheduler(tmp_path, address):
    runner = CliRunner()
    outs = {}
    for name, extra in (("single", []), ("dask", ["--scheduler", address])):
        outs[name] = tmp_path / f"{name}.parquet"
        result = runner.invoke(
            main,
            [
                "label",
                "--sharp",
                "demo",
                "--catalogue",
                "demo",
                "--history",
                "--out",
                str(outs[name]),
                *extra,
            ],
        )
        assert result.exit_code == 0, result.output
    single, dask = pd.read_parquet(outs["single"]), pd.read_parquet(outs["dask"])
    pd.testing.assert_frame_equal(single, dask, check_exact=True)
    assert len(single) > 10_000
    bad = runner.invoke(
        main,
        [
            "label",
            "--sharp",
            "demo",
            "--catalogue",
            "demo",
            "--scheduler",
            "threads",
            "--out",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert (
        bad.exit_code == 1
        and "'scheduler' parameter must be one of ['local', 'processes']" in bad.output
    )


# -- sweeps ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_targets():
    data = demo_dataset(seed=3, n_regions=120, days=120)
    return data, make_targets(data)


FAST = {"max_epochs": 8, "patience": 3, "hidden": [16]}


def test_reproduce_sweep_equals_sequential(client, small_targets):
    data, targets = small_targets
    protocol = Protocol(
        folds=2,
        seeds=2,
        methods=("climatology", "logistic", "gboost", "focal"),
        network=FAST,
        seed=4,
    )
    collectors, results, order = [], [], []
    for executor in (None, DaskExecutor(client)):
        collector = ImportanceCollector(
            targets.frame[list(data.features)].reset_index(drop=True),
            targets.y.astype(int),
            data.features,
            seed=4,
        )
        calls: list[tuple[int, str]] = []
        results.append(
            run_protocol(
                targets,
                data.features,
                protocol,
                on_fit=collector,
                executor=executor,
                progress=lambda fold, method, calls=calls: calls.append((fold, method)),
            )
        )
        collectors.append(collector)
        order.append(calls)
    single, dask = results
    pd.testing.assert_frame_equal(single.predictions, dask.predictions, check_exact=True)
    assert single.best_epochs == dask.best_epochs and len(single.best_epochs["focal"]) == 2
    assert order[0] == order[1] == [(f, m) for f in range(2) for m in protocol.methods]
    # on_fit received the fitted networks back from the workers: the same importance table.
    pd.testing.assert_frame_equal(collectors[0].table(), collectors[1].table(), check_exact=True)
    assert set(collectors[1].table()["method"]) == {"focal"}


def test_tune_sweep_equals_sequential(client, small_targets):
    data, targets = small_targets
    protocol = Protocol(folds=2, seeds=1, network=FAST, seed=1)
    config = TuneConfig(alphas=(0.25, 0.5, 0.75), gammas=(1.0, 2.0, 3.0))
    single = tune_focal(targets, data.features, protocol, config)
    dask = tune_focal(targets, data.features, protocol, config, executor=DaskExecutor(client))
    pd.testing.assert_frame_equal(single, dask, check_exact=True)
    assert len(dask) == 5 and dask["selected"].sum() == 1  # (best alpha, gamma 2) is trained once


def test_fit_queue_runs_a_fit_once(client, small_targets):
    data, targets = small_targets
    protocol = Protocol(folds=2, seeds=1, methods=("logistic",), network=FAST)
    folds = make_folds(targets, protocol)
    X = targets.frame[list(data.features)].reset_index(drop=True)
    from flarecast.evaluation.methods import METHODS

    queue = FitQueue(DaskExecutor(client), X, targets.y.astype(int), targets.groups, METHODS)
    queue.submit(protocol, folds)
    queue.submit(protocol, folds)  # already running: not submitted again
    assert len(queue._pending) == 2
    estimator, fit = queue.result(protocol, folds[1], "logistic")
    assert estimator is None and len(fit.p_test) == len(folds[1].test) and len(queue._pending) == 1


def test_cli_reproduce_and_tune_with_scheduler(tmp_path, address):
    runner = CliRunner()
    config = tmp_path / "fast.toml"
    config.write_text(
        "[protocol]\nseeds = 1\nn_boot = 50\n\n[protocol.network]\nmax_epochs = 6\npatience = 2\n"
        "hidden = [8]\n"
    )
    tables = {}
    for name, extra in (("single", []), ("dask", ["--scheduler", address])):
        out = tmp_path / name
        result = runner.invoke(
            main,
            [
                "reproduce",
                "--config",
                str(config),
                "--folds",
                "2",
                "--methods",
                "climatology,logistic",
                "--no-figures",
                "--no-importance",
                "--out",
                str(out),
                *extra,
            ],
        )
        assert result.exit_code == 0, result.output
        tables[name] = pd.read_parquet(out / "predictions.parquet")
        result = runner.invoke(
            main,
            [
                "tune",
                "--config",
                str(config),
                "--folds",
                "2",
                "--alphas",
                "0.25",
                "--gammas",
                "2",
                "--out",
                str(out / "tune"),
                *extra,
            ],
        )
        assert result.exit_code == 0, result.output
        tables[name + "-tune"] = pd.read_csv(out / "tune" / "tune.csv")
    pd.testing.assert_frame_equal(tables["single"], tables["dask"], check_exact=True)
    pd.testing.assert_frame_equal(tables["single-tune"], tables["dask-tune"], check_exact=True)
