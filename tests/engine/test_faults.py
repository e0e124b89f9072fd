"""Faults the engine must survive: every fault kind of the fake judge, unrecoverable replies,
schema rejection, stalls, and the circuit breaker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fqeval.engine import EngineOptions, Judgment, JudgmentStore
from fqeval.errors import RunAbortedError
from fqeval.judges import make_judge
from tests.engine.conftest import expected_winner, make_tasks, run
from tests.fakejudge import GARBAGE_REPLY, RECOVERABLE_KINDS, FakeJudgeServer, FaultPlan, prompt_key

FAST: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.05}


def _prompt_key(task) -> str:  # type: ignore[no-untyped-def]
    return prompt_key([m.as_dict() for m in task.messages])


def test_all_fault_kinds_mixed_give_zero_invalid_and_exact_decisions(store_path: Path) -> None:
    tasks = make_tasks(150)
    plan = FaultPlan.spread(
        0.6, kinds=RECOVERABLE_KINDS, seed=7, max_faults_per_key=2, retry_after_s=0.02, stall_s=8.0
    )
    # a timeout far from both a normal reply and a stall, so a loaded machine cannot blur them
    options = EngineOptions(concurrency=16, request_timeout=1.5, **FAST)
    with FakeJudgeServer(policy="hash", faults=plan) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            judgments, stats = run(tasks, [judge], store, options)
        served = server.stats()
    assert len(judgments) == len(tasks)
    assert [j for j in judgments if not j.valid] == []
    for judgment in judgments:
        assert judgment.verdict.winner_label == expected_winner(judgment.task)  # type: ignore[union-attr]
    # every fault kind really happened, and no finished judgment was asked again
    assert set(served["by_fault"]) >= set(RECOVERABLE_KINDS)
    assert set(served["completed_keys"].values()) == {1}
    s = stats.judges["openai:m"]
    assert s.valid == 150 and s.invalid == 0 and s.failures == 0
    assert s.calls == served["requests"]
    assert s.retries > 0 and s.reasks > 0
    assert s.calls == 150 + s.retries + s.reasks
    assert sum(j.attempts for j in judgments) == s.calls
    # tokens are what the server says it served (abandoned stalls included there, not here)
    assert 0 < s.prompt_tokens <= served["prompt_tokens"]


def test_unrecoverable_replies_are_recorded_invalid_with_reason_and_raw(store_path: Path) -> None:
    tasks = make_tasks(12)
    plan = FaultPlan(rate_garbage=1.0, max_faults_per_key=100)
    with FakeJudgeServer(policy="hash", faults=plan) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            judgments, stats = run(tasks, [judge], store, EngineOptions(max_reasks=2, **FAST))
            assert len(store) == 12  # invalid judgments are stored too (the reply was paid for)
        assert len(judgments) == 12
        for judgment in judgments:
            assert not judgment.valid
            assert judgment.invalid_reason is not None
            assert judgment.invalid_reason.startswith("unparseable reply: Hmm")
            assert judgment.raw == GARBAGE_REPLY
            assert judgment.attempts == 3 and judgment.reasks == 2
        assert server.stats()["requests"] == 36
        assert stats.judges["openai:m"].invalid == 12

        # a rerun reports them again from the store without a call
        with JudgmentStore(store_path) as store:
            again, _ = run(tasks, [judge], store)
        assert server.stats()["requests"] == 36
        assert all(j.cached and not j.valid for j in again)

        # --retry-invalid re-judges exactly those, now that the judge behaves
        server.faults = FaultPlan()
        with JudgmentStore(store_path) as store:
            fixed, stats3 = run(tasks, [judge], store, EngineOptions(retry_invalid=True))
        assert server.stats()["requests"] == 48
        assert all(j.valid and not j.cached for j in fixed)
        assert stats3.judges["openai:m"].cache_hits == 0


def test_retry_invalid_leaves_valid_rows_alone(store_path: Path) -> None:
    tasks = make_tasks(10)
    with FakeJudgeServer(policy="hash") as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            run(tasks, [judge], store)
            _judgments, stats = run(tasks, [judge], store, EngineOptions(retry_invalid=True))
        assert server.stats()["requests"] == 10
        assert stats.judges["openai:m"].cache_hits == 10


def test_response_format_rejection_falls_back_once(store_path: Path) -> None:
    tasks = make_tasks(30)
    with FakeJudgeServer(policy="hash", faults=FaultPlan(reject_response_format=True)) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            judgments, stats = run(tasks, [judge], store, EngineOptions(concurrency=16))
        served = server.stats()
    assert served["by_fault"] == {"response_format": 1}
    assert served["requests"] == 31
    assert all(j.valid for j in judgments)
    assert stats.judges["openai:m"].schema_fallback
    assert stats.judges["openai:m"].failures == 0
    assert judge.use_schema is False


def test_fallback_run_is_found_again_by_a_run_with_schema(store_path: Path) -> None:
    # the key names the question, not whether the server took the schema
    tasks = make_tasks(5)
    with FakeJudgeServer(policy="hash", faults=FaultPlan(reject_response_format=True)) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            run(tasks, [judge], store)
        fresh = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            again, _ = run(tasks, [fresh], store)
        assert server.stats()["requests"] == 6
        assert all(j.cached for j in again)


def test_stalled_calls_are_abandoned_and_retried(store_path: Path) -> None:
    tasks = make_tasks(20)
    plan = FaultPlan(rate_stall=0.5, stall_s=8.0, max_faults_per_key=1, seed=3)
    options = EngineOptions(concurrency=20, request_timeout=1.5, **FAST)
    with FakeJudgeServer(policy="hash", faults=plan) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url], request_timeout=1.5)
        with JudgmentStore(store_path) as store:
            judgments, stats = run(tasks, [judge], store, options)
        stalls = server.stats()["by_fault"].get("stall", 0)
    assert stalls > 0
    assert all(j.valid for j in judgments)
    assert stats.judges["openai:m"].retries == stalls


def test_circuit_breaker_stops_the_run_and_keeps_the_store(store_path: Path) -> None:
    tasks = make_tasks(60)
    with FakeJudgeServer(policy="hash") as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            run(tasks[:10], [judge], store)
        server.faults = FaultPlan(fail_all_status=503, retry_after_s=0.0)
        seen: list[Judgment] = []
        options = EngineOptions(concurrency=4, max_retries=1, breaker_failures=5, **FAST)
        with JudgmentStore(store_path) as store, pytest.raises(RunAbortedError) as caught:
            run(tasks, [judge], store, options, out=seen)
        assert "5 calls in a row" in str(caught.value)
        # stopped early: far fewer requests than 50 tasks x 2 attempts
        assert server.stats()["requests"] < 10 + 2 * 5 + 2 * 4 + 1
        with JudgmentStore(store_path) as store:
            assert len(store) == 10
        # the first ten came from the store; every failed one was reported invalid, not dropped
        assert [j.cached for j in seen[:10]] == [True] * 10
        failed = seen[10:]
        assert 5 <= len(failed) <= 5 + 3
        assert all(not j.valid and "HTTP 503" in (j.invalid_reason or "") for j in failed)


def test_non_retryable_errors_fail_at_once_and_are_not_stored(store_path: Path) -> None:
    tasks = make_tasks(3)
    # a plain 4xx (404 is fatal for the whole run: see test_lifecycle.py)
    with FakeJudgeServer(policy="hash", faults=FaultPlan(fail_all_status=418)) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            judgments, stats = run(tasks, [judge], store, EngineOptions(**FAST))
            assert len(store) == 0  # nothing paid for: the next run tries again
        assert server.stats()["requests"] == 3
    assert all(not j.valid and "HTTP 418" in (j.invalid_reason or "") for j in judgments)
    assert stats.judges["openai:m"].failures == 3
