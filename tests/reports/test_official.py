"""The official FQ-Eval summary shapes (fqeval_official_summary.json)."""

from __future__ import annotations

import datetime
import json

import pytest

from fqeval.analysis import judgments_frame
from fqeval.reports import official_summary
from tests.analysis._records import nway, score


def test_nway_official_shape() -> None:
    systems = ["final_fq", "m1"]
    records = [
        nway("q1", "Creative Leap", systems, 0),
        nway("q2", "Creative Leap", systems, 1),
        nway("q3", "Creative Leap", systems, 0),
        nway("q4", "Creative Leap", systems, None),
        nway("q5", "Creative Leap", [["final_fq", "m1"]], 0),  # identical texts share the win
    ]
    out = official_summary(judgments_frame(records), "nway", systems)
    assert out is not None and out["format"] == "fqeval-official-v1"
    block = out["criteria"]["creative_leap"]
    assert (
        block["total_evaluations"] == 5
        and block["valid_results"] == 4
        and block["invalid_results"] == 1
    )
    assert block["winner_counts"] == {"bench": 2.5, "m1": 1.5}
    assert block["entity_performance"]["bench"] == {
        "total_appearances": 4,
        "wins": 2.5,
        "losses": 1.5,
        "invalid": 1,
    }
    assert block["candidate_count_distribution"] == {"2": 4, "1": 1}
    assert out["selection_rate"]["Creative Leap"] == {
        "bench": pytest.approx(2.5 / 4),
        "m1": pytest.approx(1.5 / 4),
    }
    assert list(out["selection_rate"]["Creative Leap"]) == ["bench", "m1"]


STAMP = "2025-01-01T00:00:00+00:00"
SUMMARY_KEYS = [
    "model_name",
    "evaluation_metadata",
    "overall_performance",
    "criteria_breakdown",
    "performance_insights",
]


def _api_error(qid: str, criterion: str, system: str) -> dict:
    record = score(qid, criterion, system, None, invalid_reason="call failed: HTTP 500")
    record["raw"] = ""  # no reply came back
    return record


def test_score_has_the_comprehensive_summary_scoring_shape() -> None:
    records = [
        score("q1", "LLM Enablement", "final_fq", 5),
        score("q2", "LLM Enablement", "final_fq", 2),
        score("q3", "LLM Enablement", "final_fq", None),  # a reply that did not validate
        score("q1", "Creative Leap", "final_fq", 4),
        _api_error("q2", "Creative Leap", "final_fq"),
        score("q1", "Creative Leap", "My.Model 2", 3),
        score("q1", "Creative Leap", "sys_x", None),
    ]
    out = official_summary(
        judgments_frame(records), "score", ["final_fq", "My.Model 2"], generated_at=STAMP
    )
    assert out is not None
    assert list(out) == ["format", "mode", "judges", "models"]
    assert out["format"] == "fqeval-official-v1" and out["judges"] == ["j1"]
    # every system under its own name: the scoring scripts keep final_fq (never "bench")
    assert list(out["models"]) == ["final_fq", "My.Model 2", "sys_x"]
    bench = out["models"]["final_fq"]
    assert list(bench) == SUMMARY_KEYS
    assert bench["model_name"] == "final_fq"
    assert out["models"]["My.Model 2"]["model_name"] == "my_model_2"
    assert bench["evaluation_metadata"] == {
        "generated_at": STAMP,
        "total_files_processed": 2,
        "criteria_list": ["creative_leap", "llm_enablement"],
        "evaluation_type": "scoring",
        "score_scale": "1-5",
    }
    assert bench["overall_performance"] == {
        "total_evaluations": 5,
        "valid_scores": 3,
        "success_rate": pytest.approx(60.0),
        "average_score": pytest.approx(11 / 3),
        "min_score": 2,
        "max_score": 5,
        "score_distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
        "quality_breakdown": {"high_quality_4_5": 2, "average_quality_3": 0, "low_quality_1_2": 1},
        "quality_percentages": {
            "high_quality_4_5_pct": pytest.approx(200 / 3),
            "average_quality_3_pct": 0,
            "low_quality_1_2_pct": pytest.approx(100 / 3),
        },
        "error_summary": {"parse_errors": 1, "api_errors": 1, "total_errors": 2},
    }
    assert bench["criteria_breakdown"] == {
        "creative_leap": {
            "count": 1,
            "average": 4.0,
            "min": 4,
            "max": 4,
            "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
            "quality_breakdown": {
                "high_quality_4_5": 1,
                "average_quality_3": 0,
                "low_quality_1_2": 0,
            },
            "parse_errors": 0,
            "api_errors": 1,
            "success_rate": 50.0,
        },
        "llm_enablement": {
            "count": 2,
            "average": 3.5,
            "min": 2,
            "max": 5,
            "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
            "quality_breakdown": {
                "high_quality_4_5": 1,
                "average_quality_3": 0,
                "low_quality_1_2": 1,
            },
            "parse_errors": 1,
            "api_errors": 0,
            "success_rate": pytest.approx(200 / 3),
        },
    }
    # consistency = max(0, 1 - var(criterion averages around the overall) / (overall^2 + .001))
    overall = 11 / 3
    variance = ((4.0 - overall) ** 2 + (3.5 - overall) ** 2) / 2
    assert bench["performance_insights"] == {
        "best_criteria": "creative_leap",
        "worst_criteria": "llm_enablement",
        "criteria_evaluated": 2,
        "criteria_with_valid_scores": 2,
        "consistency_score": pytest.approx(1 - variance / (overall**2 + 0.001)),
        "performance_range": {"highest_avg": 4.0, "lowest_avg": 3.5, "range_spread": 0.5},
    }
    one = out["models"]["My.Model 2"]["performance_insights"]
    assert one["consistency_score"] == 1.0 and one["performance_range"] == {
        "highest_avg": 3.0,
        "lowest_avg": 3.0,
        "range_spread": 0,
    }
    # a system without one valid score: the scripts' zeros, no best or worst criterion
    none = out["models"]["sys_x"]
    assert none["overall_performance"]["average_score"] == 0
    assert none["overall_performance"]["success_rate"] == 0
    assert none["criteria_breakdown"]["creative_leap"]["success_rate"] == 0
    assert none["performance_insights"] == {
        "best_criteria": None,
        "worst_criteria": None,
        "criteria_evaluated": 1,
        "criteria_with_valid_scores": 0,
        "consistency_score": 0,
        "performance_range": {"highest_avg": 0, "lowest_avg": 0, "range_spread": 0},
    }
    json.dumps(out, allow_nan=False)
    assert official_summary(judgments_frame(records), "rank") is None


def test_score_summary_per_judge_and_default_timestamp() -> None:
    records = [
        score("q1", "Creative Leap", "final_fq", 5, judge="a"),
        score("q1", "Creative Leap", "final_fq", 1, judge="b"),
    ]
    out = official_summary(judgments_frame(records), "score")
    assert out is not None and out["judges"] == ["a", "b"]
    pooled = out["models"]["final_fq"]["overall_performance"]
    assert pooled["total_evaluations"] == 2 and pooled["average_score"] == 3.0
    by_judge = out["by_judge"]
    assert by_judge["a"]["models"]["final_fq"]["overall_performance"]["average_score"] == 5.0
    assert by_judge["b"]["models"]["final_fq"]["overall_performance"]["average_score"] == 1.0
    stamp = out["models"]["final_fq"]["evaluation_metadata"]["generated_at"]
    assert datetime.datetime.fromisoformat(stamp).tzinfo is not None
