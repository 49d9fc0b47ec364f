"""`python -m recommender` smoke tests: every command with --json prints one JSON document."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from recommender.cli import main
from tests.conftest import write_latest_small


@pytest.fixture
def run(ml100k_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    """Run the CLI on the fixture dataset; returns (exit code, parsed stdout)."""
    monkeypatch.setenv("MOVIELENS_DIR", str(ml100k_dir))
    data_dir = tmp_path / "data"

    def invoke(*args: str) -> tuple[int, object]:
        code = main(["--data-dir", str(data_dir), "--json", *args])
        out = capsys.readouterr().out
        return code, json.loads(out) if out.strip() else None

    return invoke


def test_demo_reproduces_the_seed_tables(run):
    code, doc = run("demo", "-n", "5")
    assert code == 0
    assert doc["similar_to"] == "Seven (Se7en) (1995)"
    assert len(doc["recommendations"]) == 5 and len(doc["similar"]) == 5
    assert set(doc["recommendations"][0]) == {"movie_id", "title", "score"}  # the seed's shape
    assert all(r["title"] != "Seven (Se7en) (1995)" for r in doc["similar"])


def test_recommend_similar_search(run):
    code, recs = run("recommend", "--user", "1", "-n", "3")
    assert code == 0 and len(recs) == 3
    code, sims = run("similar", "alien", "-n", "4")
    assert code == 0 and len(sims) == 4 and all(s["title"] != "Alien (1979)" for s in sims)
    code, hits = run("search", "shawshenk", "--limit", "3")
    assert code == 0 and hits[0]["title"] == "Shawshank Redemption, The (1994)"


def test_bad_input_exits_with_an_error_not_a_traceback(run, caplog):
    code, out = run("recommend", "--user", "999999")
    assert code == 2 and out is None
    assert "unknown user 999999" in caplog.text
    code, _ = run("similar", "hamlet")  # ambiguous: two Hamlets
    assert code == 2
    assert "did you mean: Hamlet" in caplog.text


def test_evaluate_json_shape(run):
    code, doc = run("evaluate", "--folds", "u1")
    assert code == 0
    assert [f["fold"] for f in doc["folds"]] == ["u1"]
    assert {"rmse", "mae", "fit_seconds"} <= set(doc["folds"][0])
    assert doc["ranking"]["k"] == 10 and "popularity" in doc["ranking"]
    assert doc["rmse_mean"] == pytest.approx(doc["folds"][0]["rmse"])


def test_evaluate_takes_config_overrides(run):
    code, doc = run(
        "evaluate", "--folds", "u1", "--set", "implicit_reg=1", "--set", "min_support=5"
    )
    assert code == 0
    assert doc["params"]["implicit_reg"] == 1.0 and doc["params"]["min_support"] == 5
    code, _ = run("evaluate", "--folds", "u1", "--set", "no_such_field=1")
    assert code == 2
    code, _ = run("evaluate", "--folds", "u1", "--set", "implicit_reg")
    assert code == 2


def test_evaluate_groups_json_shape(run):
    code, doc = run("evaluate-groups", "--folds", "u1", "--groups", "3")
    assert code == 0
    row = doc["groups"][0]
    assert {"size", "kind", "strategy", "ndcg_mean", "ndcg_min", "precision_mean"} <= set(row)
    assert {r["strategy"] for r in doc["groups"]} == {
        "average-without-misery",
        "least-misery",
        "most-pleasure",
        "average",
        "popularity",
        "merged",
    }


def test_evaluate_without_canonical_folds_has_the_same_shape(run, ml100k_dir: Path):
    write_latest_small(ml100k_dir / "ml-latest-small")
    code, canonical = run("evaluate", "--folds", "u1")
    assert code == 0 and canonical["split"] == "u1..u5"
    code, doc = run("--dataset", "ml-latest-small", "evaluate")
    assert code == 0
    assert doc["split"] == "random5" and isinstance(doc["seed"], int)
    assert set(doc) == set(canonical)
    assert [f["fold"] for f in doc["folds"]] == ["r1", "r2", "r3", "r4", "r5"]
    assert all(set(f) == set(canonical["folds"][0]) for f in doc["folds"])
    assert set(doc["ranking"]) == {"k", "model", "popularity"}
    assert set(doc["ranking"]["model"]) == {
        "precision",
        "ndcg",
        "diversity",
        "popularity_rank",
        "coverage",
    }
    assert doc["rmse_mean"] == pytest.approx(sum(f["rmse"] for f in doc["folds"]) / 5)
    code, _ = run("--dataset", "ml-latest-small", "evaluate", "--folds", "u1")
    assert code == 2  # canonical folds asked of a dataset without them


def test_search_and_similar_show_natural_titles(run, capsys, tmp_path: Path):
    code, hits = run("search", "the usual suspects", "--limit", "2")
    assert code == 0 and hits[0]["title"] == "Usual Suspects, The (1995)"
    assert hits[0]["display"] == "The Usual Suspects (1995)"
    assert main(["--data-dir", str(tmp_path / "data"), "search", "usual suspects"]) == 0
    text = capsys.readouterr().out
    assert "The Usual Suspects (1995)" in text and "Suspects, The" not in text


def test_fit_writes_a_loadable_snapshot(run, tmp_path: Path):
    from recommender.snapshot import load_model

    out = tmp_path / "snap.npz"
    code, doc = run("fit", "--out", str(out))
    assert code == 0 and Path(doc["snapshot"]) == out
    assert load_model(out).fingerprint == doc["fingerprint"]


def test_bench_json_shape(run):
    code, doc = run("bench", "--sizes", "ml-100k", "--factors", "8", "--iterations", "1")
    assert code == 0
    (row,) = doc["als"]
    assert row["dataset"] == "ml-100k" and row["factors"] == 8 and row["threads"] >= 1
    assert row["seconds_per_iteration"] > 0 and row["peak_rss_mb"] > 0
    for key in ("search_ms", "recommend_ms"):
        assert doc[key]["p50"] <= doc[key]["p99"]


def test_evaluate_temporal_split(run, ml100k_dir: Path):
    write_latest_small(ml100k_dir / "ml-latest-small")
    code, doc = run("--dataset", "ml-latest-small", "evaluate", "--split", "temporal")
    assert code == 0 and doc["split"] == "temporal" and doc["seed"] is None
    (fold,) = doc["folds"]
    assert fold["fold"] == "t1" and 0 < fold["rmse"] < 2
    assert [b["support"] for b in fold["by_support"]] == ["0", "1-4", "5-19", "20+"]
    assert sum(b["share"] for b in fold["by_support"]) == pytest.approx(1.0)
    assert set(doc["ranking"]["model"]) >= {"precision", "ndcg"}
    code, _ = run(
        "--dataset", "ml-latest-small", "evaluate", "--split", "temporal", "--folds", "u1"
    )
    assert code == 2  # one way to name the split at a time


def test_bench_parses_the_comparison_and_model_options():
    from recommender.cli import build_parser

    args = build_parser().parse_args(
        ["bench", "--compare-implicit", "--compare-lenskit", "--model", "bayes", "--no-latency"]
    )
    assert args.compare_implicit and args.compare_lenskit and args.no_latency
    assert args.model == "bayes"
    plain = build_parser().parse_args(["bench"])
    assert not (plain.compare_implicit or plain.compare_lenskit or plain.no_latency)
    assert plain.model == "als"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--model", "svd"])


def test_bench_says_plainly_when_implicit_is_not_installed(
    ml100k_dir, tmp_path, monkeypatch, capsys
):
    if importlib.util.find_spec("implicit") is not None:
        pytest.skip("implicit is installed here; the message is for environments without it")
    monkeypatch.setenv("MOVIELENS_DIR", str(ml100k_dir))
    args = ["--data-dir", str(tmp_path), "bench", "--sizes", "ml-100k", "--factors", "4"]
    code = main([*args, "--iterations", "2", "--compare-implicit", "--no-latency"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("implicit is not installed in this environment, so it is not timed")
    table = out.splitlines()[1:]
    assert table[0].split()[:5] == ["dataset", "factors", "cg", "s/it", "exact"]
    assert "implicit" not in table[0]
    assert table[1].split()[:2] == ["ml-100k", "4"]
    assert any(line.startswith("BLAS: ") for line in table)


def test_bench_json_lists_missing_peers_and_times_the_sampled_model(run):
    code, doc = run(
        "bench", "--sizes", "ml-100k", "--factors", "4", "--iterations", "2",
        "--compare-lenskit", "--model", "bayes", "--no-latency", "--threads", "1",
    )  # fmt: skip
    assert code == 0
    (row,) = doc["als"]
    if importlib.util.find_spec("lenskit") is None:
        assert doc["missing_peers"] == ["lenskit"] and doc["peers"] == []
        assert "lenskit_seconds_per_iteration" not in row
    else:
        assert row["ratio_cg_to_lenskit"] > 0
    assert 0 < row["seconds_per_sweep_bayes"] < row["seconds_fit_bayes"]
    assert row["threads"] == 1
    assert "search_ms" not in doc and doc["blas"]


def test_bench_table_prints_peer_times_and_ratios():
    from recommender.cli import bench_table

    row = {
        "dataset": "1M",
        "factors": 32,
        "seconds_per_iteration": 0.05,
        "seconds_per_iteration_exact": 0.1,
        "seconds_per_iteration_with_preference": 0.12,
        "implicit_seconds_per_iteration": 0.08,
        "ratio_cg_to_implicit": 0.625,
        "ratio_fit_to_implicit": 1.5,
        "peak_rss_mb": 150.0,
    }
    blas = [{"internal_api": "openblas", "version": "0.3", "architecture": "Haswell"}]
    blas[0]["threading_layer"] = "pthreads"
    text = bench_table({"als": [row], "peers": ["implicit"], "blas": blas}, ["a note"])
    lines = text.splitlines()
    assert lines[0] == "a note"
    assert lines[1].split()[6:9] == ["implicit", "cg/impl", "fit/impl"]
    times = ["0.0500", "0.1000", "0.1200", "0.0800"]
    assert lines[2].split() == ["1M", "32", *times, "0.62x", "1.50x", "150"]
    assert lines[3] == "BLAS: openblas 0.3, kernel Haswell, pthreads threading"
