"""Inter-rater agreement statistics (pure functions over paired labels).

Scipy provides Pearson, Spearman and Kendall (see :mod:`fqeval.analysis._correlation`); the
chance-corrected coefficients below are written out because scipy has none of them.
Every function returns ``None`` where the statistic is undefined (documented per function).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np


def exact_agreement(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Share of pairs with ``a == b`` (``None`` for no pairs)."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    return float(np.mean(np.isclose(x, y))) if x.size else None


def adjacent_agreement(
    a: Sequence[float], b: Sequence[float], tolerance: float = 1.0
) -> float | None:
    """Share of pairs with ``|a - b| <= tolerance`` (1 point: the paper's 97.2% figure)."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    return float(np.mean(np.abs(x - y) <= tolerance + 1e-9)) if x.size else None


def cohen_kappa(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    *,
    weights: str | None = None,
    categories: Sequence[Hashable] | None = None,
) -> float | None:
    """Cohen's kappa of two raters, optionally weighted.

    With observed joint proportions ``O_ij``, chance proportions ``E_ij = r_i c_j`` (product of
    the marginals) and disagreement weights ``w_ij`` (unweighted: ``[i != j]``; ``"linear"``:
    ``|i-j|/(K-1)``; ``"quadratic"``: ``(i-j)^2/(K-1)^2`` over the ordered ``categories``)::

        kappa = 1 - sum(w * O) / sum(w * E)

    Undefined (``None``) with no pairs or when ``sum(w * E) == 0`` (both raters always used
    the same single category). ``categories`` fixes the ordinal scale; for scores pass
    ``(1, 2, 3, 4, 5)``. The default is the labels seen, sorted by value when they are all
    numbers (so ``2 < 10`` and ``-1 < 0``, as :func:`sklearn.metrics.cohen_kappa_score` orders
    them) and as strings otherwise. Weights use positions on that scale, not label values:
    ``cohen_kappa([1, 2], [2, 10], weights="quadratic")`` is 1/3 over ``(1, 2, 10)``.
    """
    if len(a) != len(b):
        raise ValueError("cohen_kappa needs paired labels of equal length")
    if not a:
        return None
    cats = list(categories) if categories is not None else _default_categories([*a, *b])
    index = {c: k for k, c in enumerate(cats)}
    k = len(cats)
    joint = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        joint[index[x], index[y]] += 1
    joint /= joint.sum()
    expected = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    i, j = np.indices((k, k))
    if weights is None:
        w = (i != j).astype(float)
    elif weights == "linear":
        w = np.abs(i - j) / max(k - 1, 1)
    elif weights == "quadratic":
        w = (i - j) ** 2 / max(k - 1, 1) ** 2
    else:
        raise ValueError(f"unknown weights '{weights}'")
    denominator = float((w * expected).sum())
    if denominator <= 1e-15:
        return None
    return 1.0 - float((w * joint).sum()) / denominator


def _default_categories(labels: Sequence[Hashable]) -> list[Hashable]:
    """The labels seen, numeric order when every label is a real number, else string order."""
    seen = list(dict.fromkeys(labels))
    if all(isinstance(x, (int, float, np.integer, np.floating)) for x in seen):
        return sorted(seen, key=float)  # type: ignore[arg-type]
    return sorted(seen, key=str)


def fleiss_kappa(counts: np.ndarray | Sequence[Sequence[float]]) -> float | None:
    """Fleiss' kappa from a subjects x categories count table (every row sums to ``n`` raters).

    ``p_j = sum_i n_ij / (N n)``, ``P_i = (sum_j n_ij^2 - n) / (n (n - 1))``,
    ``kappa = (mean(P_i) - sum_j p_j^2) / (1 - sum_j p_j^2)``.
    Undefined (``None``) with no subjects, fewer than 2 raters, unequal rater counts per
    subject, or ``sum_j p_j^2 == 1`` (every rating in one category).
    """
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or table.shape[0] == 0:
        return None
    raters = table.sum(axis=1)
    n = raters[0]
    if n < 2 or not np.allclose(raters, n):
        return None
    p = table.sum(axis=0) / table.sum()
    p_i = (np.square(table).sum(axis=1) - n) / (n * (n - 1))
    p_e = float(np.square(p).sum())
    if p_e >= 1.0 - 1e-15:
        return None
    return (float(p_i.mean()) - p_e) / (1.0 - p_e)


def krippendorff_alpha(
    units: Sequence[Sequence[float | None]] | np.ndarray, level: str = "ordinal"
) -> float | None:
    """Krippendorff's alpha for a units x coders table (``None``/NaN = missing).

    Only units with at least two values are pairable. The coincidence matrix counts, within
    each unit ``u`` with ``m_u`` values, every ordered pair of values from different coders
    weighted ``1 / (m_u - 1)``: ``o_ck``; ``n_c = sum_k o_ck``, ``n = sum_c n_c``. Then::

        alpha = 1 - (n - 1) * sum_{c,k} o_ck d2(c, k) / sum_{c,k} n_c n_k d2(c, k)

    with the squared difference ``d2`` of the level: nominal ``[c != k]``; interval
    ``(c - k)^2``; ordinal ``(sum_{g=c..k} n_g - (n_c + n_k) / 2)^2`` over the ordered values
    that occur (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"). Undefined
    (``None``) when fewer than 2 pairable values exist or the expected disagreement is 0
    (every value identical).
    """
    table = np.asarray(
        [[np.nan if v is None else float(v) for v in row] for row in units], dtype=float
    )
    if table.size == 0:
        return None
    values = np.unique(table[np.isfinite(table)])
    index = {v: k for k, v in enumerate(values)}
    k = len(values)
    coincidence = np.zeros((k, k))
    for row in table:
        present = row[np.isfinite(row)]
        m = present.size
        if m < 2:
            continue
        counts = np.zeros(k)
        for v in present:
            counts[index[v]] += 1
        pairs = np.outer(counts, counts) - np.diag(counts)
        coincidence += pairs / (m - 1)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    if n < 2:
        return None
    if level == "nominal":
        d2 = 1.0 - np.eye(k)
    elif level == "interval":
        d2 = np.subtract.outer(values, values) ** 2
    elif level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(n_c)])
        lo, hi = (
            np.minimum.outer(np.arange(k), np.arange(k)),
            np.maximum.outer(np.arange(k), np.arange(k)),
        )
        between = cum[hi + 1] - cum[lo]
        d2 = (between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2
    else:
        raise ValueError(f"unknown level '{level}'")
    expected = float((np.outer(n_c, n_c) * d2).sum())
    if expected <= 1e-15:
        return None
    return 1.0 - (n - 1.0) * float((coincidence * d2).sum()) / expected
