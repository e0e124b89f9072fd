"""Cluster bootstrap: resample QA pairs (clusters) with replacement, vectorised with numpy.

The statistics we bootstrap are all ratios of sums, ``sum(values) / sum(counts)`` over the
items of the resampled clusters (a selection rate is the mean share over items, a mean score
the mean over items). So each statistic is reduced once to a matrix of per-cluster sums, and
a resample is a vector of integer multiplicities ``w`` (how often each cluster was drawn,
``w ~ Multinomial(n_clusters, uniform)``). The resampled totals of every statistic at once
are then one matrix product ``W @ sums`` (``W`` is ``n_boot x n_clusters``); no per-resample
pandas work happens.

Two intervals are built from the resamples. :func:`percentile_interval` (the resampled
statistic's quantiles) serves :func:`bootstrap_mean_ci`. The summary's intervals use
:func:`wilson_interval`: a Wilson score interval whose sample size is the *effective* number
of observations implied by the bootstrap variance (a design effect), because percentile
intervals on few clusters undercover badly where the metric sits near its bound (a
selection rate of 0.05 over 30 QA pairs: every resample of the 21% of samples with no win is
0, so the interval is ``[0, 0]``; coverage 77%).

Edge cases: one cluster -> every resample equals the data -> the interval is ``[x, x]``; a
resample whose denominator is 0 (it drew only clusters without data for that cell) gives NaN
and is left out of the percentiles; when every resample is NaN the interval is ``None``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import stats

#: Cells of ``n_boot x n_clusters`` weights held in memory at once (chunking bound).
_CHUNK_CELLS = 4_000_000


def resample_weights(n_clusters: int, n_boot: int, seed: int) -> NDArray[np.int64]:
    """Cluster multiplicities for ``n_boot`` resamples, shape ``(n_boot, n_clusters)``.

    Row ``b`` counts how often each cluster appears in resample ``b``; every row sums to
    ``n_clusters``. Seeded (``numpy.random.default_rng(seed)``), so results are reproducible.
    """
    rng = np.random.default_rng(seed)
    if n_clusters == 0:
        return np.zeros((n_boot, 0), dtype=np.int64)
    pvals = np.full(n_clusters, 1.0 / n_clusters)
    return rng.multinomial(n_clusters, pvals, size=n_boot).astype(np.int64)


def bootstrap_totals(
    arrays: Sequence[NDArray[np.float64]], *, n_boot: int, seed: int
) -> list[NDArray[np.float64]]:
    """Resampled column totals of per-cluster sums.

    Each array has shape ``(n_clusters, *cells)`` and holds, per cluster, the sum of some
    quantity (values, item counts). Returns, for each array, ``(n_boot, *cells)`` totals
    ``W @ array`` under the same resamples (so ratios of two arrays stay paired). Weights are
    drawn in chunks to bound memory when there are many clusters.
    """
    if not arrays:
        return []
    n_clusters = arrays[0].shape[0]
    flats = [np.asarray(a, dtype=np.float64).reshape(n_clusters, -1) for a in arrays]
    weights = resample_weights(n_clusters, n_boot, seed)
    chunk = max(1, _CHUNK_CELLS // max(1, n_clusters))
    outs = [np.empty((n_boot, f.shape[1])) for f in flats]
    for start in range(0, n_boot, chunk):
        w = weights[start : start + chunk].astype(np.float64)
        for flat, out in zip(flats, outs, strict=True):
            out[start : start + chunk] = w @ flat
    return [out.reshape((n_boot, *a.shape[1:])) for out, a in zip(outs, arrays, strict=True)]


def safe_ratio(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    """``num / den`` elementwise, NaN where ``den == 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def percentile_interval(
    samples: NDArray[np.float64], level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Percentile interval over axis 0, ignoring NaN resamples (all NaN -> NaN bounds).

    ``low = q_{(1-level)/2}``, ``high = q_{(1+level)/2}`` of the resampled statistic (numpy's
    linear interpolation between order statistics).
    """
    tail = (1.0 - level) / 2.0 * 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells are expected
        low = np.nanpercentile(samples, tail, axis=0)
        high = np.nanpercentile(samples, 100.0 - tail, axis=0)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def wilson_interval(
    point: NDArray[np.float64],
    samples: NDArray[np.float64],
    n_clusters: NDArray[np.float64],
    bounds: tuple[float, float],
    level: float = 0.95,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson score interval with a design effect, elementwise over cells.

    The metric lives in ``bounds = (lo, hi)`` (rates: 0-1, scores: 1-5); it is rescaled to
    ``p = (point - lo) / (hi - lo)`` in [0, 1]. Its variance ``v`` is the variance of the
    resampled statistic (``samples``, axis 0, NaN resamples left out) on that scale, times
    ``g / (g - 1)`` for ``g`` clusters (the bootstrap's ``1/g`` divisor made unbiased). The
    effective sample size is the number of independent Bernoulli draws with that variance,
    ``n* = p (1 - p) / v`` (Kish's design effect ``deff = n / n*``, Korn & Graubard 1998), and
    the interval is Wilson's with ``n*`` and ``z = Phi^-1((1 + level) / 2)``::

        centre = (p + z^2 / (2 n*)) / (1 + z^2 / n*)
        half   = z / (1 + z^2 / n*) * sqrt(p (1 - p) / n* + z^2 / (4 n*^2))
        [lo + (hi - lo) (centre - half), lo + (hi - lo) (centre + half)]

    Unlike the percentile interval it never collapses to a point at a bound: with no win in
    ``g`` QA pairs (``p = 0``, ``v = 0``) ``n* = g`` and the upper end is ``z^2 / (g + z^2)``
    (0.113 at ``g = 30``). Away from the bounds it is the normal interval ``p +- z sqrt(v)``
    pulled slightly towards 1/2, so it keeps the bootstrap's cluster variance (criteria of a
    QA pair moving together). Edge cases: ``v = 0`` inside the bounds (constant values, one
    cluster) -> ``[x, x]``; ``hi <= lo`` -> ``[x, x]``; a NaN point or an all-NaN cell -> NaN.
    """
    lo, hi = float(bounds[0]), float(bounds[1])
    point = np.asarray(point, dtype=np.float64)
    if not hi > lo:
        return point.copy(), point.copy()
    width = hi - lo
    g = np.asarray(n_clusters, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells are expected
        var = np.nanvar(samples, axis=0) / width**2
    with np.errstate(divide="ignore", invalid="ignore"):
        var = var * np.where(g > 1, g / (g - 1.0), 1.0)
        p = np.clip((point - lo) / width, 0.0, 1.0)
        spread = p * (1.0 - p)
        at_bound = spread <= 1e-12
        n_eff = np.where(at_bound, np.maximum(g, 1.0), spread / var)
        z = float(stats.norm.ppf(0.5 + level / 2.0))
        z2n = z * z / n_eff
        centre = (p + z2n / 2.0) / (1.0 + z2n)
        half = z / (1.0 + z2n) * np.sqrt(spread / n_eff + z2n / (4.0 * n_eff))
    # v == 0 away from a bound: nothing varies between resamples, the interval is the point.
    point_only = ~at_bound & ~(var > 0)
    low = np.where(point_only, p, np.clip(centre - half, 0.0, 1.0))
    high = np.where(point_only, p, np.clip(centre + half, 0.0, 1.0))
    missing = ~np.isfinite(point) | ~np.isfinite(var)
    low = np.where(missing, np.nan, lo + width * low)
    high = np.where(missing, np.nan, lo + width * high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def bootstrap_mean_ci(
    values: Sequence[float],
    clusters: Sequence[object],
    *,
    n_boot: int = 1000,
    seed: int = 42,
    level: float = 0.95,
) -> tuple[float | None, list[float] | None]:
    """Mean of ``values`` with a cluster-bootstrap percentile interval.

    ``mean = sum(v) / n``; resamples draw clusters with replacement and recompute
    ``sum(v in drawn clusters) / count``. Empty input -> ``(None, None)``; one cluster or
    constant values -> ``[mean, mean]``.
    """
    vals = np.asarray(values, dtype=np.float64)
    if vals.size == 0:
        return None, None
    _, index = np.unique(np.asarray([str(c) for c in clusters]), return_inverse=True)
    n_clusters = int(index.max()) + 1
    num: NDArray[np.float64] = np.bincount(index, weights=vals, minlength=n_clusters).astype(
        np.float64
    )
    den: NDArray[np.float64] = np.bincount(index, minlength=n_clusters).astype(np.float64)
    tot_num, tot_den = bootstrap_totals([num, den], n_boot=n_boot, seed=seed)
    low, high = percentile_interval(safe_ratio(tot_num, tot_den), level)
    mean = float(num.sum() / den.sum())
    return mean, [float(low), float(high)]
