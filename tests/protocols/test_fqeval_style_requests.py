"""FQ-Eval-style prompt files (``--prompt-style fqeval``) send what the official scripts send.

The official scripts send one system message and no ``response_format``, and fill the scoring
prompt's ``{fq_id}`` with the dataset's id of the row (the same id for every model's
follow-up). These runs use our own FQ-Eval-style files (never the official prompts) against the
scripted judge on 127.0.0.1, which records every request body.
"""

from __future__ import annotations

import csv
import json
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from fqeval.cli._app import run_app
from tests.conftest import REPO_ROOT
from tests.fakejudge import FakeJudgeServer, FaultPlan
from tests.fakejudge.policies import hash_policy

DEMO = REPO_ROOT / "data" / "demo" / "demo.csv"
KEYS = ("exploratory_scope", "contextual_relevance", "creative_leap", "llm_enablement",
        "guided_onboarding")  # fmt: skip


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-placeholder")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def prompt_dir(tmp_path: Path) -> Path:
    """Our own files in the official layout and placeholders."""
    root = tmp_path / "fq_prompts"
    (root / "nway").mkdir(parents=True)
    (root / "scoring").mkdir()
    for key in KEYS:
        (root / "nway" / f"nwayprompt_{key}.txt").write_text(
            f"Criterion {key}. User asked: {{user_question}}\nAssistant said: {{answer}}\n"
            "Pick the best of {num_candidates}:\n{candidates}\n"
            'Reply as JSON {"winner": "<id>", "reason": "<why>"}.',
            encoding="utf-8",
        )
        (root / "scoring" / f"scoringprompt_{key}.txt").write_text(
            f"Criterion {key}. User asked: {{user_question}}\nAssistant said: {{answer}}\n"
            "Follow-up ID {fq_id}: {follow_up_question}\nThe same as data: {candidates}\n"
            'Reply as JSON {"fq_id": "<id>", "score": <1-5>, "reason": "<why>"}.',
            encoding="utf-8",
        )
    return root


class Recorder:
    """A hash-policy judge that keeps every request body it answers."""

    def __init__(self) -> None:
        self.bodies: list[Mapping[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(
        self, mode: str, candidates: list[dict[str, Any]], body: Mapping[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            self.bodies.append(json.loads(json.dumps(body)))
        return hash_policy(mode, candidates, body)


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    capsys.readouterr()
    code = run_app([str(a) for a in args])
    return code, capsys.readouterr().err


def demo_rows() -> list[dict[str, str]]:
    with DEMO.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("mode", ["nway", "score"])
def test_no_response_format_and_one_system_message(
    capsys: pytest.CaptureFixture[str], prompt_dir: Path, tmp_path: Path, mode: str
) -> None:
    recorder = Recorder()
    # a server that refuses response_format: any request carrying one would be a 400
    with FakeJudgeServer(policy=recorder, faults=FaultPlan(reject_response_format=True)) as srv:
        code, err = run(
            capsys, "run", mode, "--data", DEMO, "--prompt-style", "fqeval",
            "--prompts", prompt_dir, "--judge", "openai:fake-judge", "--base-url", srv.base_url,
            "--store", tmp_path / "s.sqlite", "--out", tmp_path / "out", "-q",
            "--bootstrap", "20",
        )  # fmt: skip
        stats = srv.service.stats()
    assert code == 0, err
    assert "response_format" not in stats["by_fault"]
    assert stats["by_status"] == {"200": stats["requests"]}
    assert recorder.bodies and all("response_format" not in b for b in recorder.bodies)
    assert all([m["role"] for m in b["messages"]] == ["system"] for b in recorder.bodies)
    records = [
        json.loads(line)
        for line in (tmp_path / "out" / "judgments.jsonl").read_text("utf-8").splitlines()
    ]
    assert records and all(r["valid"] for r in records)


def test_scoring_prompts_carry_the_datasets_fq_id(
    capsys: pytest.CaptureFixture[str], prompt_dir: Path, tmp_path: Path
) -> None:
    rows = demo_rows()
    texts_of = {r["fq_id"]: {r["final_fq"], r["sys_a"], r["sys_b"]} for r in rows}
    recorder = Recorder()
    out = tmp_path / "score"
    with FakeJudgeServer(policy=recorder) as srv:
        code, err = run(
            capsys, "run", "score", "--data", DEMO, "--prompt-style", "fqeval",
            "--prompts", prompt_dir, "--judge", "openai:fake-judge", "--base-url", srv.base_url,
            "--store", tmp_path / "s.sqlite", "--out", out, "-q", "--bootstrap", "20",
        )  # fmt: skip
    assert code == 0, err
    pattern = re.compile(r"^Follow-up ID (\S+): (.*)$", re.MULTILINE)
    seen: dict[str, set[str]] = {}
    for body in recorder.bodies:
        found = pattern.search(body["messages"][0]["content"])
        assert found is not None
        fq_id, text = found.groups()
        assert fq_id.startswith("fq_") and "candidate_" not in fq_id
        seen.setdefault(fq_id, set()).add(text.strip())
    # every row's id, each with every system's follow-up (identical prompts are asked once)
    assert set(seen) == set(texts_of)
    assert all(seen[fq] == {t.strip() for t in texts_of[fq]} for fq in seen)

    # the official scoring summary shape, final_fq under its own name
    official = json.loads((out / "fqeval_official_summary.json").read_text(encoding="utf-8"))
    assert official["mode"] == "score" and list(official["models"]) == [
        "final_fq",
        "sys_a",
        "sys_b",
    ]
    bench = official["models"]["final_fq"]
    assert bench["model_name"] == "final_fq"
    assert bench["overall_performance"]["total_evaluations"] == len(rows)
    assert bench["overall_performance"]["valid_scores"] == len(rows)
    assert sorted(bench["criteria_breakdown"]) == sorted(KEYS)
    assert bench["evaluation_metadata"]["criteria_list"] == sorted(KEYS)
    assert "bench" not in json.dumps(official["models"])
