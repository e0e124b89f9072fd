"""Paired comparison of two runs judged on the same items: per-cell drops and a sign-flip test.

Two runs of the same mode that judged the same QA pairs (a new version of a generator on the
same benchmark) are compared unit by unit. A *unit* is ``(question_id, criterion, system)``
with a value in the panel unit table that :func:`fqeval.analysis.summarize` averages (the
system's vote share of the item, its pairwise outcome 1/0.5/0, its mean score, its mean rank;
see :func:`panel_units`). Only units present in both runs are compared.

Drop of a cell (criterion ``c`` or overall, system ``s``), with ``sign = +1`` when higher is
better (``-1`` for ranks) and ``D_u = sign * (v_baseline(u) - v_current(u))``::

    drop = sum_u w_u D_u,     sum_u w_u = 1

where the weights reproduce the summary's estimator on the paired units: ``w_u = 1 / N_cs``
for a criterion cell (``N_cs`` paired units); overall ``w_u = 1 / N_s`` when pooled (scores,
ranks, pairwise), ``w_u = 1 / (C_s N_cs)`` for the n-way mean of the ``C_s`` criteria rates.
``baseline`` and ``current`` are the same weighted means of each run's values, so ``drop =
sign * (baseline - current)``; with every item valid in both runs they are the summaries'
figures. Per QA pair ``q`` (the cluster: a QA pair's criteria move together) the
contribution is ``t_q = sum_{u in q} w_u D_u`` and its weight ``w_q = sum_{u in q} w_u``.

Standard error (linearised, cluster-robust; ``g`` QA pairs with units in the cell)::

    se^2 = g / (g - 1) * sum_q (t_q - drop * w_q)^2

Test of ``H0: drop <= margin`` against ``drop > margin``: a **sign-flip permutation test over
QA pairs**. With ``x_q = t_q - margin * w_q`` and ``S = sum_q x_q = drop - margin``::

    p = (1 + #{b : sum_q e_bq x_q >= S}) / (1 + B),   e_bq = +-1 with probability 1/2

over ``B`` random sign vectors (all ``2^G`` vectors, ``p = #{...} / 2^G``, when the ``G``
shared QA pairs are at most 12: exact). Why this test and not a paired bootstrap: at
``margin = 0`` it is *exact* for any number of QA pairs. If the two runs are draws of the
same quality on the same items, swapping one QA pair's baseline and current judgments leaves
the joint distribution unchanged (QA pairs are independent), which flips the sign of ``x_q``;
so all sign patterns are equally likely and ``P(p <= alpha) <= alpha`` holds exactly, with no
normal approximation and no resampling of few clusters (the percentile bootstrap's failure
with 30 QA pairs and rare cells). With ``margin > 0`` the null is composite and the test is
approximate: the randomisation distribution has variance ``sum_q x_q^2``, whose expectation
``sum_q Var(t_q) + sum_q (E t_q - margin w_q)^2`` is at least the true variance of ``S``, so
it errs on the conservative side in large samples (Romano 1990, JASA 85:686). Ties with the
observed statistic count as ``>=`` (a relative tolerance of 1e-9 absorbs float error).

Edge cases: a cell with no paired unit has every field ``None`` and no p-value; one QA pair
gives ``se`` ``None`` and the exact ``p`` over its 2 sign patterns; all differences 0 give
``drop = 0``, ``se = 0`` and ``p = 1`` at ``margin = 0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from fqeval.analysis._estimates import Overall
from fqeval.analysis._summary import _ModeTables

PAIR_KEY: list[str] = ["question_id", "criterion", "system"]
#: At most this many shared QA pairs: enumerate every sign vector (exact p-value).
EXACT_MAX_CLUSTERS = 12
#: Cells of ``sign vectors x clusters`` held in memory at once.
_CHUNK_CELLS = 2_000_000


def panel_units(
    frame: pd.DataFrame,
    *,
    mode: str,
    judges: Sequence[str],
    systems: Sequence[str],
    criteria: Sequence[str],
) -> pd.DataFrame:
    """The panel unit table of a judgment table, scoped as :func:`summarize` scopes it.

    Rows of other modes, judges and criteria are ignored (an empty ``judges`` means every
    judge in the table); for pairwise, ``systems`` excludes the reference as the summary's
    ``systems`` list does. Columns: question_id, criterion, system, value (rows with a value
    only), the units whose means are the summary's headline figures.
    """
    if "mode" in frame.columns and frame["mode"].astype(str).ne("").any():
        frame = frame[frame["mode"].isin([mode, ""])]
    judges = list(judges) or list(dict.fromkeys(frame["judge"]))
    frame = frame[frame["judge"].isin(judges) & frame["criterion"].isin(list(criteria))]
    tables = _ModeTables(frame, mode, list(systems), judges, prefer_expected=False)
    units = tables.panel_units
    if units.empty:
        return pd.DataFrame(columns=[*PAIR_KEY, "value"])
    units = units[[*PAIR_KEY, "value"]]
    units = units[units["value"].notna() & units["system"].isin(list(systems))]
    return units.astype({"value": np.float64}).reset_index(drop=True)


@dataclass(frozen=True)
class PairedCell:
    """One cell of the paired comparison (fields ``None`` when it has no paired unit)."""

    baseline: float | None
    current: float | None
    drop: float | None
    se: float | None
    p: float | None
    n_units: int
    n_clusters: int


@dataclass(frozen=True)
class PairedDrops:
    """``per_criterion[criterion][system]`` and ``overall[system]`` paired cells.

    ``n_clusters`` QA pairs have at least one unit in both runs; ``flips`` sign vectors were
    used (``2^n_clusters`` when ``exact``).
    """

    per_criterion: dict[str, dict[str, PairedCell]]
    overall: dict[str, PairedCell]
    n_clusters: int
    flips: int
    exact: bool


def sign_flip_p_values(
    contributions: NDArray[np.float64], *, n_flips: int = 10_000, seed: int = 0
) -> tuple[NDArray[np.float64], int, bool]:
    """One-sided sign-flip p-values of ``S_k = sum_q x_qk > 0`` for every column ``k``.

    ``contributions`` is ``(clusters, cells)``; every cell sees the same sign vectors. Returns
    ``(p, flips, exact)``: exact enumeration of all ``2^G`` vectors when ``G <=``
    :data:`EXACT_MAX_CLUSTERS`, else ``n_flips`` seeded random vectors with
    ``p = (1 + count) / (1 + n_flips)``.
    """
    x = np.asarray(contributions, dtype=np.float64)
    n_clusters, n_cells = x.shape
    observed = x.sum(axis=0)
    tolerance = 1e-9 * (np.abs(x).sum(axis=0) + 1e-300)
    threshold = observed - tolerance
    if n_clusters <= EXACT_MAX_CLUSTERS:
        patterns = np.arange(2**n_clusters)[:, None] >> np.arange(n_clusters)[None, :]
        signs = (patterns & 1) * 2.0 - 1.0
        counts = ((signs @ x) >= threshold).sum(axis=0)
        return counts / float(2**n_clusters), 2**n_clusters, True
    rng = np.random.default_rng(seed)
    counts = np.zeros(n_cells, dtype=np.int64)
    chunk = max(1, _CHUNK_CELLS // n_clusters)
    for start in range(0, n_flips, chunk):
        size = min(chunk, n_flips - start)
        signs = rng.integers(0, 2, size=(size, n_clusters), dtype=np.int8) * 2.0 - 1.0
        counts += ((signs @ x) >= threshold).sum(axis=0)
    return (1.0 + counts) / (1.0 + n_flips), n_flips, False


def paired_drops(
    baseline: pd.DataFrame,
    current: pd.DataFrame,
    systems: Sequence[str],
    criteria: Sequence[str],
    *,
    overall: Overall,
    higher_is_better: bool = True,
    margin: float = 0.0,
    n_flips: int = 10_000,
    seed: int = 0,
) -> PairedDrops:
    """Paired drops, standard errors and sign-flip p-values (see the module docstring).

    ``baseline`` and ``current`` are unit tables (columns question_id, criterion, system,
    value); ``overall`` is the summary's overall estimator (``"pooled"`` or
    ``"mean_of_criteria"``); ``margin`` is the tolerated drop of the null hypothesis.
    """
    n_crit, n_sys = len(criteria), len(systems)
    crit_index = {c: k for k, c in enumerate(criteria)}
    sys_index = {s: k for k, s in enumerate(systems)}
    data = baseline[[*PAIR_KEY, "value"]].merge(
        current[[*PAIR_KEY, "value"]], on=PAIR_KEY, suffixes=("_b", "_c")
    )
    keep = data["criterion"].isin(crit_index) & data["system"].isin(sys_index)
    data = data[keep & data["value_b"].notna() & data["value_c"].notna()]
    clusters = sorted(data["question_id"].unique())
    n_clusters, n_cells = len(clusters), n_crit * n_sys + n_sys
    cl = pd.Index(clusters).get_indexer(data["question_id"])
    ci = data["criterion"].map(crit_index).to_numpy(dtype=np.int64)
    si = data["system"].map(sys_index).to_numpy(dtype=np.int64)
    vb = data["value_b"].to_numpy(dtype=np.float64)
    vc = data["value_c"].to_numpy(dtype=np.float64)
    sign = 1.0 if higher_is_better else -1.0

    n_cs = np.zeros((n_crit, n_sys))
    np.add.at(n_cs, (ci, si), 1.0)
    w_crit = 1.0 / n_cs[ci, si] if ci.size else np.zeros(0)
    if overall == "pooled":
        w_over = 1.0 / n_cs.sum(axis=0)[si] if si.size else np.zeros(0)
    else:
        crit_count = (n_cs > 0).sum(axis=0)
        w_over = 1.0 / (crit_count[si] * n_cs[ci, si]) if si.size else np.zeros(0)

    weight = np.zeros((n_clusters, n_cells))
    contrib = np.zeros((n_clusters, n_cells))
    base_mean, cur_mean = np.zeros(n_cells), np.zeros(n_cells)
    units = np.zeros(n_cells, dtype=np.int64)
    for index, w in ((ci * n_sys + si, w_crit), (n_crit * n_sys + si, w_over)):
        np.add.at(weight, (cl, index), w)
        np.add.at(contrib, (cl, index), w * sign * (vb - vc))
        np.add.at(base_mean, index, w * vb)
        np.add.at(cur_mean, index, w * vc)
        np.add.at(units, index, 1)
    drop = contrib.sum(axis=0)
    g = (weight > 0).sum(axis=0)
    resid = contrib - drop[None, :] * weight
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(np.where(g > 1, g / (g - 1.0), np.nan) * np.square(resid).sum(axis=0))
    se = np.where(se < 1e-12, 0.0, se)  # float residue of identical differences
    if n_clusters:
        p, flips, exact = sign_flip_p_values(contrib - margin * weight, n_flips=n_flips, seed=seed)
    else:
        p, flips, exact = np.full(n_cells, np.nan), 0, True

    def cell(k: int) -> PairedCell:
        if units[k] == 0:
            return PairedCell(None, None, None, None, None, 0, 0)
        return PairedCell(
            float(base_mean[k]),
            float(cur_mean[k]),
            float(drop[k]),
            float(se[k]) if np.isfinite(se[k]) else None,
            float(p[k]),
            int(units[k]),
            int(g[k]),
        )

    per = {
        c: {s: cell(k * n_sys + j) for j, s in enumerate(systems)} for k, c in enumerate(criteria)
    }
    over = {s: cell(n_crit * n_sys + j) for j, s in enumerate(systems)}
    return PairedDrops(per, over, n_clusters, flips, exact)
