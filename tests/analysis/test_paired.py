"""Paired drops and the sign-flip test, multiplicity corrections: hand-checked values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fqeval.analysis._multiplicity import adjust_p_values, first_step_level
from fqeval.analysis._paired import paired_drops, sign_flip_p_values


def test_holm_bonferroni_bh_textbook_values() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> 0.02, 0.03, 0.06, max(0.06, 0.04).
    assert adjust_p_values(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust_p_values(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.02])
    # BH: m p / rank = 0.02, 0.02, 0.04, 0.04 (already monotone).
    assert adjust_p_values(p, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjust_p_values(p, "none") == p
    assert adjust_p_values([0.9, 0.8], "bonferroni") == [1.0, 1.0]
    assert adjust_p_values([], "holm") == []
    assert first_step_level(0.05, 30, "holm") == pytest.approx(0.05 / 30)
    assert first_step_level(0.05, 30, "none") == 0.05
    with pytest.raises(ValueError, match="unknown correction"):
        adjust_p_values([0.1], "sidak")


def test_sign_flip_enumerates_every_pattern_for_few_clusters() -> None:
    # x = (2, 1, -1), S = 2: the patterns summing to >= 2 are +++ (2), ++- (4), +-- (2): 3/8.
    # x = (1, 1, 1): only +++ reaches 3: 1/8. All zero: every pattern ties: 1.
    x = np.asarray([[2.0, 1.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]])
    p, flips, exact = sign_flip_p_values(x)
    assert exact and flips == 8
    assert p == pytest.approx([3 / 8, 1 / 8, 1.0])


def test_sign_flip_monte_carlo_is_seeded_and_near_the_normal_value() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.15, 1.0, size=(400, 1)) / 400
    p1, flips, exact = sign_flip_p_values(x, n_flips=20_000, seed=1)
    p2, _, _ = sign_flip_p_values(x, n_flips=20_000, seed=1)
    assert not exact and flips == 20_000 and p1 == p2
    from scipy import stats

    normal = stats.norm.sf(x.sum() / np.sqrt(np.square(x).sum()))
    assert p1[0] == pytest.approx(normal, abs=0.01)


def _units(values: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    return pd.DataFrame(
        [(q, c, s, v) for (q, c, s), v in values.items()],
        columns=["question_id", "criterion", "system", "value"],
    )


def test_paired_drops_hand_checked() -> None:
    # 4 QA pairs x 2 criteria, system "a"; the current run lost q0 on C2 (invalid there).
    base, cur = {}, {}
    for k, q in enumerate(("q0", "q1", "q2", "q3")):
        base[(q, "C1", "a")], cur[(q, "C1", "a")] = 4.0, 3.0  # drop 1 on every C1 unit
        base[(q, "C2", "a")] = 2.0 + k
        if q != "q0":
            cur[(q, "C2", "a")] = 2.0 + k  # no change on C2
    drops = paired_drops(
        _units(base), _units(cur), ["a"], ["C1", "C2"], overall="pooled", higher_is_better=True
    )
    c1, c2, overall = (
        drops.per_criterion["C1"]["a"],
        drops.per_criterion["C2"]["a"],
        drops.overall["a"],
    )
    assert (c1.baseline, c1.current, c1.drop, c1.se, c1.n_clusters) == (4.0, 3.0, 1.0, 0.0, 4)
    assert c1.p == pytest.approx(1 / 16)  # only ++++ of the 16 patterns reaches S = 1
    # C2 pairs q1..q3 only (scores 3, 4, 5 in both runs).
    assert (c2.baseline, c2.drop, c2.n_units, c2.p) == (pytest.approx(4.0), 0.0, 3, 1.0)
    # Pooled overall over the 7 paired units: drop 4/7; every QA pair contributes t_q = 1/7
    # (q0: its C1 unit only; q1..q3: 1 + 0), with weights w_q = 1/7, 2/7, 2/7, 2/7.
    assert overall.drop == pytest.approx(4 / 7) and overall.n_units == 7
    t = np.asarray([1, 1, 1, 1]) / 7
    w = np.asarray([1, 2, 2, 2]) / 7
    se = np.sqrt(4 / 3 * np.square(t - 4 / 7 * w).sum())
    assert overall.se == pytest.approx(se)
    # Mean of criteria instead: (1 + 0) / 2.
    mean_of = paired_drops(
        _units(base), _units(cur), ["a"], ["C1", "C2"], overall="mean_of_criteria"
    )
    assert mean_of.overall["a"].drop == pytest.approx(0.5)
    assert mean_of.overall["a"].baseline == pytest.approx((4.0 + 4.0) / 2)


def test_margin_and_direction() -> None:
    base = {(f"q{k}", "C", "a"): 3.0 for k in range(5)}
    cur = {(f"q{k}", "C", "a"): 2.0 for k in range(5)}
    for margin, p in ((0.5, 1 / 32), (1.0, 1.0), (1.5, 1.0)):
        cell = paired_drops(
            _units(base), _units(cur), ["a"], ["C"], overall="pooled", margin=margin
        )
        assert cell.per_criterion["C"]["a"].p == pytest.approx(p), margin
    # Ranks: lower is better, so going from rank 3 to rank 2 is an improvement.
    rank = paired_drops(
        _units(base), _units(cur), ["a"], ["C"], overall="pooled", higher_is_better=False
    )
    assert rank.per_criterion["C"]["a"].drop == -1.0 and rank.per_criterion["C"]["a"].p == 1.0


def test_no_shared_unit_gives_an_empty_cell() -> None:
    drops = paired_drops(
        _units({("q1", "C", "a"): 1.0}),
        _units({("q2", "C", "a"): 0.0}),
        ["a", "b"],
        ["C"],
        overall="pooled",
    )
    assert drops.n_clusters == 0
    cell = drops.per_criterion["C"]["a"]
    assert cell.drop is None and cell.p is None and cell.n_units == 0
