"""Ranking metrics: trec_eval conformance vectors, conventions at the edges, TREC file reading.

The conformance vectors (``shared/metrics-cases/*.json``, values from pytrec_eval, i.e.
trec_eval's C code) live beside the repository: ``REPO_ROOT.parent / "shared"``, or the
directory named by ``FQEVAL_SHARED_DIR``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fqeval.analysis import _ranking as ranking
from fqeval.analysis._ranking import AVERAGES, Metric, evaluate, parse_metric
from fqeval.analysis._trec_io import read_qrels, read_run
from fqeval.errors import DataError, UsageError
from tests.conftest import REPO_ROOT

TOL = 1e-9


def _cases_dir() -> Path | None:
    candidates = [REPO_ROOT.parent / "shared" / "metrics-cases"]
    if os.environ.get("FQEVAL_SHARED_DIR"):
        candidates.append(Path(os.environ["FQEVAL_SHARED_DIR"]) / "metrics-cases")
    return next((c for c in candidates if c.is_dir()), None)


CASES_DIR = _cases_dir()
CASE_FILES: list[Path | None] = [*sorted(CASES_DIR.glob("*.json"))] if CASES_DIR else [None]


@pytest.fixture(params=CASE_FILES, ids=lambda p: p.stem if p else "missing")
def case(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param is None:
        pytest.skip(
            "metrics-cases not found beside the repository (../shared/metrics-cases) "
            "nor under FQEVAL_SHARED_DIR"
        )
    data: dict[str, Any] = json.loads(request.param.read_text())
    return data


def _write_qrels(path: Path, qrels: dict[str, dict[str, int]]) -> Path:
    lines = [f"{q} 0 {d} {rel}" for q, docs in qrels.items() for d, rel in docs.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_run(path: Path, run: dict[str, dict[str, float]], *, fake_ranks: bool = True) -> Path:
    lines = []
    for q, docs in run.items():
        # The rank column counts the wrong way on purpose: trec_eval ignores it.
        for rank, (d, score) in enumerate(docs.items(), start=1):
            shown = len(docs) - rank + 1 if fake_ranks else rank
            lines.append(f"{q} Q0 {d} {shown} {score!r} tag")
    path.write_text("\n".join(lines) + "\n")
    return path


def _assert_matches(
    result_frame: pd.DataFrame, expected: dict[str, dict[str, float]], qids: list[str]
) -> None:
    for metric, by_query in expected.items():
        for qid in qids:
            got = float(result_frame.at[qid, metric])  # type: ignore[arg-type]
            assert abs(got - by_query[qid]) <= TOL, (metric, qid, got, by_query[qid])


# --------------------------------------------------------------------------------------------
# Conformance with trec_eval


@pytest.mark.parametrize("average", AVERAGES)
def test_conformance_vectors_from_dicts(case: dict[str, Any], average: str) -> None:
    metrics = list(case["expected_per_query"])
    result = evaluate(case["qrels"], case["run"], metrics, average=average)
    evaluated = sorted(next(iter(case["expected_per_query"].values())))
    if average == "mean_over_evaluated":
        assert sorted(result.per_query.index) == evaluated
    else:
        assert sorted(result.per_query.index) == sorted(case["qrels"])
        missing = sorted(set(case["qrels"]) - set(evaluated))
        assert (result.per_query.loc[missing] == 0).all().all()
    assert list(result.per_query.columns) == metrics
    _assert_matches(result.per_query, case["expected_per_query"], evaluated)
    for metric in metrics:
        expected = case["expected_aggregate"][metric][average]
        assert abs(result.mean[metric] - expected) <= TOL, (metric, result.mean[metric], expected)
        assert abs(result.per_query[metric].mean() - result.mean[metric]) <= TOL


def test_conformance_vectors_from_trec_files(case: dict[str, Any], tmp_path: Path) -> None:
    """The same values through the file readers (rank column reversed), and from DataFrames
    in shuffled row order; queries with an empty ranking cannot be written to a file."""
    metrics = list(case["expected_per_query"])
    qrels = read_qrels(_write_qrels(tmp_path / "qrels.txt", case["qrels"]))
    run = read_run(_write_run(tmp_path / "run.txt", case["run"]))
    listed = {q for q, docs in case["run"].items() if docs}
    evaluated = sorted(set(next(iter(case["expected_per_query"].values()))) & listed)
    from_files = evaluate(qrels, run, metrics)
    assert sorted(from_files.per_query.index) == evaluated
    _assert_matches(from_files.per_query, case["expected_per_query"], evaluated)

    shuffled = run.sample(frac=1.0, random_state=7).reset_index(drop=True)
    from_frames = evaluate(qrels.sample(frac=1.0, random_state=8), shuffled, metrics)
    pd.testing.assert_frame_equal(from_frames.per_query, from_files.per_query, rtol=0, atol=TOL)
    if listed == set(case["run"]):  # no empty ranking: the averages must match too
        for metric in metrics:
            expected = case["expected_aggregate"][metric]["mean_over_evaluated"]
            assert abs(from_frames.mean[metric] - expected) <= TOL


def test_values_computed_by_trec_eval_by_hand_picked_case() -> None:
    """A case run through pytrec_eval 0.5.11 once; its outputs are pinned here so the check
    runs even without the shared vectors. Order for c: d2 (label -1), d1 (1), d9 (unjudged),
    d3 (2)."""
    qrels = {
        "a": {"d1": 0, "d2": 0},
        "b": {"d1": -1, "d2": -2},
        "c": {"d1": 1, "d2": -1, "d3": 2},
        "e": {"x": 1},
    }
    run = {
        "a": {"d1": 1.0, "d2": 0.5},
        "b": {"d1": 1.0},
        "c": {"d2": 3.0, "d1": 2.0, "d9": 1.0, "d3": 0.5},
        "e": {},
        "f": {"x": 1.0},
    }
    metrics = ["ndcg", "ndcg@2", "mrr", "map", "map@2", "precision@2", "recall@2", "hit@1", "hit@2"]
    result = evaluate(qrels, run, metrics)
    assert list(result.per_query.index) == ["a", "b", "c", "e"]  # f is not in the qrels
    c = result.per_query.loc["c"]
    expected_c = {
        "ndcg": 0.5672074169568709,
        "ndcg@2": 0.23981246656813146,
        "mrr": 0.5,
        "map": 0.5,
        "map@2": 0.25,
        "precision@2": 0.5,
        "recall@2": 0.5,
        "hit@1": 0.0,
        "hit@2": 1.0,
    }
    for metric, value in expected_c.items():
        assert abs(c[metric] - value) <= TOL, metric
    assert (result.per_query.loc[["a", "b", "e"]] == 0).all().all()
    assert result.mean["map"] == pytest.approx(0.5 / 4)


# --------------------------------------------------------------------------------------------
# Conventions at the edges


def test_ties_break_by_docid_descending_as_strings() -> None:
    run = {"q": {"9": 1.0, "10": 1.0, "100": 1.0}}  # string order: "9" > "100" > "10"
    for relevant, rank in (("9", 1), ("100", 2), ("10", 3)):
        result = evaluate({"q": {relevant: 1}}, run, ["mrr"])
        assert result.mean["mrr"] == pytest.approx(1 / rank)


def test_integer_docids_in_a_dataframe_are_compared_as_strings() -> None:
    run = pd.DataFrame({"qid": [1, 1], "docid": [10, 9], "score": [2.0, 2.0]})
    qrels = pd.DataFrame({"qid": [1], "docid": [10], "rel": [1]})
    result = evaluate(qrels, run, ["mrr"])
    assert result.mean["mrr"] == pytest.approx(0.5)  # "9" ranks above "10"
    assert list(result.per_query.index) == ["1"]


def test_cutoff_beyond_the_ranking_length() -> None:
    qrels = {"q": {"a": 1, "b": 1, "c": 1}}
    run = {"q": {"a": 2.0, "x": 1.0}}
    result = evaluate(qrels, run, ["precision@10", "recall@10", "hit@10", "map@10", "ndcg@10"])
    row = result.per_query.loc["q"]
    assert row["precision@10"] == pytest.approx(1 / 10)  # divides by k, not by the length
    assert row["recall@10"] == pytest.approx(1 / 3)
    assert row["hit@10"] == 1.0
    assert row["map@10"] == pytest.approx(1 / 3)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert row["ndcg@10"] == pytest.approx(1 / ideal)


def test_mrr_at_k_and_hit_at_k_cut_the_ranking() -> None:
    qrels = {"q": {"d": 1}}
    run = {"q": {"a": 4.0, "b": 3.0, "d": 2.0}}
    result = evaluate(qrels, run, ["mrr", "mrr@2", "mrr@3", "hit@2", "hit@3"])
    assert result.mean == pytest.approx(
        {"mrr": 1 / 3, "mrr@2": 0.0, "mrr@3": 1 / 3, "hit@2": 0.0, "hit@3": 1.0}
    )


def test_graded_gain_is_linear_and_negative_labels_add_nothing() -> None:
    qrels = {"q": {"a": -3, "b": 3, "c": 1}}
    run = {"q": {"a": 3.0, "c": 2.0, "b": 1.0}}
    result = evaluate(qrels, run, ["ndcg", "precision@1"])
    dcg = 1 / math.log2(3) + 3 / math.log2(4)
    ideal = 3 + 1 / math.log2(3)
    assert result.mean["ndcg"] == pytest.approx(dcg / ideal)
    assert result.mean["precision@1"] == 0.0


def test_all_negative_or_zero_labels_score_zero_and_count() -> None:
    qrels = {"neg": {"a": -1, "b": -2}, "zero": {"a": 0}, "ok": {"a": 1}}
    run = {"neg": {"a": 1.0}, "zero": {"a": 1.0}, "ok": {"a": 1.0}}
    result = evaluate(qrels, run, ["ndcg", "map", "recall@5", "mrr"])
    assert (result.per_query.loc[["neg", "zero"]] == 0).all().all()
    assert result.mean == pytest.approx(
        {"ndcg": 1 / 3, "map": 1 / 3, "recall@5": 1 / 3, "mrr": 1 / 3}
    )


def test_empty_ranking_counts_as_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"a": 1}}
    result = evaluate(qrels, {"q1": {"a": 1.0}, "q2": {}}, ["ndcg", "mrr"])
    assert list(result.per_query.index) == ["q1", "q2"]
    assert result.mean == {"ndcg": 0.5, "mrr": 0.5}


def test_averages_over_evaluated_and_over_all_qrels_queries() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"a": 1}, "q3": {"b": 1}, "q4": {"b": 2}}
    run = {"q1": {"a": 1.0}, "q3": {"x": 1.0, "b": 0.5}, "extra": {"a": 1.0}}
    evaluated = evaluate(qrels, run, ["mrr"])
    assert list(evaluated.per_query.index) == ["q1", "q3"]
    assert evaluated.mean["mrr"] == pytest.approx((1 + 0.5) / 2)
    complete = evaluate(qrels, run, ["mrr"], average="mean_over_all_qrels_queries")
    assert list(complete.per_query.index) == ["q1", "q2", "q3", "q4"]
    assert complete.mean["mrr"] == pytest.approx((1 + 0.5) / 4)
    assert complete.average == "mean_over_all_qrels_queries"


def test_input_order_does_not_matter() -> None:
    rng = np.random.default_rng(3)
    n_queries, depth = 40, 30
    qids = np.repeat([f"q{i}" for i in range(n_queries)], depth)
    docids = np.array([f"d{j}" for _ in range(n_queries) for j in rng.permutation(depth)])
    scores = rng.integers(0, 6, size=len(qids)).astype(float)  # many ties
    run = pd.DataFrame({"qid": qids, "docid": docids, "score": scores})
    judged = run.sample(frac=0.3, random_state=1)
    qrels = pd.DataFrame(
        {"qid": judged["qid"], "docid": judged["docid"], "rel": rng.integers(-1, 4, len(judged))}
    )
    metrics = ["ndcg", "ndcg@5", "mrr", "map", "precision@5"]
    by_rows = evaluate(qrels, run, metrics).per_query
    trec_order = run.sort_values(
        ["qid", "score", "docid"], ascending=[True, False, False], kind="stable"
    )
    for variant in (run.sample(frac=1.0, random_state=2), run.iloc[::-1], trec_order):
        other = evaluate(qrels, variant.reset_index(drop=True), metrics).per_query
        pd.testing.assert_frame_equal(other, by_rows, rtol=0, atol=1e-12)
    nested = {str(q): dict(zip(g["docid"], g["score"], strict=True)) for q, g in run.groupby("qid")}
    from_dicts = evaluate(qrels, nested, metrics).per_query
    pd.testing.assert_frame_equal(from_dicts, by_rows, rtol=0, atol=1e-12)


def test_categorical_qids_and_unused_categories() -> None:
    """A filtered categorical frame keeps its unused categories; they are not queries."""
    run = pd.DataFrame(
        {
            "qid": pd.Categorical(["q2", "q2", "q1"], categories=["q1", "q2", "q3"]),
            "docid": ["a", "b", "a"],
            "score": [1.0, 2.0, 1.0],
        }
    )
    qrels = pd.DataFrame(
        {"qid": pd.Categorical(["q1", "q2", "q3"]), "docid": ["a", "a", "a"], "rel": [1, 1, 1]}
    )
    result = evaluate(qrels, run, ["mrr"])
    assert result.per_query["mrr"].to_dict() == {"q1": 1.0, "q2": 0.5}
    as_strings = run.assign(qid=run["qid"].astype(str))
    assert evaluate(qrels, as_strings, ["mrr"]).mean == result.mean


def test_large_inputs_are_joined_in_steps_without_changing_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The join and the repeat check work in steps of whole queries; tiny steps must give
    the values one step gives."""
    rng = np.random.default_rng(5)
    n_queries, depth = 60, 20
    qids = np.repeat([f"q{i:02d}" for i in range(n_queries)], depth)
    docids = rng.integers(0, 50, size=(n_queries, depth)).argsort(axis=1).astype(str).ravel()
    run = pd.DataFrame({"qid": qids, "docid": docids, "score": rng.random(len(qids)).round(1)})
    judged = run.sample(frac=0.4, random_state=3)
    qrels = pd.DataFrame(
        {"qid": judged["qid"], "docid": judged["docid"], "rel": rng.integers(-1, 3, len(judged))}
    ).sort_values("qid", kind="stable")
    metrics = ["ndcg", "ndcg@5", "mrr", "map", "recall@5"]
    whole = evaluate(qrels, run, metrics).per_query
    monkeypatch.setattr(ranking, "_STEP_ROWS", 7)
    stepped = evaluate(qrels, run, metrics).per_query
    pd.testing.assert_frame_equal(stepped, whole, rtol=0, atol=0)
    repeated = pd.concat([qrels, qrels[qrels["rel"] > 0].iloc[[0]].assign(rel=0)])
    with pytest.raises(DataError, match="twice"):
        evaluate(repeated.sort_values("qid", kind="stable"), run, metrics)


def test_two_non_relevant_judgments_of_one_document_are_accepted() -> None:
    qrels = pd.DataFrame({"qid": ["q", "q", "q"], "docid": ["a", "a", "b"], "rel": [0, -1, 1]})
    assert evaluate(qrels, {"q": {"a": 2.0, "b": 1.0}}, ["mrr"]).mean == {"mrr": 0.5}


def test_result_shape_and_metric_order() -> None:
    result = evaluate({"q": {"a": 1}}, {"q": {"a": 1.0}}, ["MRR", "ndcg@3", "mrr"])
    assert list(result.per_query.columns) == ["mrr", "ndcg@3"]
    assert result.per_query.index.name == "qid"
    assert list(result.mean) == ["mrr", "ndcg@3"]
    with pytest.raises(AttributeError):
        result.mean = {}  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Bad input


def test_duplicates_are_refused() -> None:
    with pytest.raises(DataError, match="twice"):
        evaluate(
            pd.DataFrame({"qid": ["q", "q"], "docid": ["a", "a"], "rel": [1, 0]}),
            {"q": {"a": 1.0}},
            ["mrr"],
        )
    judged_twice = pd.DataFrame({"qid": ["q", "q"], "docid": ["a", "a"], "score": [1.0, 2.0]})
    with pytest.raises(DataError, match="'a' twice"):
        evaluate({"q": {"a": 1}}, judged_twice, ["mrr"])
    tied_twice = pd.DataFrame({"qid": ["q", "q"], "docid": ["x", "x"], "score": [1.0, 1.0]})
    with pytest.raises(DataError, match="'x' twice"):
        evaluate({"q": {"a": 1}}, tied_twice, ["mrr"])


def test_nothing_to_average_is_an_error() -> None:
    with pytest.raises(DataError, match="no query is in both"):
        evaluate({"q1": {"a": 1}}, {"q2": {"a": 1.0}}, ["mrr"])
    with pytest.raises(DataError, match="qrels are empty"):
        evaluate({}, {"q2": {"a": 1.0}}, ["mrr"])
    complete = evaluate(
        {"q1": {"a": 1}}, {"q2": {"a": 1.0}}, ["mrr"], average="mean_over_all_qrels_queries"
    )
    assert complete.mean == {"mrr": 0.0}


def test_bad_frames_are_refused() -> None:
    qrels = {"q": {"a": 1}}
    with pytest.raises(DataError, match="lacks column 'score'"):
        evaluate(qrels, pd.DataFrame({"qid": ["q"], "docid": ["a"]}), ["mrr"])
    with pytest.raises(DataError, match="NaN"):
        evaluate(qrels, pd.DataFrame({"qid": ["q"], "docid": ["a"], "score": [np.nan]}), ["mrr"])
    with pytest.raises(DataError, match="missing qid at row 2"):
        evaluate(
            qrels, pd.DataFrame({"qid": ["q", None], "docid": ["a", "b"], "score": [1, 2]}), ["mrr"]
        )
    with pytest.raises(DataError, match="not an integer"):
        evaluate(
            pd.DataFrame({"qid": ["q"], "docid": ["a"], "rel": [0.5]}), {"q": {"a": 1.0}}, ["mrr"]
        )
    with pytest.raises(UsageError, match="average"):
        evaluate(qrels, {"q": {"a": 1.0}}, ["mrr"], average="median")


@pytest.mark.parametrize(
    ("name", "family", "k"),
    [
        ("ndcg", "ndcg", None),
        ("ndcg@10", "ndcg", 10),
        (" MRR@3 ", "mrr", 3),
        ("hit@1", "hit", 1),
        ("recall@100", "recall", 100),
        ("precision@5", "precision", 5),
        ("map", "map", None),
        ("map@1000", "map", 1000),
    ],
)
def test_parse_metric(name: str, family: str, k: int | None) -> None:
    assert parse_metric(name) == Metric(family, k)


@pytest.mark.parametrize(
    "name", ["ndcg@0", "ndcg@", "p@10", "recall", "hit", "ndcg@-1", "ndcg@1.5", ""]
)
def test_parse_metric_refuses(name: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_metric(name)
    assert repr(name) in str(err.value)


# --------------------------------------------------------------------------------------------
# TREC files


def test_read_run_ignores_rank_and_keeps_strings(tmp_path: Path) -> None:
    path = tmp_path / "run.txt"
    path.write_text("007 Q0 0010 1 1.5 tag\n007 Q0 NA 2 2.5e0 tag\n")
    run = read_run(path)
    assert run["qid"].tolist() == ["007", "007"]
    assert run["docid"].tolist() == ["0010", "NA"]
    assert run["score"].tolist() == [1.5, 2.5]


@pytest.mark.parametrize(
    "text",
    ["q\tQ0\td\t1\t2.0\tt\nq\tQ0\te\t2\t1.0\tt\n", "q  Q0 d 1 2.0 t\n\n  q Q0\te 2 1.0 t \r\n"],
    ids=["tabs", "irregular-blanks"],
)
def test_read_run_separators(tmp_path: Path, text: str) -> None:
    path = tmp_path / "run.txt"
    path.write_text(text)
    run = read_run(path)
    assert run.to_dict("list") == {"qid": ["q", "q"], "docid": ["d", "e"], "score": [2.0, 1.0]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("q Q0 d 1 2.0 t\nq Q0 e 2 1.0\n", "row 2: expected 6 whitespace-separated fields"),
        ("q Q0 d 1 2.0 t\n\nq Q0 e 2 high t\n", "row 3, column 'score': not a number: 'high'"),
        ("q Q0 d 1 nan t\n", "row 1, column 'score': not a number: 'nan'"),
        ("q  Q0 d 1 2.0 t\nq Q0 e 2 x t\n", "row 2, column 'score'"),
    ],
)
def test_read_run_names_the_bad_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "run.txt"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        read_run(path)
    assert str(err.value) == f"{path}: {message}" or str(err.value).startswith(f"{path}: {message}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("q 0 d 1\nq 0 e 1.5\n", "row 2, column 'rel': relevance label is not an integer: '1.5'"),
        ("q 0 d\n", "row 1: expected 4 whitespace-separated fields 'qid iter docid rel', found 3"),
    ],
)
def test_read_qrels_names_the_bad_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "qrels.txt"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        read_qrels(path)
    assert str(err.value) == f"{path}: {message}"


def test_read_missing_empty_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_run(tmp_path / "absent.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match="empty file"):
        read_qrels(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes(b"q 0 d 1\nq 0 caf\xe9 1\n")
    with pytest.raises(DataError, match="row 2: not valid UTF-8"):
        read_qrels(tmp_path / "latin1.txt")


def test_read_qrels_keeps_negative_labels(tmp_path: Path) -> None:
    path = tmp_path / "qrels.txt"
    path.write_text("1 0 a -1\n1 0 b 2\n")
    qrels = read_qrels(path)
    assert qrels["rel"].tolist() == [-1, 2]
    assert str(qrels["rel"].dtype) == "int64"


# --------------------------------------------------------------------------------------------
# Against pytrec_eval itself, when the bench extra is installed


def test_random_cases_match_pytrec_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval", reason="pytrec_eval is in the bench extra")
    monkeypatch.setattr(ranking, "_STEP_ROWS", 50)  # many join steps
    names = {
        "ndcg": "ndcg",
        "ndcg@3": "ndcg_cut_3",
        "mrr": "recip_rank",
        "hit@5": "success_5",
        "recall@5": "recall_5",
        "precision@5": "P_5",
        "map": "map",
        "map@5": "map_cut_5",
    }
    measures = {
        "ndcg",
        "ndcg_cut.3",
        "recip_rank",
        "success.5",
        "recall.5",
        "P.5",
        "map",
        "map_cut.5",
    }
    rng = np.random.default_rng(11)
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for query in range(300):
        docs = [str(d) for d in rng.choice(200, size=int(rng.integers(2, 25)), replace=False)]
        judged = {d: int(rng.integers(-1, 4)) for d in docs if rng.random() < 0.5}
        ranked = {d: float(rng.integers(0, 3)) for d in docs if rng.random() < 0.7}
        if judged and ranked:
            qrels[f"q{query}"], run[f"q{query}"] = judged, ranked
    # One evaluator call, every run query in the qrels: pytrec_eval 0.5.11 hangs or crashes
    # on repeated calls (trec_eval caches its last query across evaluators) and on run
    # queries outside the qrels.
    expected = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    got = evaluate(qrels, run, list(names)).per_query
    assert sorted(got.index) == sorted(expected)
    for qid, values in expected.items():
        for ours, theirs in names.items():
            assert abs(got.loc[qid, ours] - values[theirs]) <= TOL, (qid, ours)
