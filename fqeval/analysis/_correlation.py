"""Correlations that return JSON-safe results (``None`` plus a note where undefined).

Undefined cases, the same for every coefficient: fewer than 2 pairs, any NaN or infinite
value (scipy would return NaN), or a constant input.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats


def _num(x: object) -> float | None:
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _undefined(x: np.ndarray, y: np.ndarray) -> str | None:
    if x.size < 2:
        return "fewer than 2 paired values"
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return "non-finite input (NaN or inf): correlation undefined"
    if np.all(x == x[0]) or np.all(y == y[0]):
        return "constant input: correlation undefined"
    return None


def fisher_z_ci(r: float, n: int, level: float = 0.95) -> list[float] | None:
    """Fisher-z interval for Pearson's r: ``tanh(atanh(r) +- z_{(1+level)/2} / sqrt(n - 3))``.

    Needs ``n > 3``; ``|r| = 1`` gives ``[r, r]``.
    """
    if n <= 3:
        return None
    if abs(r) >= 1.0:
        return [float(r), float(r)]
    z = math.atanh(r)
    half = float(stats.norm.ppf(0.5 + level / 2.0)) / math.sqrt(n - 3)
    return [math.tanh(z - half), math.tanh(z + half)]


def pearson(x: Sequence[float], y: Sequence[float], level: float = 0.95) -> dict[str, Any]:
    """``{"r", "p", "ci", "n"}`` from :func:`scipy.stats.pearsonr`, CI by Fisher z.

    Undefined (n < 2, a NaN or infinite value, constant input) -> ``r``/``p``/``ci`` ``None``
    and a ``note``; the caller decides whether to drop incomplete pairs first. At n = 2 the
    sign of r is defined but ``p`` is 1 and there is no interval.
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    note = _undefined(a, b)
    if note:
        return {"r": None, "p": None, "ci": None, "n": int(a.size), "note": note}
    if a.size == 2:
        r = float(np.sign(np.corrcoef(a, b)[0, 1]))
        return {"r": r, "p": 1.0, "ci": None, "n": 2}
    res = stats.pearsonr(a, b)
    r = float(res.statistic)
    return {
        "r": r,
        "p": _num(res.pvalue),
        "ci": fisher_z_ci(r, int(a.size), level),
        "n": int(a.size),
    }


def _rank_correlation(
    x: Sequence[float], y: Sequence[float], name: str, compute: Any
) -> dict[str, Any]:
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    note = _undefined(a, b)
    if note:
        return {name: None, "p": None, "n": int(a.size), "note": note}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compute(a, b)
    return {name: _num(res.statistic), "p": _num(res.pvalue), "n": int(a.size)}


def spearman(x: Sequence[float], y: Sequence[float]) -> dict[str, Any]:
    """``{"rho", "p", "n"}`` from :func:`scipy.stats.spearmanr` (``None`` plus note if undefined)."""
    return _rank_correlation(x, y, "rho", stats.spearmanr)


def kendall(x: Sequence[float], y: Sequence[float]) -> dict[str, Any]:
    """``{"tau", "p", "n"}``: Kendall's tau-b (:func:`scipy.stats.kendalltau`, variant ``b``)."""
    return _rank_correlation(x, y, "tau", lambda a, b: stats.kendalltau(a, b, variant="b"))
