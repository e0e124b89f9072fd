"""Agreement statistics: scipy equality, textbook values, and undefined cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fqeval.analysis import (
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    judgments_frame,
    krippendorff_alpha,
)
from fqeval.analysis._correlation import fisher_z_ci
from tests.analysis._records import nway, score

C1, C2 = "Exploratory Scope", "Creative Leap"

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 coders x 12 units
# example with missing values; published alphas: nominal 0.743, ordinal 0.815, interval 0.849.
_N = None
KRIPPENDORFF_EXAMPLE = list(
    zip(
        [1, 2, 3, 3, 2, 1, 4, 1, 2, _N, _N, _N],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _N, 3],
        [_N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _N],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _N],
        strict=True,
    )
)


@pytest.mark.parametrize(
    ("level", "expected"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorff_alpha_textbook_example(level: str, expected: float) -> None:
    assert krippendorff_alpha(KRIPPENDORFF_EXAMPLE, level) == pytest.approx(expected, abs=5e-4)


def test_krippendorff_alpha_undefined_and_perfect() -> None:
    assert krippendorff_alpha([[3, 3], [3, 3]]) is None  # no variation: expected disagreement 0
    assert krippendorff_alpha([[1, None], [2, None]]) is None  # nothing pairable
    assert krippendorff_alpha([[1, 1], [2, 2], [5, 5]]) == pytest.approx(1.0)


def test_fleiss_kappa_wikipedia_example() -> None:
    # Fleiss' kappa article example: 10 subjects, 14 raters, 5 categories -> 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(table) == pytest.approx(0.2099, abs=1e-4)
    assert fleiss_kappa([[2, 0], [2, 0]]) is None  # one category only
    assert fleiss_kappa([[2, 0], [1, 0]]) is None  # unequal raters per subject


def test_cohen_kappa_known_values() -> None:
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> po 0.7, pe 0.5, kappa 0.4.
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(
        [1, 2, 3], [1, 2, 3], weights="quadratic", categories=(1, 2, 3)
    ) == pytest.approx(1.0)
    # Perfectly reversed ratings on a 3-point scale: quadratic kappa -1.
    assert cohen_kappa(
        [1, 2, 3], [3, 2, 1], weights="quadratic", categories=(1, 2, 3)
    ) == pytest.approx(-1.0)
    # Two categories: quadratic weights equal the unweighted ones.
    assert cohen_kappa(a, b, weights="quadratic") == pytest.approx(0.4)
    assert cohen_kappa([4, 4], [4, 4], weights="quadratic", categories=(1, 2, 3, 4, 5)) is None


def _two_judge_scores(seed: int = 0, n: int = 30):
    rng = np.random.default_rng(seed)
    records = []
    for q in range(n):
        for crit in (C1, C2):
            for system in ("final_fq", "a"):
                base = int(rng.integers(1, 6))
                other = int(np.clip(base + rng.integers(-1, 2), 1, 5))
                records.append(score(f"q{q}", crit, system, base, judge="j1"))
                records.append(score(f"q{q}", crit, system, other, judge="j2"))
    return records


def test_two_judge_score_agreement_equals_scipy() -> None:
    records = _two_judge_scores()
    report = agreement_report(judgments_frame(records))
    frame = pd.DataFrame(records)
    j1 = frame[frame["judge"] == "j1"]["score"].to_numpy(float)
    j2 = frame[frame["judge"] == "j2"]["score"].to_numpy(float)
    (pair,) = report["pairs"]
    overall = pair["overall"]
    ref = stats.pearsonr(j1, j2)
    assert overall["n"] == len(j1)
    assert overall["pearson"]["r"] == pytest.approx(ref.statistic, abs=1e-12)
    assert overall["pearson"]["p"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert overall["pearson"]["ci"] == pytest.approx(fisher_z_ci(ref.statistic, len(j1)))
    low, high = ref.confidence_interval(0.95)
    assert overall["pearson"]["ci"] == pytest.approx([low, high], abs=1e-9)
    assert overall["spearman"]["rho"] == pytest.approx(stats.spearmanr(j1, j2).statistic)
    assert overall["kendall"]["tau"] == pytest.approx(stats.kendalltau(j1, j2).statistic)
    assert overall["exact_agreement"] == pytest.approx(np.mean(j1 == j2))
    assert overall["adjacent_agreement"] == 1.0
    c1 = frame[(frame["criterion"] == C1)]
    r1 = stats.pearsonr(
        c1[c1["judge"] == "j1"]["score"].astype(float),
        c1[c1["judge"] == "j2"]["score"].astype(float),
    )
    assert pair["by_criterion"][C1]["pearson"]["r"] == pytest.approx(r1.statistic)
    assert report["panel"]["raters"] == 2


def test_summary_of_a_panel_carries_agreement() -> None:
    from fqeval.analysis import summarize

    records = _two_judge_scores(n=5)
    summary = summarize(
        judgments_frame(records),
        mode="score",
        judges=["j1", "j2"],
        systems=["final_fq", "a"],
        criteria=[C1, C2],
        n_boot=50,
    )
    assert summary["agreement"]["pairs"][0]["a"] == "j1"


def test_constant_scores_one_item_and_all_invalid() -> None:
    constant = [score(f"q{k}", C1, "a", 4, judge=j) for k in range(4) for j in ("j1", "j2")]
    overall = agreement_report(judgments_frame(constant))["pairs"][0]["overall"]
    assert overall["pearson"]["r"] is None and "constant" in overall["note"]
    assert overall["exact_agreement"] == 1.0 and overall["cohen_kappa_quadratic"] is None

    one = [score("q1", C1, "a", 4, judge="j1"), score("q1", C1, "a", 2, judge="j2")]
    overall = agreement_report(judgments_frame(one))["pairs"][0]["overall"]
    assert overall["n"] == 1 and overall["pearson"]["r"] is None
    assert overall["adjacent_agreement"] == 0.0

    invalid = [score("q1", C1, "a", None, judge=j) for j in ("j1", "j2")]
    overall = agreement_report(judgments_frame(invalid), mode="score")["pairs"][0]["overall"]
    assert overall["n"] == 0 and overall["exact_agreement"] is None


def test_nway_agreement_same_winner_and_fleiss() -> None:
    shown = ["final_fq", "a", "b"]
    picks = {"j1": [0, 0, 1, 2], "j2": [0, 1, 1, 2]}
    records = [nway(f"q{k}", C1, shown, picks[j][k], judge=j) for j in picks for k in range(4)]
    report = agreement_report(judgments_frame(records))
    overall = report["pairs"][0]["overall"]
    assert overall["same_winner"] == 0.75 and overall["n"] == 4
    table = [[2, 0, 0], [1, 1, 0], [0, 2, 0], [0, 0, 2]]
    assert overall["fleiss_kappa"] == pytest.approx(fleiss_kappa(table))
    assert report["panel"]["fleiss_kappa"] == pytest.approx(fleiss_kappa(table))
    assert overall["cohen_kappa"] == pytest.approx(
        cohen_kappa(["f", "f", "a", "b"], ["f", "a", "a", "b"])
    )


def test_human_labels_join_as_a_rater() -> None:
    records = _two_judge_scores(n=6)
    frame = pd.DataFrame(records)
    human = frame[frame["judge"] == "j1"][["question_id", "criterion", "score"]].assign(
        system=frame[frame["judge"] == "j1"]["variant"]
    )
    report = agreement_report(judgments_frame(records), human=human)
    by_judge = {p["a"]: p["overall"] for p in report["human"]}
    assert by_judge["j1"]["pearson"]["r"] == pytest.approx(1.0)
    assert by_judge["j1"]["exact_agreement"] == 1.0

    winners = pd.DataFrame(
        {"question_id": ["q0", "q1"], "criterion": [C1, C1], "winner": ["final_fq", "a"]}
    )
    nrecords = [nway("q0", C1, ["final_fq", "a"], 0), nway("q1", C1, ["final_fq", "a"], 0)]
    nreport = agreement_report(judgments_frame(nrecords), human=winners)
    assert nreport["human"][0]["overall"]["same_winner"] == 0.5


def test_cohen_kappa_orders_numeric_labels_by_value() -> None:
    # Seen labels (1, 2, 10) in numeric order, quadratic weights by position (as sklearn's
    # cohen_kappa_score with its default labels): O-weighted 1, E-weighted 1.5 -> 1 - 1/1.5.
    # String order ("1" < "10" < "2") gave -2/3.
    assert cohen_kappa([1, 2], [2, 10], weights="quadratic") == pytest.approx(1 / 3)
    assert cohen_kappa([1, 2], [2, 10], weights="quadratic", categories=(1, 2, 10)) == (
        pytest.approx(1 / 3)
    )
    # Negative labels: -1 < 0 < 1, so perfectly reversed ratings give -1.
    assert cohen_kappa([-1, 0, 1], [1, 0, -1], weights="quadratic") == pytest.approx(-1.0)
    # Mixed types fall back to string order rather than failing.
    assert cohen_kappa(["a", 1], ["a", 1]) == pytest.approx(1.0)


@pytest.mark.parametrize("n", [2, 3, 6])
def test_correlations_with_nan_are_undefined(n: int) -> None:
    from fqeval.analysis._correlation import kendall, pearson, spearman

    x = [float(k) for k in range(n)]
    y = [*x[:-1], float("nan")]
    pr = pearson(x, y)
    assert pr["r"] is None and pr["p"] is None and pr["ci"] is None and pr["n"] == n
    assert "non-finite" in pr["note"]
    assert spearman(x, y)["rho"] is None and "non-finite" in spearman(x, y)["note"]
    assert kendall(y, x)["tau"] is None
    assert pearson(x, [*x[:-1], float("inf")])["r"] is None
