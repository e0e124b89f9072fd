"""The official FQ-Eval scripts' summary shapes, for users migrating from them.

The official scripts (LGAI-Research/FQ-Eval) report per criterion. Their n-way script names the
benchmark column ``bench`` and every other candidate by its column name; their scoring script
keeps every column's own name (``final_fq`` included). ``fqeval_official_summary.json`` holds,
for one run (pooling its judges' judgments; ``by_judge`` repeats it per judge when the run has
several):

n-way::

    {"format": "fqeval-official-v1", "mode": "nway", "judges": [...],
     "selection_rate": {CRITERION: {TYPE: wins / total_appearances}},
     "criteria": {criterion_snake_case: {            # the shape of nway_evaluation.py's
         "total_evaluations", "valid_results", "invalid_results",      # *_summary.json
         "winner_counts": {TYPE: wins},
         "entity_performance": {TYPE: {"total_appearances", "wins", "losses", "invalid"}},
         "candidate_count_distribution": {"K": judgments showing K candidates}}}}

score::

    {"format": "fqeval-official-v1", "mode": "score", "judges": [...],
     "models": {SYSTEM: {                 # one <model>_comprehensive_summary_scoring.json each
         "model_name",                    # the scripts' file-safe name (lower case, . -> _)
         "evaluation_metadata": {"generated_at", "total_files_processed", "criteria_list",
                                 "evaluation_type": "scoring", "score_scale": "1-5"},
         "overall_performance": {"total_evaluations", "valid_scores", "success_rate",
             "average_score", "min_score", "max_score", "score_distribution",
             "quality_breakdown", "quality_percentages",
             "error_summary": {"parse_errors", "api_errors", "total_errors"}},
         "criteria_breakdown": {criterion_snake_case: {"count", "average", "min", "max",
             "distribution", "quality_breakdown", "parse_errors", "api_errors",
             "success_rate"}},
         "performance_insights": {"best_criteria", "worst_criteria", "criteria_evaluated",
             "criteria_with_valid_scores", "consistency_score",
             "performance_range": {"highest_avg", "lowest_avg", "range_spread"}}}}}

every number as the scoring scripts compute it (rates in percent, 0 where there is nothing).
An invalid judgment with a reply counts as a parse error; one without a reply (the call
failed, or ``--replay-only`` found nothing stored) as an API error.

Differences from the reference scripts, on purpose: a judgment counts once per task (n-way
permutations and several judges add judgments, as reruns would); identical texts shown once
share a win equally (``wins`` may be fractional), where the reference showed duplicates
separately; invalid judgments are counted, never dropped.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pandas as pd

from fqeval.analysis._frame import shown_systems
from fqeval.data._records import BENCHMARK_SYSTEM

FORMAT = "fqeval-official-v1"


def official_type(system: str) -> str:
    """The n-way script's candidate type: ``bench`` for ``final_fq``, else the column name
    (the scoring script keeps ``final_fq``: see :func:`model_name`)."""
    return "bench" if system == BENCHMARK_SYSTEM else system


def snake_case(criterion: str) -> str:
    """``"Exploratory Scope"`` -> ``"exploratory_scope"`` (the reference tool's file names)."""
    return criterion.replace(" ", "_").replace("-", "_").lower()


def _nway_criterion(rows: pd.DataFrame) -> dict[str, Any]:
    wins: dict[str, float] = defaultdict(float)
    perf: dict[str, dict[str, float]] = defaultdict(
        lambda: {"total_appearances": 0, "wins": 0.0, "losses": 0.0, "invalid": 0}
    )
    counts: dict[str, int] = defaultdict(int)
    for shown, valid, winners in zip(
        rows["shown"], rows["valid"], rows["winner_systems"], strict=True
    ):
        shown = shown or []
        counts[str(len(shown))] += 1
        winner_set = list(winners or [])
        for entry in shown:
            for system in shown_systems(entry):
                kind = official_type(system)
                if not valid:
                    perf[kind]["invalid"] += 1
                    continue
                share = 1.0 / len(winner_set) if system in winner_set else 0.0
                perf[kind]["total_appearances"] += 1
                perf[kind]["wins"] += share
                perf[kind]["losses"] += 1.0 - share
                if share:
                    wins[kind] += share
    valid_n = int(rows["valid"].sum())
    return {
        "total_evaluations": len(rows),
        "valid_results": valid_n,
        "invalid_results": len(rows) - valid_n,
        "winner_counts": {k: _num(v) for k, v in wins.items()},
        "entity_performance": {k: {f: _num(v) for f, v in p.items()} for k, p in perf.items()},
        "candidate_count_distribution": dict(counts),
    }


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 6)


def model_name(system: str) -> str:
    """The scoring scripts' file-safe model name: ``"My.Model 2"`` -> ``"my_model_2"``."""
    return system.replace(" ", "_").replace(".", "_").lower()


def _score_rows(frame: pd.DataFrame) -> dict[str, dict[str, list[tuple[str, float | None]]]]:
    """``{system: {criterion_snake_case: [(status, score)]}}``, status ``ok`` | ``parse`` |
    ``api``, in the order systems and criteria first appear."""
    out: dict[str, dict[str, list[tuple[str, float | None]]]] = {}
    for shown, valid, score, raw, criterion in zip(
        frame["shown"],
        frame["valid"],
        frame["score"],
        frame["raw"],
        frame["criterion"],
        strict=True,
    ):
        systems = shown_systems(shown[0]) if shown else []
        if valid and score is not None and not pd.isna(score):
            entry: tuple[str, float | None] = ("ok", float(score))
        else:
            entry = ("parse" if valid or (isinstance(raw, str) and raw) else "api", None)
        for system in systems:
            out.setdefault(system, {}).setdefault(snake_case(str(criterion)), []).append(entry)
    return out


def _quality(scores: Sequence[float]) -> dict[str, int]:
    return {
        "high_quality_4_5": len([s for s in scores if s >= 4]),
        "average_quality_3": len([s for s in scores if s == 3]),
        "low_quality_1_2": len([s for s in scores if s <= 2]),
    }


def _criterion_stats(entries: Sequence[tuple[str, float | None]]) -> dict[str, Any]:
    scores = [_num(x) for status, x in entries if status == "ok" and x is not None]
    parse_errors = sum(1 for status, _ in entries if status == "parse")
    api_errors = sum(1 for status, _ in entries if status == "api")
    return {
        "count": len(scores),
        "average": sum(scores) / len(scores) if scores else 0,
        "min": min(scores) if scores else 0,
        "max": max(scores) if scores else 0,
        "distribution": {str(i): scores.count(i) for i in range(1, 6)},
        "quality_breakdown": _quality(scores),
        "parse_errors": parse_errors,
        "api_errors": api_errors,
        "success_rate": (len(scores) / len(entries) * 100) if scores and entries else 0,
    }


def _overall(by_criterion: dict[str, list[tuple[str, float | None]]]) -> dict[str, Any]:
    entries = [entry for rows in by_criterion.values() for entry in rows]
    scores = [_num(x) for status, x in entries if status == "ok" and x is not None]
    parse_errors = sum(1 for status, _ in entries if status == "parse")
    api_errors = sum(1 for status, _ in entries if status == "api")
    total = len(entries)
    n = len(scores)
    return {
        "total_evaluations": total,
        "valid_scores": n,
        "success_rate": (n / total * 100) if n and total else 0,
        "average_score": sum(scores) / n if n else 0,
        "min_score": min(scores) if n else 0,
        "max_score": max(scores) if n else 0,
        "score_distribution": {str(i): scores.count(i) for i in range(1, 6)},
        "quality_breakdown": _quality(scores),
        "quality_percentages": {
            "high_quality_4_5_pct": len([s for s in scores if s >= 4]) / n * 100 if n else 0,
            "average_quality_3_pct": scores.count(3) / n * 100 if n else 0,
            "low_quality_1_2_pct": len([s for s in scores if s <= 2]) / n * 100 if n else 0,
        },
        "error_summary": {
            "parse_errors": parse_errors,
            "api_errors": api_errors,
            "total_errors": parse_errors + api_errors,
        },
    }


def _insights(criteria: dict[str, dict[str, Any]], overall_average: float) -> dict[str, Any]:
    """The scoring script's ``performance_insights`` (its formulas, its zeros)."""
    scored = {k: v for k, v in criteria.items() if v["count"] > 0}
    if not criteria:
        return {
            "best_criteria": None,
            "worst_criteria": None,
            "criteria_evaluated": 0,
            "criteria_with_valid_scores": 0,
            "consistency_score": 0,
            "performance_range": {"highest_avg": 0, "lowest_avg": 0, "range_spread": 0},
        }
    best = worst = None
    consistency: float = 0
    if scored:
        best = max(scored, key=lambda c: scored[c]["average"])
        worst = min(scored, key=lambda c: scored[c]["average"])
        averages = [v["average"] for v in scored.values()]
        if len(averages) > 1 and overall_average > 0:
            variance = sum((a - overall_average) ** 2 for a in averages) / len(averages)
            consistency = max(0, 1 - (variance / (overall_average**2 + 0.001)))
        else:
            consistency = 1.0 if len(averages) == 1 else 0
    highest = max(v["average"] for v in scored.values()) if scored else 0
    lowest = min(v["average"] for v in scored.values()) if scored else 0
    return {
        "best_criteria": best,
        "worst_criteria": worst,
        "criteria_evaluated": len(criteria),
        "criteria_with_valid_scores": len(scored),
        "consistency_score": consistency,
        "performance_range": {
            "highest_avg": highest,
            "lowest_avg": lowest,
            "range_spread": highest - lowest if len(scored) > 1 else 0,
        },
    }


def comprehensive_summary(
    system: str, by_criterion: dict[str, list[tuple[str, float | None]]], generated_at: str
) -> dict[str, Any]:
    """One system's ``<model>_comprehensive_summary_scoring.json``."""
    criteria = {key: _criterion_stats(by_criterion[key]) for key in sorted(by_criterion)}
    overall = _overall(by_criterion)
    return {
        "model_name": model_name(system),
        "evaluation_metadata": {
            "generated_at": generated_at,
            "total_files_processed": len(criteria),
            "criteria_list": sorted(criteria),
            "evaluation_type": "scoring",
            "score_scale": "1-5",
        },
        "overall_performance": overall,
        "criteria_breakdown": criteria,
        "performance_insights": _insights(criteria, overall["average_score"]),
    }


def _score_block(frame: pd.DataFrame, systems: Sequence[str], generated_at: str) -> dict[str, Any]:
    rows = _score_rows(frame)
    order = [s for s in systems if s in rows] + sorted(s for s in rows if s not in systems)
    return {
        "models": {s: comprehensive_summary(s, rows[s], generated_at) for s in order},
    }


def _nway_block(frame: pd.DataFrame) -> dict[str, Any]:
    criteria = list(dict.fromkeys(frame["criterion"]))
    per: dict[str, Any] = {}
    headline: dict[str, dict[str, float | None]] = {}
    for criterion in criteria:
        block = _nway_criterion(frame[frame["criterion"] == criterion])
        headline[criterion] = {
            k: (p["wins"] / p["total_appearances"] if p["total_appearances"] else None)
            for k, p in block["entity_performance"].items()
        }
        per[snake_case(criterion)] = block
    return {"selection_rate": headline, "criteria": per}


def _ordered(value: Any, order: Sequence[str]) -> Any:
    """Dicts keyed by type, re-keyed in ``order`` (others after, sorted), recursively."""
    if isinstance(value, dict):
        keys = list(value)
        if any(k in order for k in keys):
            keys = [k for k in order if k in value] + sorted(k for k in keys if k not in order)
        return {k: _ordered(value[k], order) for k in keys}
    return value


def official_summary(
    frame: pd.DataFrame,
    mode: str,
    systems: Sequence[str] = (),
    *,
    generated_at: str | None = None,
) -> dict[str, Any] | None:
    """The official shapes for an n-way or score judgment table (``None`` for other modes).

    ``systems`` orders the per-system dicts (default: ``bench`` first for n-way, then sorted;
    data order of first appearance for score). ``generated_at`` fills the scoring summaries'
    ``evaluation_metadata.generated_at`` (default: now, UTC, ISO 8601, as the scripts write).
    """
    if mode not in ("nway", "score"):
        return None
    frame = frame[frame["mode"].isin([mode, ""])] if "mode" in frame.columns else frame
    judges = list(dict.fromkeys(frame["judge"]))
    out: dict[str, Any] = {"format": FORMAT, "mode": mode, "judges": judges}
    if mode == "nway":
        order = [official_type(s) for s in systems] or ["bench"]

        def block(part: pd.DataFrame) -> dict[str, Any]:
            return dict(_ordered(_nway_block(part), order))

    else:
        stamp = generated_at or datetime.datetime.now(datetime.timezone.utc).isoformat()
        ordered_systems = list(systems)

        def block(part: pd.DataFrame) -> dict[str, Any]:
            return _score_block(part, ordered_systems, stamp)

    out.update(block(frame))
    if len(judges) > 1:
        out["by_judge"] = {j: block(frame[frame["judge"] == j]) for j in judges}
    return out
