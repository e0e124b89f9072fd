"""Multiple-testing corrections: adjusted p-values for a family of ``m`` one-sided tests.

A hypothesis is rejected when its *adjusted* p-value is ``<= alpha``. With raw p-values
``p_(1) <= ... <= p_(m)`` (sorted ascending):

* ``"holm"`` (Holm 1979, step-down; controls the family-wise error rate, FWER, under any
  dependence): ``p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``.
* ``"bonferroni"`` (FWER, any dependence): ``p~_i = min(1, m p_i)``. Never more powerful than
  Holm; kept for users who must quote it.
* ``"bh"`` (Benjamini & Hochberg 1995, step-up; controls the false discovery rate for
  independent or positively dependent tests): ``p~_(i) = min_{j >= i} min(1, m p_(j) / j)``.
  When nothing changed (every null true) FDR equals FWER, so a same-quality run still fails
  at most ``alpha`` of the time; when something did change it rejects more cells than Holm.
* ``"none"``: ``p~_i = p_i``; with ``m`` tests the chance of a false alarm grows to about
  ``1 - (1 - alpha)^m`` (30 cells at 0.05: 79%).

``first_step_level`` is the per-test level of the most lenient first rejection, what a single
true change must reach: ``alpha / m`` for the three corrections, ``alpha`` for ``none``. It
sizes the minimum detectable effect. An empty family gives ``[]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CORRECTIONS: tuple[str, ...] = ("holm", "bonferroni", "bh", "none")
CORRECTION_NAMES: dict[str, str] = {
    "holm": "Holm",
    "bonferroni": "Bonferroni",
    "bh": "Benjamini-Hochberg",
    "none": "no correction",
}


def adjust_p_values(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """Adjusted p-values in the input order (see the module docstring for the formulas)."""
    if method not in CORRECTIONS:
        raise ValueError(
            f"unknown correction '{method}' (expected one of {', '.join(CORRECTIONS)})"
        )
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0 or method == "none":
        return [float(x) for x in p]
    if method == "bonferroni":
        return [float(x) for x in np.minimum(1.0, m * p)]
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        steps = np.minimum(1.0, (m - np.arange(m)) * ranked)
        adjusted_sorted = np.maximum.accumulate(steps)
    else:  # bh
        steps = np.minimum(1.0, m * ranked / np.arange(1, m + 1))
        adjusted_sorted = np.minimum.accumulate(steps[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return [float(x) for x in adjusted]


def first_step_level(alpha: float, m: int, method: str = "holm") -> float:
    """Per-test level a single true change must reach: ``alpha / m`` (``alpha`` for none)."""
    if method == "none" or m <= 1:
        return alpha
    return alpha / m
