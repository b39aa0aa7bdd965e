"""``flarecast benchmark``: one row per data set, differences that recompute from each row's
repeats, the frozen protocol's hash, and the data sets left out with their reasons."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flarecast.cli import main
from flarecast.data.synthetic import demo_dataset
from flarecast.errors import ConfigError
from flarecast.evaluation.benchmark import run_benchmark
from flarecast.evaluation.benchmark_plan import plan_benchmark
from flarecast.evaluation.benchmark_report import format_summary_markdown, plain_reading
from flarecast.evaluation.frozen import DEFAULT_PATH, load_frozen_protocol
from flarecast.evaluation.repeated import corrected_ttest_pooled

# The frozen file with small settings: 3 folds, 2 seeds, short training, four methods.
_SMALL = {
    "folds = 5": "folds = 3",
    "seeds = 5": "seeds = 2",
    "n_boot = 1000": "n_boot = 50",
    'methods = ["climatology", "logistic", "gboost", "ce", "weighted-ce", "focal"]': (
        'methods = ["climatology", "logistic", "ce", "focal"]'
    ),
    "max_epochs = 60": "max_epochs = 6",
    "hidden = [32, 32]": "hidden = [8]",
}


def _small_protocol(folder):
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    for old, new in _SMALL.items():
        assert old in text, old
        text = text.replace(old, new)
    path = folder / "small.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    table = folder / "small_demo.parquet"
    demo_dataset(seed=3, n_regions=90, days=90).frame.to_parquet(table)
    protocol = _small_protocol(folder)
    out = folder / "out"
    (out / "datasets" / "umich-24h").mkdir(parents=True)  # as left by an earlier benchmark
    (out / "datasets" / "umich-24h" / "repeats.csv").write_text("old")
    (out / "notes.txt").write_text("kept")
    args = ["benchmark", "--out", str(out), "--repeats", "2", "--datasets", str(table)]
    result = CliRunner().invoke(main, [*args, "--protocol", str(protocol), "--no-figures"])
    assert result.exit_code == 0, result.output
    return out, protocol, result


def test_one_row_per_data_set_with_its_counts(bench) -> None:
    out, _, _ = bench
    summary = pd.read_csv(out / "summary.csv")
    # the demo table has no-flare rows, so it gives two rows: negatives C, and A,B,C,N
    assert summary["negatives"].tolist() == ["C", "A,B,C,N"]
    assert summary["dataset"].str.endswith(("small_demo.parquet [C]", "[A,B,C,N]")).all()
    assert summary["n"].iloc[1] > summary["n"].iloc[0]  # the weaker rows join as negatives
    assert (summary["positives"].iloc[0] == summary["positives"]).all()
    assert (summary["repeats"] == 2).all()
    np.testing.assert_allclose(summary["base_rate"], summary["positives"] / summary["n"], rtol=1e-5)
    run = json.loads((out / "run.json").read_text())
    assert [r["folder"] for r in run["rows"]] == [
        "datasets/small_demo.parquet_neg-C",
        "datasets/small_demo.parquet_neg-ABCN",
    ]
    # a row folder of an earlier run into the same OUT is not carried into the new one
    assert sorted(p.name for p in (out / "datasets").iterdir()) == [
        "small_demo.parquet_neg-ABCN",
        "small_demo.parquet_neg-C",
    ]
    assert (out / "notes.txt").read_text() == "kept"  # a user's own file is kept
    for i, row in summary.iterrows():
        folder = out / run["rows"][i]["folder"]
        preds = pd.read_parquet(folder / "predictions_repeats.parquet")
        repeat0 = preds[(preds["repeat"] == 0) & (preds["method"] == "logistic")]
        assert len(repeat0) == row["n"]  # every row tested once per repeat
        assert int(repeat0["y"].sum()) == row["positives"]
        x = repeat0["letter"] == "X"
        assert int(x.sum()) == row["x_events"]
        assert repeat0.loc[x, "region"].nunique() == row["x_regions"]
        assert repeat0["region"].nunique() == row["regions"]


def test_scores_and_differences_recompute_from_each_rows_repeats(bench) -> None:
    out, _, _ = bench
    summary = pd.read_csv(out / "summary.csv")
    run = json.loads((out / "run.json").read_text())
    for i, row in summary.iterrows():
        folder = out / run["rows"][i]["folder"]
        repeats = pd.read_csv(folder / "repeats.csv")
        assert sorted(repeats["repeat"].unique()) == [0, 1]
        sizes = pd.DataFrame(json.loads((folder / "run.json").read_text())["repeats"]["fold_sizes"])
        n_train = sizes.groupby("repeat")["n_train"].mean().to_numpy()
        for score, column in (("auc", "auc_fold_mean"), ("tss", "tss"), ("hss", "hss")):
            wide = repeats.pivot(index="repeat", columns="method", values=column)
            for method in ("logistic", "ce", "focal"):
                assert row[f"{method}_{score}"] == pytest.approx(wide[method].mean(), abs=1e-5)
            for a, b in (("focal", "ce"), ("ce", "logistic"), ("focal", "logistic")):
                d = (wide[a] - wide[b]).to_numpy()
                assert row[f"{a}-{b}_{score}"] == pytest.approx(d.mean(), abs=1e-5)
                # pooled per repeat: the interval recomputes from the R values (written to 6
                # digits, and t with one degree of freedom is 12.7, hence the tolerance)
                if score != "auc":
                    n_test = repeats.pivot(index="repeat", columns="method", values="n")[a]
                    ci = corrected_ttest_pooled(d, n_train, n_test.to_numpy(), level=0.95)
                    assert row[f"{a}-{b}_{score}_low"] == pytest.approx(ci.low, abs=1e-4)
                    assert row[f"{a}-{b}_{score}_high"] == pytest.approx(ci.high, abs=1e-4)
        # weighted-ce is not in the small protocol: its columns are empty, not invented
        assert np.isnan(row["weighted-ce-logistic_auc"])


def test_run_json_records_the_protocol_hash_and_outputs(bench) -> None:
    out, protocol, result = bench
    run = json.loads((out / "run.json").read_text())
    assert run["protocol_sha256"] == hashlib.sha256(protocol.read_bytes()).hexdigest()
    assert run["repeats"] == 2 and run["protocol_repeats"] == 10
    for row in run["rows"]:
        sub = json.loads((out / row["folder"] / "run.json").read_text())
        assert sub["protocol_sha256"] == run["protocol_sha256"]
        assert sub["protocol"]["negatives"] == row["negatives"]
        # No categorical feature: no unseen-category count, as before.
        assert "unseen_test" not in row and "unseen_test" not in sub["fold_sizes"][0]
    assert (out / "forest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "summary.md").read_text()
    assert "the protocol file says 10; --repeats overrode it" in text
    assert text.count("- **") == 2  # one reading per data set
    assert "Overall: Focal loss differs significantly from cross-entropy on" in text
    assert "# Benchmark: the frozen comparison on 2 data set(s)" in result.output


def test_liu_demos_and_samples_are_left_out_with_reasons(data_dir) -> None:
    frozen = load_frozen_protocol()
    names = ["liu2019-demo-c", "liu2019-demo-m", "liu2019-demo-m5", "flareml-2017-train"]
    plan = plan_benchmark(frozen.protocol, names, data_dir=data_dir)
    assert plan.rows == ()
    reasons = {s.dataset: s for s in plan.skipped}
    assert list(reasons) == names
    for name, rows in (("liu2019-demo-c", 185), ("liu2019-demo-m", 212), ("liu2019-demo-m5", 189)):
        assert reasons[name].reason.startswith(f"too small: {rows} rows from 1 region(s)")
        assert (reasons[name].rows, reasons[name].regions) == (rows, 1)
    assert "sample of flareml-2017" in reasons["flareml-2017-train"].reason
    text = format_summary_markdown(
        pd.DataFrame(), plan, {"repeats": 10, "protocol_repeats": 10}, []
    )
    assert "| liu2019-demo-m | 212 | 1 | too small" in text
    with pytest.raises(ConfigError, match="No data set to benchmark: liu2019-demo-c: too small"):
        run_benchmark(plan, frozen, data_dir / "never-written", 2)


def test_hollanda_gives_two_rows_and_srs_one_row_of_c_negatives(data_dir) -> None:
    frozen = load_frozen_protocol()
    plan = plan_benchmark(frozen.protocol, ["hollanda-2019", "hayes-srs"], data_dir=data_dir)
    assert [(r.name, r.negatives, r.folder) for r in plan.rows] == [
        ("hollanda-2019 [C]", ("C",), "datasets/hollanda-2019_neg-C"),
        ("hollanda-2019 [A,B,C,N]", ("A", "B", "C", "N"), "datasets/hollanda-2019_neg-ABCN"),
        ("hayes-srs [C]", ("C",), "datasets/hayes-srs_neg-C"),
    ]
    assert len(plan.rows[1].targets.y) > len(plan.rows[0].targets.y)
    # Region-days whose largest flare is C, M or X (PROVENANCE.md: 5,082 + 1,079 + 126).
    srs = plan.rows[2].targets
    assert (len(srs.y), int(srs.y.sum())) == (6287, 1205)
    # Its McIntosh and Mt Wilson classes are features of the row, one-hot encoded by each fit.
    assert {"mcintosh_zurich", "mtwilson"} <= set(plan.rows[2].data.features)
    # B flares are not in the source, so "every weaker row" is not asked of it.
    (left_out,) = plan.skipped
    assert left_out.dataset == "hayes-srs [A,B,C,N]"
    assert "no flare below C is recorded" in left_out.reason
    assert "keeping 6287 of its 33516 rows" in left_out.reason


def test_unknown_names_and_too_few_repeats_are_refused(tmp_path) -> None:
    frozen = load_frozen_protocol()
    with pytest.raises(ConfigError, match="Unknown data set 'umich-24'.*umich-24h"):
        plan_benchmark(frozen.protocol, ["umich-24"])
    with pytest.raises(ConfigError, match="more than once"):
        plan_benchmark(frozen.protocol, ["demo", "demo"])
    result = CliRunner().invoke(main, ["benchmark", "--out", str(tmp_path / "o"), "--repeats", "1"])
    assert result.exit_code != 0 and "--repeats" in result.output
    assert not (tmp_path / "o").exists()


def _row(name: str, **cells: float) -> dict:
    row = {"dataset": name}
    for pair in ("focal-ce", "ce-logistic", "weighted-ce-logistic", "focal-logistic"):
        for score in ("auc", "tss", "hss", "x_recall", "bss"):
            row[f"{pair}_{score}"], row[f"{pair}_{score}_low"] = 0.0, -0.1
            row[f"{pair}_{score}_high"] = 0.1
    row.update(cells)
    return row


def test_plain_reading_follows_the_intervals() -> None:
    summary = pd.DataFrame(
        [
            _row("a"),
            _row("b", **{"focal-ce_hss": 0.05, "focal-ce_hss_low": 0.01}),
            _row("c", **{"ce-logistic_auc": 0.02, "ce-logistic_auc_low": 0.001}),
            _row("d", **{"focal-logistic_tss": -0.2, "focal-logistic_tss_high": -0.01}),
        ]
    )
    lines = plain_reading(summary)
    assert lines[0] == (
        "- **a**: focal − CE: no significant difference (every interval spans zero); "
        "no network beats logistic regression."
    )
    assert "focal − CE: significantly higher on HSS" in lines[1]
    assert "a network beats logistic regression: CE on AUC" in lines[2]
    assert "below logistic regression: focal on TSS" in lines[3]
    assert "no network beats logistic regression" in lines[3]
    assert lines[-1] == (
        "Overall: Focal loss differs significantly from cross-entropy on 1 of 4 data sets (b). "
        "A network beats logistic regression with an interval excluding zero on 1 of 4 data sets (c). "
        "Of the 80 paired intervals above, 3 exclude zero; with no true difference about 4 would "
        "at 95% by chance alone, so a single excluded interval is weak evidence."
    )
