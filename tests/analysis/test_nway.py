"""n-way selection rates: vote shares, shared texts, permutations, invalid items, the panel."""

from __future__ import annotations

import json

import pytest

from fqeval.analysis import judgments_frame, summarize
from tests.analysis._records import nway

SYSTEMS = ["final_fq", "a", "b"]
C1, C2 = "Exploratory Scope", "Creative Leap"


def _summary(records, judges=("j1",), criteria=(C1,), systems=SYSTEMS, **kw):
    return summarize(
        judgments_frame(records),
        mode="nway",
        judges=list(judges),
        systems=list(systems),
        criteria=list(criteria),
        n_boot=200,
        **kw,
    )


def _rates(summary, criterion=C1):
    return {s: v["selection_rate"] for s, v in summary["criteria"][criterion]["systems"].items()}


def test_selection_rate_is_wins_over_items() -> None:
    records = [nway(f"q{k}", C1, SYSTEMS, 0 if k < 3 else 1) for k in range(4)]
    summary = _summary(records)
    assert _rates(summary) == {"final_fq": 0.75, "a": 0.25, "b": 0.0}
    block = summary["criteria"][C1]
    assert block["n"] == 4 and block["judgments"] == 4 and block["invalid"] == 0
    assert block["systems"]["final_fq"]["wins"] == 3
    lo, hi = block["systems"]["final_fq"]["ci"]
    assert lo <= 0.75 <= hi


def test_shared_text_splits_the_win_and_rates_sum_to_one() -> None:
    records = [
        nway("q1", C1, [["final_fq", "a"], "b"], 0),  # a copied the benchmark text; it won
        nway("q2", C1, [["final_fq", "a"], "b"], 1),
        nway("q3", C1, ["final_fq", "a", "b"], 1),
    ]
    summary = _summary(records)
    rates = _rates(summary)
    assert rates["final_fq"] == pytest.approx(0.5 / 3)
    assert rates["a"] == pytest.approx(1.5 / 3)
    assert sum(rates.values()) == pytest.approx(1.0)
    assert summary["criteria"][C1]["systems"]["a"]["wins"] == pytest.approx(1.5)
    assert summary["criteria"][C1]["shared_text_items"] == 2


def test_permutations_average_within_the_item() -> None:
    records = [
        nway("q1", C1, ["final_fq", "a", "b"], 0, variant="p0"),
        nway("q1", C1, ["a", "b", "final_fq"], 0, variant="p1"),  # picked a this time
        nway("q1", C1, ["b", "final_fq", "a"], 1, variant="p2"),
    ]
    rates = _rates(_summary(records))
    assert rates == {"final_fq": pytest.approx(2 / 3), "a": pytest.approx(1 / 3), "b": 0.0}


def test_invalid_judgments_are_counted_not_dropped_silently() -> None:
    records = [
        nway("q1", C1, SYSTEMS, 0),
        nway("q1", C1, SYSTEMS, None, variant="p1"),  # the item still has a valid judgment
        nway(
            "q2",
            C1,
            SYSTEMS,
            None,
            invalid_reason="winner 'candidate_Q' is not a label " + "x" * 80,
        ),
    ]
    summary = _summary(records)
    block = summary["criteria"][C1]
    assert block["n"] == 1 and block["judgments"] == 3 and block["invalid"] == 2
    assert block["items_without_valid"] == 1
    assert _rates(summary)["final_fq"] == 1.0
    reasons = summary["invalid"]["reasons"]
    assert reasons["reply is not JSON"] == 1
    assert sum(reasons.values()) == 2
    assert all(len(r) <= 60 for r in reasons)
    assert summary["invalid"]["rate"] == pytest.approx(2 / 3)


def test_all_invalid_gives_null_rates_and_valid_json() -> None:
    records = [nway(f"q{k}", C1, SYSTEMS, None) for k in range(3)]
    summary = _summary(records)
    for entry in summary["criteria"][C1]["systems"].values():
        assert entry["selection_rate"] is None and entry["ci"] is None and entry["n"] == 0
    assert summary["criteria"][C1]["items_without_valid"] == 3
    assert summary["overall"]["systems"]["a"]["selection_rate"] is None
    json.dumps(summary, allow_nan=False)


def test_missing_candidate_gets_zero_share() -> None:
    records = [nway("q1", C1, ["final_fq", "a"], 1), nway("q2", C1, SYSTEMS, 2)]
    rates = _rates(_summary(records))
    assert rates == {"final_fq": 0.0, "a": 0.5, "b": 0.5}


def test_overall_is_the_mean_of_criterion_rates() -> None:
    records = [nway(f"q{k}", C1, SYSTEMS, 0) for k in range(4)]  # final_fq 1.0 on C1 (4 items)
    records += [nway("q0", C2, SYSTEMS, 1)]  # a 1.0 on C2 (1 item)
    summary = _summary(records, criteria=(C1, C2))
    overall = summary["overall"]["systems"]
    assert overall["final_fq"]["selection_rate"] == pytest.approx(0.5)
    assert overall["a"]["selection_rate"] == pytest.approx(0.5)
    assert sum(v["selection_rate"] for v in overall.values()) == pytest.approx(1.0)


def test_one_item_interval_is_wilson_at_one_observation() -> None:
    # One QA pair proves little: a rate at its bound gets Wilson's interval at n = 1
    # ([1 / (1 + z^2), 1] and [0, z^2 / (1 + z^2)]), not the bootstrap's point [1, 1].
    summary = _summary([nway("q1", C1, SYSTEMS, 2)])
    z2 = 1.959963984540054**2
    assert summary["criteria"][C1]["systems"]["b"]["ci"] == [pytest.approx(1 / (1 + z2)), 1.0]
    assert summary["criteria"][C1]["systems"]["a"]["ci"] == [0.0, pytest.approx(z2 / (1 + z2))]


def test_panel_majority_and_ties() -> None:
    records = []
    for judge in ("j1", "j2", "j3"):  # q1: 2 of 3 judges pick final_fq
        records.append(nway("q1", C1, SYSTEMS, 1 if judge == "j3" else 0, judge=judge))
    records.append(nway("q2", C1, SYSTEMS, 0, judge="j1"))  # q2: j1 vs j2 disagree, j3 invalid
    records.append(nway("q2", C1, SYSTEMS, 2, judge="j2"))
    records.append(nway("q2", C1, SYSTEMS, None, judge="j3"))
    summary = _summary(records, judges=("j1", "j2", "j3"))
    rates = _rates(summary)
    assert rates == {"final_fq": pytest.approx(0.75), "a": 0.0, "b": pytest.approx(0.25)}
    assert summary["criteria"][C1]["tied_items"] == 1
    assert summary["panel"]["tied_items"] == {C1: 1}
    by_judge = summary["criteria"][C1]["by_judge"]
    assert by_judge["j3"]["systems"]["a"]["selection_rate"] == 1.0
    assert by_judge["j3"]["n"] == 1 and by_judge["j3"]["invalid"] == 1


def test_single_judge_panel_is_the_judge() -> None:
    records = [
        nway("q1", C1, SYSTEMS, 0, variant="p0"),
        nway("q1", C1, SYSTEMS, 1, variant="p1"),
        nway("q2", C1, SYSTEMS, 1),
    ]
    summary = _summary(records)
    judge = summary["criteria"][C1]["by_judge"]["j1"]["systems"]
    assert {s: v["selection_rate"] for s, v in judge.items()} == _rates(summary)
    assert summary["panel"]["size"] == 1 and summary["panel"]["tied_items"] is None


def test_benchmark_ranking_uses_vote_shares() -> None:
    records = [nway("q1", C1, SYSTEMS, 0), nway("q2", C1, SYSTEMS, 2), nway("q3", C1, SYSTEMS, 1)]
    ranking = _summary(records)["ranking"]
    block = ranking["orderings"]["n-way vote share"]
    # q1: final_fq first (1); q2, q3: final_fq ties with the other loser at share 0 for rank 2-3.
    assert block["queries"] == 3
    assert block["mrr_ties_optimistic"] == pytest.approx((1 + 1 / 2 + 1 / 2) / 3)
    assert block["mrr_ties_pessimistic"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)
    assert block["mrr_ties_pessimistic"] <= block["mrr"] <= block["mrr_ties_optimistic"]
    assert block["items_with_ties"] == 2
