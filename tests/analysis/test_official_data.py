"""Summaries over the real FQ-Eval items (texts from FQEVAL_OFFICIAL_DIR; verdicts synthetic)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fqeval.analysis import judgments_frame, summarize
from fqeval.data._records import CRITERIA_ORDER
from tests.analysis._records import nway


@pytest.mark.official
def test_benchmark_always_picked_over_the_official_rows(official_csv: Path) -> None:
    rows = pd.read_csv(official_csv)
    records = []
    for row in rows.itertuples():
        # Two candidates with real texts: the benchmark FQ and the same FQ cut to its first words.
        short = " ".join(str(row.final_fq).split()[:4]) + "?"
        records.append(
            nway(
                str(row.question_id),
                str(row.criteria_name),
                ["final_fq", "cut"],
                0,
                texts=[str(row.final_fq), short],
                complexity=str(row.complexity),
            )
        )
    summary = summarize(
        judgments_frame(records),
        mode="nway",
        judges=["j1"],
        systems=["final_fq", "cut"],
        criteria=list(CRITERIA_ORDER),
        n_boot=200,
    )
    json.dumps(summary, allow_nan=False)
    for criterion in CRITERIA_ORDER:
        block = summary["criteria"][criterion]
        assert block["n"] == 200
        assert block["systems"]["final_fq"]["selection_rate"] == 1.0
        # 200 of 200: Wilson's interval at n = 200 QA pairs, [200 / (200 + z^2), 1].
        low, high = block["systems"]["final_fq"]["ci"]
        assert high == 1.0 and low == pytest.approx(200 / (200 + 1.959963984540054**2))
    assert set(summary["breakdowns"]["complexity"]) == {"low", "high"}
    assert summary["breakdowns"]["complexity"]["low"]["n_items"] == 500
    assert summary["ranking"]["orderings"]["n-way vote share"]["mrr"] == 1.0
    assert summary["length_bias"]["pearson"]["r"] > 0  # the longer (benchmark) text always wins
