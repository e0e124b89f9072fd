"""Cluster bootstrap: reproducible, degenerate cases exact, and equal to a naive replay;
the summary's Wilson interval with a design effect against textbook values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fqeval.analysis import bootstrap_mean_ci, resample_weights
from fqeval.analysis._bootstrap import wilson_interval
from fqeval.analysis._estimates import grid_estimates


def test_weights_are_seeded_multinomial_draws() -> None:
    w = resample_weights(7, 50, seed=3)
    assert w.shape == (50, 7)
    assert (w.sum(axis=1) == 7).all()
    assert np.array_equal(w, resample_weights(7, 50, seed=3))
    assert not np.array_equal(w, resample_weights(7, 50, seed=4))


def test_one_cluster_gives_a_point_interval() -> None:
    mean, ci = bootstrap_mean_ci([0.0, 1.0, 1.0], ["q1", "q1", "q1"], n_boot=200)
    assert mean == pytest.approx(2 / 3)
    assert ci == [pytest.approx(2 / 3), pytest.approx(2 / 3)]


def test_constant_values_give_a_point_interval() -> None:
    mean, ci = bootstrap_mean_ci([4.0] * 6, ["a", "b", "c", "d", "e", "f"], n_boot=300)
    assert mean == 4.0 and ci == [4.0, 4.0]


def test_empty_input_has_no_mean() -> None:
    assert bootstrap_mean_ci([], [], n_boot=10) == (None, None)


def test_interval_brackets_the_mean_and_narrows_with_more_clusters() -> None:
    rng = np.random.default_rng(0)
    small = rng.integers(1, 6, 20).astype(float)
    large = rng.integers(1, 6, 2000).astype(float)
    m1, ci1 = bootstrap_mean_ci(small, [f"q{k}" for k in range(20)], n_boot=500)
    m2, ci2 = bootstrap_mean_ci(large, [f"q{k}" for k in range(2000)], n_boot=500)
    assert ci1 is not None and ci2 is not None and m1 is not None and m2 is not None
    assert ci1[0] <= m1 <= ci1[1] and ci2[0] <= m2 <= ci2[1]
    assert ci2[1] - ci2[0] < ci1[1] - ci1[0]


def _replayed_interval(
    values: list[float], point: float, clusters: int, bounds: tuple[float, float]
) -> tuple[float, float]:
    low, high = wilson_interval(
        np.asarray([point]), np.asarray(values)[:, None], np.asarray([clusters]), bounds
    )
    return float(low[0]), float(high[0])


def test_grid_matches_a_naive_replay_of_the_same_resamples() -> None:
    """The vectorised ratio-of-sums equals recomputing each resample with pandas; the interval
    is the Wilson interval of the replayed resamples' variance (scale: the values' range)."""
    rng = np.random.default_rng(1)
    rows = []
    for q in range(12):
        for crit in ("C1", "C2"):
            if (q + len(crit)) % 5 == 0:
                continue  # unbalanced: some clusters lack a criterion
            for system in ("a", "b"):
                rows.append((f"q{q:02d}", crit, system, float(rng.integers(1, 6))))
    units = pd.DataFrame(rows, columns=["question_id", "criterion", "system", "value"])
    grid = grid_estimates(
        units, ["a", "b"], ["C1", "C2"], overall="mean_of_criteria", n_boot=64, seed=9
    )

    clusters = sorted(units["question_id"].unique())
    weights = resample_weights(len(clusters), 64, seed=9)
    naive: dict[tuple[str, str], list[float]] = {}
    overall: dict[str, list[float]] = {"a": [], "b": []}
    for w in weights:
        drawn = pd.concat(
            [
                units[units["question_id"] == c]
                for c, k in zip(clusters, w, strict=True)
                for _ in range(k)
            ]
        )
        means = drawn.groupby(["criterion", "system"])["value"].mean()
        for key, value in means.items():
            naive.setdefault(key, []).append(value)  # type: ignore[arg-type]
        for system in ("a", "b"):
            overall[system].append(means.xs(system, level="system").mean())
    bounds = (float(units["value"].min()), float(units["value"].max()))
    for (crit, system), values in naive.items():
        cell = units[(units["criterion"] == crit) & (units["system"] == system)]
        est = grid.per_criterion[crit][system]
        assert est.value == pytest.approx(cell["value"].mean())
        low, high = _replayed_interval(
            values, cell["value"].mean(), cell["question_id"].nunique(), bounds
        )
        assert est.ci == (pytest.approx(low), pytest.approx(high))
    for system, values in overall.items():
        mine = units[units["system"] == system]
        point = mine.groupby("criterion")["value"].mean().mean()
        assert grid.overall[system].value == pytest.approx(point)
        low, high = _replayed_interval(values, point, mine["question_id"].nunique(), bounds)
        assert grid.overall[system].ci == (pytest.approx(low), pytest.approx(high))


def test_wilson_interval_with_binomial_variance_is_textbook_wilson() -> None:
    """With resamples whose variance is p(1-p)/n (the bootstrap's for n independent 0/1
    clusters, times (n-1)/n), n* = n and the interval is scipy's Wilson interval."""
    for k, n in ((0, 30), (1, 30), (4, 30), (12, 40), (40, 40)):
        p = k / n
        target = p * (1 - p) / n * (n - 1) / n
        samples = np.asarray([p - np.sqrt(target), p + np.sqrt(target)])[:, None]
        low, high = wilson_interval(np.asarray([p]), samples, np.asarray([n]), (0.0, 1.0))
        ref = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert (low[0], high[0]) == (pytest.approx(ref.low), pytest.approx(ref.high))
    # No win in 30 QA pairs: [0, z^2 / (30 + z^2)], not the percentile bootstrap's [0, 0].
    low, high = wilson_interval(np.zeros(1), np.zeros((50, 1)), np.asarray([30]), (0.0, 1.0))
    z2 = stats.norm.ppf(0.975) ** 2
    assert low[0] == 0.0 and high[0] == pytest.approx(z2 / (30 + z2))


def test_wilson_interval_rescales_and_keeps_degenerate_cells() -> None:
    # Scores on 1-5: the rescaled interval mapped back; a mean of 5 over 10 QA pairs is a bound.
    low, high = wilson_interval(np.asarray([5.0]), np.full((20, 1), 5.0), np.asarray([10]), (1, 5))
    ref = stats.binomtest(10, 10).proportion_ci(0.95, method="wilson")
    assert (low[0], high[0]) == (pytest.approx(1 + 4 * ref.low), 5.0)
    # Constant inside the range (v = 0): the point; no range, NaN point or NaN resamples.
    point = np.asarray([3.0])
    assert wilson_interval(point, np.full((9, 1), 3.0), np.asarray([8]), (1, 5)) == (3.0, 3.0)
    assert wilson_interval(point, np.full((9, 1), 3.0), np.asarray([8]), (3, 3)) == (3.0, 3.0)
    low, high = wilson_interval(np.asarray([np.nan]), np.full((9, 1), np.nan), np.ones(1), (0, 1))
    assert np.isnan(low[0]) and np.isnan(high[0])
    # Far from the bounds with many clusters it is the normal interval p +- z sd(resamples).
    rng = np.random.default_rng(5)
    boot = rng.normal(0.5, 0.02, size=(4000, 1))
    low, high = wilson_interval(np.asarray([0.5]), boot, np.asarray([2000]), (0.0, 1.0))
    sd = float(np.std(boot)) * np.sqrt(2000 / 1999)
    assert (low[0], high[0]) == (
        pytest.approx(0.5 - 1.96 * sd, abs=2e-4),
        pytest.approx(0.5 + 1.96 * sd, abs=2e-4),
    )


def test_cell_without_units_is_none() -> None:
    units = pd.DataFrame(
        {"question_id": ["q1"], "criterion": ["C1"], "system": ["a"], "value": [1.0]}
    )
    grid = grid_estimates(units, ["a", "b"], ["C1"], overall="pooled", n_boot=20)
    assert grid.per_criterion["C1"]["b"].value is None
    assert grid.per_criterion["C1"]["b"].ci is None and grid.per_criterion["C1"]["b"].n == 0
    empty = grid_estimates(units.iloc[0:0], ["a"], ["C1"], overall="pooled", n_boot=20)
    assert empty.overall["a"].value is None and empty.overall["a"].n == 0
