"""The gate's decision rule on hand-built summaries (the unpaired test): the margin, the
family correction, the MDE, missing cells and bad usage, each checked by hand."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from scipy import stats

from fqeval.errors import UsageError
from fqeval.reports import compare_summaries
from fqeval.reports._check import drop_p_value
from tests.reports._runs import C1, score_records, summary_of

Z = stats.norm.ppf(0.975)


def _summary(cells: dict[tuple[str, str], tuple[float, float]]) -> dict[str, Any]:
    """n-way summary with the given (criterion, system) -> (rate, half-width of the CI)."""
    criteria: dict[str, Any] = {}
    for (criterion, system), (rate, half) in cells.items():
        entry = {"selection_rate": rate, "ci": [rate - half, rate + half], "n": 100}
        criteria.setdefault(criterion, {"n": 100, "systems": {}})["systems"][system] = entry
    systems = list(dict.fromkeys(s for _, s in cells))
    return {
        "mode": "nway",
        "metric": "selection_rate",
        "systems": systems,
        "criteria": criteria,
        "overall": {"systems": {}},
    }


def _row(result, criterion: str = "C", system: str = "a"):  # type: ignore[no-untyped-def]
    return next(r for r in result.rows if r.criterion == criterion and r.system == system)


def test_one_cell_against_zero_and_against_the_margin() -> None:
    # baseline 0.6 [0.5, 0.7], current 0.4 [0.3, 0.5]: se = 0.1 / z each, drop 0.2.
    base, cur = _summary({("C", "a"): (0.6, 0.1)}), _summary({("C", "a"): (0.4, 0.1)})
    scale = (2 * (0.1 / Z) ** 2) ** 0.5
    result = compare_summaries(base, cur)
    row = _row(result)
    assert row.drop == pytest.approx(0.2) and row.test == "unpaired"
    assert row.p_raw == pytest.approx(stats.norm.sf(0.2 / scale))  # 0.0028
    assert row.p_adjusted == row.p_raw and result.family_size == 1
    assert row.decision == "fail" and not result.passed
    assert row.ci == (pytest.approx(0.2 - Z * scale), pytest.approx(0.2 + Z * scale))
    # MDE with one test: (z_0.95 + z_0.80) * se = 2.486 * 0.0722 = 0.179.
    assert row.mde == pytest.approx((stats.norm.isf(0.05) + stats.norm.ppf(0.8)) * scale)
    # --max-drop 0.1: the test is against the margin, z = (0.2 - 0.1) / scale = 1.39, p 0.083.
    lenient = compare_summaries(base, cur, max_drop=0.1)
    assert _row(lenient).p_raw == pytest.approx(stats.norm.sf(0.1 / scale))
    assert lenient.passed and _row(lenient).decision == "pass"
    assert _row(lenient).mde == pytest.approx(0.1 + _row(result).mde)
    # A drop smaller than the margin never fails; improvements never fail.
    assert compare_summaries(base, cur, max_drop=0.3).passed
    assert compare_summaries(cur, base).passed and _row(compare_summaries(cur, base)).status == "up"


def _family(p_values: list[float]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Cells whose raw unpaired p-values are exactly ``p_values`` (drop = isf(p) * scale)."""
    half = 0.1
    scale = (2 * (half / Z) ** 2) ** 0.5
    base = {("C", f"s{k}"): (0.5, half) for k in range(len(p_values))}
    cur = {("C", f"s{k}"): (0.5 - stats.norm.isf(p) * scale, half) for k, p in enumerate(p_values)}
    return _summary(base), _summary(cur)


def test_the_family_is_corrected_holm_by_default() -> None:
    # One cell at p = 0.02 fails alone; among 30 cells (29 unchanged) Holm needs p <= 0.05/30.
    base, cur = _family([0.02])
    assert not compare_summaries(base, cur).passed
    base, cur = _family([0.02] + [0.5] * 29)
    result = compare_summaries(base, cur)
    assert result.family_size == 30 and result.family == "30 cells, Holm at alpha 0.05"
    assert result.passed and _row(result, system="s0").p_adjusted == pytest.approx(0.6)
    assert not compare_summaries(base, cur, correction="none").passed
    # p = (0.01, 0.02, 0.03): Holm 0.03, 0.04, 0.03 -> all fail; Bonferroni 0.03, 0.06, 0.09 ->
    # one fails; BH 0.03 each -> all fail; none -> all fail.
    base, cur = _family([0.01, 0.02, 0.03])
    failed = {
        method: sorted(r.system for r in compare_summaries(base, cur, correction=method).failures)
        for method in ("holm", "bonferroni", "bh", "none")
    }
    assert failed == {
        "holm": ["s0", "s1", "s2"],
        "bonferroni": ["s0"],
        "bh": ["s0", "s1", "s2"],
        "none": ["s0", "s1", "s2"],
    }
    # MDE under Holm with 3 cells uses the first step's level alpha / 3.
    row = _row(compare_summaries(base, cur), system="s0")
    scale = (2 * (0.1 / Z) ** 2) ** 0.5
    assert row.mde == pytest.approx((stats.norm.isf(0.05 / 3) + stats.norm.ppf(0.8)) * scale)


def test_cells_systems_and_criteria_narrow_the_family() -> None:
    cells = {(c, s): (0.5, 0.1) for c in ("C", "D") for s in ("a", "b")}
    base = _summary(cells)
    base["overall"]["systems"] = {s: {"selection_rate": 0.5, "ci": [0.4, 0.6]} for s in "ab"}
    assert compare_summaries(base, base).family_size == 6
    assert compare_summaries(base, base, cells="overall").family_size == 2
    assert compare_summaries(base, base, cells="criteria").family_size == 4
    assert compare_summaries(base, base, systems=("a",)).family_size == 3
    narrowed = compare_summaries(base, base, criteria=("D",), systems=("b",))
    assert [(r.criterion, r.system) for r in narrowed.rows] == [("D", "b"), ("Overall", "b")]
    with pytest.raises(UsageError, match="--systems: 'zz' not in the baseline"):
        compare_summaries(base, base, systems=("zz",))
    with pytest.raises(UsageError, match="--criteria"):
        compare_summaries(base, base, criteria=("nope",))


def test_a_missing_system_fails_with_its_name_unless_allowed() -> None:
    base = _summary({("C", "a"): (0.5, 0.1), ("C", "b"): (0.5, 0.1)})
    cur = _summary({("C", "a"): (0.5, 0.1)})
    result = compare_summaries(base, cur)
    row = _row(result, system="b")
    assert not result.passed and row.decision == "fail" and row.status == "missing"
    assert "system 'b' is not in the current run" in row.reason
    assert result.family_size == 1  # a missing cell fails by rule, it is not a test
    allowed = compare_summaries(base, cur, allow_missing=True)
    assert allowed.passed and _row(allowed, system="b").decision == "skip"
    # A cell left without any valid judgment is missing too; a new system is only listed.
    empty = copy.deepcopy(base)
    empty["criteria"]["C"]["systems"]["b"].update(selection_rate=None, ci=None)
    row = _row(compare_summaries(base, empty), system="b")
    assert row.decision == "fail" and "no valid judgment in the current run" in row.reason
    grown = compare_summaries(cur, base)
    assert grown.passed and _row(grown, system="b").status == "new"


def test_rank_direction_and_point_intervals() -> None:
    assert drop_p_value(0.3, 0.0, 0.0) == 0.0 and drop_p_value(-0.3, 0.0, 0.0) == 1.0
    assert drop_p_value(0.3, 0.0, 0.0, margin=0.3) == 1.0
    base = {
        "mode": "rank",
        "criteria": {"C": {"systems": {"a": {"mean_rank": 1.0, "ci": [1.0, 1.0]}}}},
        "overall": {"systems": {}},
    }
    worse = copy.deepcopy(base)
    worse["criteria"]["C"]["systems"]["a"].update(mean_rank=2.0, ci=[2.0, 2.0])
    assert not compare_summaries(base, worse).passed  # a higher rank is worse
    assert compare_summaries(worse, base).passed


def test_real_summaries_and_bad_usage() -> None:
    base = summary_of(score_records(), "score")
    same = compare_summaries(base, copy.deepcopy(base))
    assert same.passed and {r.status for r in same.rows} == {"same"}
    worse = summary_of(score_records(shift=1), "score")
    result = compare_summaries(base, worse)
    assert not result.passed and result.family_size == 9
    # A margin of half the drop is not cleared at 10 QA pairs with these intervals.
    assert compare_summaries(base, worse, max_drop=0.5).passed
    row = _row(result, C1, "final_fq")
    assert row.delta == pytest.approx(-1.0) and row.p is not None and row.p < 0.05
    untested = copy.deepcopy(base)
    untested["criteria"][C1]["systems"]["final_fq"].update(ci=None)
    assert _row(compare_summaries(base, untested), C1, "final_fq").status == "untested"
    with pytest.raises(UsageError):
        compare_summaries(base, {**base, "mode": "nway"})
    for bad in ({"alpha": 1.5}, {"max_drop": -1}, {"correction": "sidak"}, {"cells": "some"}):
        with pytest.raises(UsageError):
            compare_summaries(base, base, **bad)
