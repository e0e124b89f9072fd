"""``summarize``: judgment table in, the ``summary.json`` dict out.

Layout (``schema_version`` 1; every number is JSON: ``null`` where undefined, never NaN)::

    {"schema_version": 1, "mode": "nway", "metric": "selection_rate", "higher_is_better": true,
     "judges": [...], "systems": [...], "reference": null, "seed": 42, "n_boot": 1000,
     "ci_level": 0.95,
     "criteria": {CRITERION: {
         "n": items with >= 1 valid judgment, "judgments": ..., "invalid": ...,
         "items_without_valid": ..., "shared_text_items": ..., "tied_items": (n-way panel),
         "systems": {SYSTEM: {METRIC: value, "ci": [low, high], "n": units, ...mode extras}},
         "by_judge": {JUDGE: {"n", "judgments", "invalid", "systems": {...}}}}},
     "overall": {"n", "judgments", "invalid", "systems": {...}, "by_judge": {...}},
     "position_bias": {...}, "length_bias": {...}, "invalid": {...},
     "breakdowns": {"complexity": {VALUE: {"n_items", "criteria", "overall"}}, "category": {...}},
     "ranking": {...}, "panel": {...}, "agreement": {...} (several judges),
     "expected_score": {"judgments", "with_expected", "without_expected"} (score with
     logprobs), "notes": [lines for users] (when something needs saying), **extra}

``extra`` (run statistics, protocol notes such as the ``permutations`` cap) is merged last: a
``notes`` list is appended to, a dict block merged.

``METRIC`` per mode: ``selection_rate`` (nway, extras ``wins`` = sum of shares, may be
fractional), ``win_rate`` (pairwise, extras ``wins``/``ties``/``losses``/``invalid_pairs``/
``swap_consistency``), ``mean_score`` (score, extras ``distribution`` and, with logprobs,
``mean_expected_score`` with ``expected_ci``), ``mean_rank`` (rank, lower is better, extra
``first_rate``). Top-level ``systems`` figures are the panel's (the judge's own with one judge);
``overall`` is the mean of per-criterion rates for n-way and the pooled mean over all items for
the other modes. Formulas: :mod:`fqeval.analysis._rates`, :mod:`fqeval.analysis._scores`,
:mod:`fqeval.analysis._estimates`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fqeval.analysis._agreement_report import agreement_report
from fqeval.analysis._bias import length_bias, position_bias
from fqeval.analysis._estimates import Estimate, GridEstimates, Overall, grid_estimates
from fqeval.analysis._fqeval_ranking import benchmark_ranking
from fqeval.analysis._frame import shown_systems
from fqeval.analysis._invalid import invalid_summary
from fqeval.analysis._rates import (
    nway_panel_shares,
    nway_shares,
    pairwise_outcomes,
    pairwise_panel,
)
from fqeval.analysis._scores import (
    panel_mean,
    rank_units,
    ranked_rows,
    score_distribution,
    score_units,
    scored_rows,
)
from fqeval.errors import UsageError

SCHEMA_VERSION = 1
MODES: tuple[str, ...] = ("nway", "pairwise", "score", "rank")
METRIC_OF_MODE: dict[str, str] = {
    "nway": "selection_rate",
    "pairwise": "win_rate",
    "score": "mean_score",
    "rank": "mean_rank",
}
OVERALL_OF_MODE: dict[str, Overall] = {
    "nway": "mean_of_criteria",
    "pairwise": "pooled",
    "score": "pooled",
    "rank": "pooled",
}
PANEL_METHOD: dict[str, str] = {
    "nway": "plurality vote over judges' per-item text votes (each judge one vote, split over "
    "its valid permutations); tied texts share the item equally",
    "pairwise": "majority of judges' pairwise outcomes: sign of sum(v - 0.5); equal -> tie",
    "score": "mean over judges of each judge's per-item mean score",
    "rank": "mean over judges of each judge's per-item mean rank",
}


def json_safe(value: Any) -> Any:
    """Recursively convert numpy scalars to Python and NaN/inf to ``None``."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _r(x: float | None) -> float | None:
    # Full precision: rounding here would make the rates of a criterion stop summing to 1.
    return None if x is None or not math.isfinite(x) else float(x)


def _est_fields(metric: str, est: Estimate) -> dict[str, Any]:
    ci = [_r(est.ci[0]), _r(est.ci[1])] if est.ci else None
    return {metric: _r(est.value) if est.value is not None else None, "ci": ci, "n": est.n}


class _ModeTables:
    """The unit tables of one mode: per judge (with a ``judge`` column) and for the panel."""

    def __init__(
        self,
        frame: pd.DataFrame,
        mode: str,
        systems: Sequence[str],
        judges: Sequence[str],
        prefer_expected: bool,
    ) -> None:
        self.mode = mode
        self.tied: dict[str, int] = {}
        self.extra_cols: list[str] = []
        self.score_rows = pd.DataFrame()
        if mode == "nway":
            self.judge_units = nway_shares(frame, systems)
            self.panel_units, self.tied = nway_panel_shares(frame, systems)
        elif mode == "pairwise":
            outcomes = pairwise_outcomes(frame)
            self.outcomes = outcomes
            self.judge_units = outcomes
            self.panel_units = (
                outcomes.drop(columns="judge") if len(judges) <= 1 else pairwise_panel(outcomes)
            )
        elif mode == "score":
            self.score_rows = scored_rows(frame)
            self.judge_units = score_units(self.score_rows, prefer_expected=prefer_expected)
            self.extra_cols = ["expected"]
            self.panel_units = panel_mean(self.judge_units, ("value", "expected"))
        elif mode == "rank":
            self.judge_units = rank_units(ranked_rows(frame))
            self.extra_cols = ["first"]
            self.panel_units = panel_mean(self.judge_units, ("value", "first"))
        else:
            raise UsageError(f"unknown mode '{mode}' (expected one of {', '.join(MODES)})")
        self.has_expected = mode == "score" and bool(self.judge_units["expected"].notna().any())


def _system_blocks(
    mode: str,
    units: pd.DataFrame,
    systems: Sequence[str],
    criteria: Sequence[str],
    *,
    n_boot: int,
    seed: int,
    has_expected: bool,
    score_rows: pd.DataFrame | None,
    outcomes: pd.DataFrame | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Per-criterion and overall ``{system: {...}}`` blocks for one unit table."""
    metric = METRIC_OF_MODE[mode]
    grid = grid_estimates(
        units, systems, criteria, overall=OVERALL_OF_MODE[mode], n_boot=n_boot, seed=seed
    )
    per: dict[str, dict[str, Any]] = {
        c: {s: _est_fields(metric, grid.per_criterion[c][s]) for s in systems} for c in criteria
    }
    overall: dict[str, Any] = {s: _est_fields(metric, grid.overall[s]) for s in systems}
    if mode == "nway":
        for c in criteria:
            for s in systems:
                per[c][s]["wins"] = _r(grid.per_criterion[c][s].total)
        for s in systems:
            overall[s]["wins"] = _r(grid.overall[s].total)
    elif mode == "pairwise" and outcomes is not None:
        _pairwise_extras(per, overall, outcomes, systems, criteria)
    elif mode == "score":
        if has_expected:
            extra = grid_estimates(
                units, systems, criteria, overall="pooled", n_boot=n_boot, seed=seed,
                value_column="expected",
            )  # fmt: skip
            _attach(per, overall, extra, "mean_expected_score", "expected_ci", systems, criteria)
        dist = score_distribution(score_rows if score_rows is not None else pd.DataFrame())
        for c in criteria:
            for s in systems:
                per[c][s]["distribution"] = dist.get(c, {}).get(s, _empty_dist())
        for s in systems:
            total = _empty_dist()
            for c in criteria:
                for level, count in per[c][s]["distribution"].items():
                    total[level] += count
            overall[s]["distribution"] = total
    elif mode == "rank":
        extra = grid_estimates(
            units, systems, criteria, overall="pooled", n_boot=n_boot, seed=seed,
            value_column="first",
        )  # fmt: skip
        _attach(per, overall, extra, "first_rate", "first_ci", systems, criteria)
    return per, overall


def _empty_dist() -> dict[str, int]:
    return {str(level): 0 for level in (1, 2, 3, 4, 5)}


def _attach(
    per: dict[str, dict[str, Any]],
    overall: dict[str, Any],
    grid: GridEstimates,
    name: str,
    ci_name: str,
    systems: Sequence[str],
    criteria: Sequence[str],
) -> None:
    for c in criteria:
        for s in systems:
            fields = _est_fields(name, grid.per_criterion[c][s])
            per[c][s][name], per[c][s][ci_name] = fields[name], fields["ci"]
    for s in systems:
        fields = _est_fields(name, grid.overall[s])
        overall[s][name], overall[s][ci_name] = fields[name], fields["ci"]


def _pairwise_extras(
    per: dict[str, dict[str, Any]],
    overall: dict[str, Any],
    outcomes: pd.DataFrame,
    systems: Sequence[str],
    criteria: Sequence[str],
) -> None:
    def extras(rows: pd.DataFrame) -> dict[str, Any]:
        counts = rows["outcome"].value_counts() if not rows.empty else pd.Series(dtype=int)
        consistent = pd.to_numeric(rows["consistent"], errors="coerce") if not rows.empty else None
        swap = (
            float(consistent.mean())
            if consistent is not None and consistent.notna().any()
            else None
        )
        return {
            "wins": int(counts.get("win", 0)),
            "ties": int(counts.get("tie", 0)),
            "losses": int(counts.get("loss", 0)),
            "invalid_pairs": int(counts.get("invalid", 0)),
            "swap_consistency": _r(swap),
        }

    for s in systems:
        mine = outcomes[outcomes["system"] == s]
        overall[s].update(extras(mine))
        for c in criteria:
            per[c][s].update(extras(mine[mine["criterion"] == c]))


def _shared_mask(frame: pd.DataFrame) -> pd.Series:
    """Judgments that showed at least one text proposed by several systems."""
    return frame["shown"].map(lambda s: any(len(shown_systems(e)) > 1 for e in (s or [])))


def _item_counts(frame: pd.DataFrame) -> dict[str, Any]:
    valid_items = frame[frame["valid"]][["question_id", "criterion"]].drop_duplicates()
    all_items = frame[["question_id", "criterion"]].drop_duplicates()
    shared = frame[frame["_shared"]] if "_shared" in frame.columns else frame[_shared_mask(frame)]
    return {
        "n": len(valid_items),
        "judgments": len(frame),
        "invalid": int((~frame["valid"]).sum()),
        "items_without_valid": len(all_items) - len(valid_items),
        "shared_text_items": len(shared[["question_id", "criterion"]].drop_duplicates()),
    }


def _breakdowns(
    frame: pd.DataFrame,
    tables: _ModeTables,
    systems: Sequence[str],
    criteria: Sequence[str],
    *,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    metric = METRIC_OF_MODE[tables.mode]
    out: dict[str, Any] = {}
    meta = frame.drop_duplicates("question_id").set_index("question_id")
    for field in ("complexity", "category"):
        values = meta[field].replace("", "(unknown)")
        if (values == "(unknown)").all():
            continue
        groups: dict[str, Any] = {}
        for value in sorted(values.unique()):
            qids = set(values[values == value].index)
            units = tables.panel_units[tables.panel_units["question_id"].isin(qids)]
            grid = grid_estimates(
                units,
                systems,
                criteria,
                overall=OVERALL_OF_MODE[tables.mode],
                n_boot=n_boot,
                seed=seed,
            )
            groups[str(value)] = {
                "n_items": int(units[["question_id", "criterion"]].drop_duplicates().shape[0]),
                "criteria": {
                    c: {s: _est_fields(metric, grid.per_criterion[c][s]) for s in systems}
                    for c in criteria
                },
                "overall": {s: _est_fields(metric, grid.overall[s]) for s in systems},
            }
        out[field] = groups
    return out


def summarize(
    records_df: pd.DataFrame,
    *,
    mode: str,
    judges: Sequence[str],
    systems: Sequence[str],
    criteria: Sequence[str],
    seed: int = 42,
    n_boot: int = 1000,
    reference: str | None = None,
    extra: Mapping[str, Any] | None = None,
    prefer_expected: bool = False,
) -> dict[str, Any]:
    """Build the ``summary.json`` dict from a judgment table (see the module docstring).

    ``judges``, ``systems`` and ``criteria`` fix the order and the scope (empty ->
    taken from the table in first-seen order). Rows of other judges, criteria or modes are
    ignored. ``reference`` is the pairwise reference (``final_fq`` by default in the ranking
    block). Bootstrap: ``n_boot`` resamples of QA pairs, seeded with ``seed``. ``extra`` is
    merged in last (the pipeline adds run statistics). All invalid -> metrics ``null`` with
    ``n`` 0 and every judgment listed under ``invalid``.
    """
    if mode not in MODES:
        raise UsageError(f"unknown mode '{mode}' (expected one of {', '.join(MODES)})")
    if n_boot < 1:
        raise UsageError("n_boot must be at least 1")
    frame = records_df
    if "mode" in frame.columns and frame["mode"].astype(str).ne("").any():
        frame = frame[frame["mode"].isin([mode, ""])]
    judges = list(judges) or list(dict.fromkeys(frame["judge"]))
    criteria = list(criteria) or list(dict.fromkeys(frame["criterion"]))
    frame = frame[frame["judge"].isin(judges) & frame["criterion"].isin(criteria)]
    systems = list(systems) or _systems_seen(frame)
    if mode == "pairwise":
        # The reference is what every system is compared with, not a row of the leaderboard.
        reference = reference or _pairwise_reference(frame)
        systems = [s for s in systems if s != reference]
    frame = frame.assign(_shared=_shared_mask(frame).astype(bool))
    metric = METRIC_OF_MODE[mode]
    tables = _ModeTables(frame, mode, systems, judges, prefer_expected)
    per, overall_systems = _system_blocks(
        mode,
        tables.panel_units,
        systems,
        criteria,
        n_boot=n_boot,
        seed=seed,
        has_expected=tables.has_expected,
        score_rows=tables.score_rows if mode == "score" else None,
        outcomes=_panel_outcomes(tables, judges),
    )
    by_judge_per: dict[str, dict[str, dict[str, Any]]] = {}
    by_judge_overall: dict[str, Any] = {}
    for judge in judges:
        units = tables.judge_units[tables.judge_units["judge"] == judge]
        rows = tables.score_rows
        judge_rows = rows[rows["judge"] == judge] if mode == "score" else None
        outcomes = (
            tables.outcomes[tables.outcomes["judge"] == judge] if mode == "pairwise" else None
        )
        by_judge_per[judge], by_judge_overall[judge] = _system_blocks(
            mode,
            units,
            systems,
            criteria,
            n_boot=n_boot,
            seed=seed,
            has_expected=tables.has_expected,
            score_rows=judge_rows,
            outcomes=outcomes,
        )

    criteria_block: dict[str, Any] = {}
    for c in criteria:
        rows = frame[frame["criterion"] == c]
        block: dict[str, Any] = _item_counts(rows)
        if mode == "nway" and len(judges) > 1:
            block["tied_items"] = tables.tied.get(c, 0)
        block["systems"] = per[c]
        block["by_judge"] = {}
        for judge in judges:
            jrows = rows[rows["judge"] == judge]
            jcounts = _item_counts(jrows)
            block["by_judge"][judge] = {
                "n": jcounts["n"],
                "judgments": jcounts["judgments"],
                "invalid": jcounts["invalid"],
                "systems": by_judge_per[judge][c],
            }
        criteria_block[c] = block

    overall_counts = _item_counts(frame)
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "mode": mode,
        "metric": metric,
        "higher_is_better": mode != "rank",
        "judges": judges,
        "systems": systems,
        "reference": reference,
        "seed": seed,
        "n_boot": n_boot,
        "ci_level": 0.95,
        "criteria": criteria_block,
        "overall": {
            "n": overall_counts["n"],
            "judgments": overall_counts["judgments"],
            "invalid": overall_counts["invalid"],
            "items_without_valid": overall_counts["items_without_valid"],
            "systems": overall_systems,
            "by_judge": {j: {"systems": by_judge_overall[j]} for j in judges},
        },
        "position_bias": position_bias(frame, mode, judges),
        "length_bias": length_bias(frame, mode, judges),
        "invalid": invalid_summary(frame, judges, criteria),
        "breakdowns": _breakdowns(frame, tables, systems, criteria, n_boot=n_boot, seed=seed),
        "ranking": benchmark_ranking(mode, tables.panel_units, systems, relevant=reference),
        "panel": {
            "judges": judges,
            "size": len(judges),
            "method": PANEL_METHOD[mode] if len(judges) > 1 else "single judge: its own figures",
            "tied_items": dict(tables.tied) if mode == "nway" and len(judges) > 1 else None,
        },
    }
    if len(judges) > 1:
        summary["agreement"] = agreement_report(frame, mode=mode, judges=judges)
    if mode == "score" and (tables.has_expected or (extra and "expected_score" in extra)):
        _expected_block(summary, frame)
    if extra:
        _merge_extra(summary, extra)
    safe: dict[str, Any] = json_safe(summary)
    return safe


def _expected_block(summary: dict[str, Any], frame: pd.DataFrame) -> None:
    """``summary["expected_score"]``: how many valid scores had a logprob expected score (the
    means average those only) and, when some lacked one, a line in ``summary["notes"]``."""
    valid = frame[frame["valid"] & frame["score"].notna()]
    present = pd.to_numeric(valid["expected_score"], errors="coerce").notna()
    block: dict[str, Any] = {
        "judgments": len(valid),
        "with_expected": int(present.sum()),
        "without_expected": int((~present).sum()),
    }
    if "expected_score_note" in valid.columns:
        notes = valid.loc[~present, "expected_score_note"].dropna().astype(str)
        block["without_by_note"] = {k: int(v) for k, v in notes.value_counts().items()}
    summary["expected_score"] = block
    if block["without_expected"]:
        summary.setdefault("notes", []).append(
            f"{block['without_expected']:,} of {block['judgments']:,} valid scores have no "
            "expected score (no logprobs, or the digits 1-5 carried too little probability at "
            "the score token); mean_expected_score averages the other "
            f"{block['with_expected']:,}"
        )


def _merge_extra(summary: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge ``extra`` into ``summary``: lists (``notes``) are appended to, dicts merged one
    level (``extra``'s keys win, as they always did), anything else replaced."""
    for key, value in extra.items():
        current = summary.get(key)
        if isinstance(current, list) and isinstance(value, list):
            summary[key] = [*current, *value]
        elif isinstance(current, dict) and isinstance(value, Mapping):
            summary[key] = {**current, **dict(value)}
        else:
            summary[key] = value


def _panel_outcomes(tables: _ModeTables, judges: Sequence[str]) -> pd.DataFrame | None:
    if tables.mode != "pairwise":
        return None
    if len(judges) <= 1:
        return tables.outcomes
    panel = tables.panel_units.copy()
    panel["outcome"] = np.select(
        [panel["value"] == 1.0, panel["value"] == 0.0], ["win", "loss"], default="tie"
    )
    # Swap consistency is a per-judge property; the panel reports the mean over judges.
    consistency = tables.outcomes.groupby(["question_id", "criterion", "system"], as_index=False)[
        "consistent"
    ].mean()
    invalid = tables.outcomes[tables.outcomes["outcome"] == "invalid"]
    invalid_only = invalid.merge(
        panel[["question_id", "criterion", "system"]], how="left", indicator=True
    )
    invalid_only = invalid_only[invalid_only["_merge"] == "left_only"].drop_duplicates(
        ["question_id", "criterion", "system"]
    )[["question_id", "criterion", "system", "outcome"]]
    panel = panel.merge(consistency, on=["question_id", "criterion", "system"], how="left")
    return pd.concat([panel, invalid_only], ignore_index=True)


def _pairwise_reference(frame: pd.DataFrame) -> str | None:
    """The system shown first in ``SYSTEM:ab`` tasks (the reference), if any."""
    ab = frame[frame["variant"].str.endswith(":ab")]
    for shown in ab["shown"]:
        if shown:
            found = shown_systems(shown[0])
            if found:
                return found[0]
    return None


def _systems_seen(frame: pd.DataFrame) -> list[str]:
    seen: dict[str, None] = {}
    for shown in frame["shown"]:
        for entry in shown or []:
            for s in shown_systems(entry):
                seen.setdefault(s, None)
    return list(seen)
