"""The judgment lifecycle at its edges: duplicated prompts in flight (with and without a store),
error classes (quota, deterministic server errors, context length, cut-off replies), and stops
that record everything already paid for, on the single-call and the batched path.

The fake judge's server-side counters (requests per prompt, replies delivered) are the
independent truth about what was paid for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from fqeval.engine import EngineOptions, Judgment, JudgmentStore, PriceTable
from fqeval.engine._prices import Price
from fqeval.errors import RunAbortedError
from fqeval.judges import Judge, JudgeError, JudgeReply, JudgeRequest, make_judge
from tests.engine.conftest import expected_winner, make_tasks, run
from tests.fakejudge import PEG_500_MESSAGE, FakeJudgeServer, FaultPlan

FAST: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.05}


def _copies(n: int, times: int) -> list:  # type: ignore[type-arg]
    """``n`` distinct tasks, each repeated ``times`` times, interleaved (copies in flight)."""
    tasks = make_tasks(n)
    return [task for _ in range(times) for task in tasks]


# --------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize(
    ("with_store", "options"),
    [
        (False, {}),
        (True, {"use_cache": False}),
        (True, {"retry_invalid": True}),
        (True, {}),
    ],
    ids=["no-store", "no-cache", "retry-invalid", "store"],
)
def test_identical_prompts_are_asked_once_per_run(
    store_path: Path, with_store: bool, options: dict[str, Any]
) -> None:
    tasks = _copies(20, 4)
    with FakeJudgeServer(policy="hash", latency_s=0.02) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        store = JudgmentStore(store_path) if with_store else None
        try:
            opts = EngineOptions(concurrency=16, **options, **FAST)
            judgments, stats = run(tasks, [judge], store, opts)
        finally:
            if store is not None:
                store.close()
        served = server.stats()
    assert served["requests"] == 20  # one per distinct prompt, whatever the store
    assert set(served["per_key"].values()) == {1}
    assert len(judgments) == 80 and all(j.valid for j in judgments)
    for judgment in judgments:
        assert judgment.verdict.winner_label == expected_winner(judgment.task)  # type: ignore[union-attr]
    s = stats.judges["openai:m"]
    assert s.calls == 20 and s.reused + s.cache_hits == 60
    # copies cost nothing: the tokens are the server's count once (a store hit shows the
    # tokens its row was paid with, as every cached judgment does)
    assert s.prompt_tokens == served["prompt_tokens"]
    assert sum(j.prompt_tokens for j in judgments if not j.cached) == served["prompt_tokens"]


@pytest.mark.parametrize("with_store", [False, True], ids=["no-store", "store"])
def test_a_failed_first_call_of_a_duplicated_prompt_is_not_asked_again(
    store_path: Path, with_store: bool
) -> None:
    tasks = _copies(3, 5)
    plan = FaultPlan(fail_all_status=418)
    with FakeJudgeServer(policy="hash", faults=plan) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        store = JudgmentStore(store_path) if with_store else None
        try:
            judgments, stats = run(tasks, [judge], store, EngineOptions(concurrency=8, **FAST))
        finally:
            if store is not None:
                store.close()
        assert server.stats()["requests"] == 3
    assert len(judgments) == 15
    assert all(not j.valid and "HTTP 418" in (j.invalid_reason or "") for j in judgments)
    assert stats.judges["openai:m"].failures == 15  # every copy is reported as failed


def test_duplicates_with_retries_pay_only_the_faults(store_path: Path) -> None:
    tasks = _copies(30, 3)
    plan = FaultPlan.spread(0.5, kinds=("429", "500", "garbage"), seed=3, retry_after_s=0.01)
    with FakeJudgeServer(policy="hash", faults=plan) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        judgments, _ = run(tasks, [judge], None, EngineOptions(concurrency=16, **FAST))
        served = server.stats()
    faults = sum(served["by_fault"].values())
    assert served["requests"] == 30 + faults
    assert set(served["completed_keys"].values()) == {1}
    assert len(judgments) == 90 and all(j.valid for j in judgments)


# --------------------------------------------------------------------------- error classes


def test_quota_exhausted_stops_the_run_at_once(store_path: Path) -> None:
    tasks = make_tasks(200)
    plan = FaultPlan(fail_all_status=429, fail_all_code="insufficient_quota")
    out: list[Judgment] = []
    with FakeJudgeServer(policy="hash", faults=plan) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store, pytest.raises(RunAbortedError) as caught:
            run(tasks, [judge], store, EngineOptions(concurrency=4, **FAST), out=out)
        requests = server.stats()["requests"]
    assert "quota is exhausted" in str(caught.value)
    assert requests <= 4  # the calls already in flight, no retries (was ~175 before)
    assert len(out) == requests and all("call failed" in (j.invalid_reason or "") for j in out)
    assert caught.value.stats is not None and caught.value.stats.failures == requests


def test_deterministic_server_error_is_recorded_after_two_identical_replies(
    store_path: Path,
) -> None:
    tasks = make_tasks(4)
    plan = FaultPlan(rate_sticky_500=1.0)
    with FakeJudgeServer(policy="hash", faults=plan) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            judgments, stats = run(tasks, [judge], store, EngineOptions(**FAST))
            assert len(store) == 4
            assert server.stats()["requests"] == 8  # two each, not 1 + max_retries
            server.reset_stats()
            again, _ = run(tasks, [judge], store, EngineOptions(**FAST))
            assert server.stats()["requests"] == 0  # a rerun does not pay to hear it again
    for judgment in [*judgments, *again]:
        assert not judgment.valid
        assert PEG_500_MESSAGE in (judgment.invalid_reason or "")
        assert "same error twice" in (judgment.invalid_reason or "")
    assert stats.judges["openai:m"].failures == 0 and stats.judges["openai:m"].retries == 4


def test_transient_errors_that_differ_are_retried(store_path: Path) -> None:
    # the fake's transient 500s name the request, as real request ids do: never "the same"
    plan = FaultPlan(rate_500=1.0, max_faults_per_key=3)
    with FakeJudgeServer(policy="hash", faults=plan) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        judgments, _ = run(make_tasks(3), [judge], None, EngineOptions(**FAST))
        assert server.stats()["requests"] == 12
    assert all(j.valid for j in judgments)


def test_context_length_400_is_invalid_named_and_not_retried(store_path: Path) -> None:
    tasks = make_tasks(3)
    with FakeJudgeServer(policy="hash", faults=FaultPlan(rate_context_400=1.0)) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            judgments, stats = run(tasks, [judge], store, EngineOptions(**FAST))
            server.reset_stats()
            again, _ = run(tasks, [judge], store, EngineOptions(**FAST))
            assert server.stats()["requests"] == 0
            # --retry-invalid asks again
            run(tasks, [judge], store, EngineOptions(retry_invalid=True, **FAST))
            assert server.stats()["requests"] == 3
    assert stats.calls == 3 and stats.failures == 0
    for judgment in [*judgments, *again]:
        assert "prompt too long" in (judgment.invalid_reason or "")
        assert "exceeds the available context size" in (judgment.invalid_reason or "")


def test_a_reply_cut_at_max_tokens_is_named_and_not_reasked(store_path: Path) -> None:
    tasks = make_tasks(3)
    with FakeJudgeServer(policy="hash", faults=FaultPlan(rate_length=1.0)) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            judgments, _ = run(tasks, [judge], store, EngineOptions(**FAST))
            assert server.stats()["requests"] == 3
            again, _ = run(tasks, [judge], store, EngineOptions(**FAST))
            assert server.stats()["requests"] == 3
    for judgment in [*judgments, *again]:
        assert not judgment.valid
        assert (judgment.invalid_reason or "").startswith("cut off at max_tokens=1000")


def test_failed_calls_cost_what_the_server_reports() -> None:
    judge = _Scripted(
        [[JudgeError("HTTP 400: bad", kind="failed", status=400, prompt_tokens=50)]]
    )
    prices = PriceTable({"scripted": Price(input=1.0, output=2.0)})
    judgments, stats = run(make_tasks(1), [judge], None, EngineOptions(**FAST), prices=prices)
    assert judgments[0].prompt_tokens == 50
    assert stats.judges["scripted"].cost == pytest.approx(50 / 1e6)


# --------------------------------------------------------------------------- the batched path


class _Scripted(Judge):
    """A batched judge whose :meth:`complete_many` plays a script, batch by batch.

    A stand-in for in-process vLLM's batch call (which needs a GPU): each batch's results are
    taken from the script in order; ``"ok"`` is a valid reply (the first candidate), ``"bad"``
    an unparseable one, a :class:`JudgeError` a failed request.
    """

    family = "scripted"
    model = "scripted"
    spec = "scripted"
    batched = True

    def __init__(self, script: Sequence[Sequence[str | JudgeError]]) -> None:
        self.script = [list(batch) for batch in script]
        self.batches: list[int] = []

    async def complete(self, request: JudgeRequest) -> JudgeReply:  # pragma: no cover
        raise AssertionError("a batched judge is called through complete_many")

    async def complete_many(
        self, requests: Sequence[JudgeRequest]
    ) -> list[JudgeReply | JudgeError]:
        await asyncio.sleep(0)
        self.batches.append(len(requests))
        plan = self.script.pop(0) if self.script else []
        out: list[JudgeReply | JudgeError] = []
        for i, _request in enumerate(requests):
            step = plan[i] if i < len(plan) else "ok"
            if isinstance(step, JudgeError):
                out.append(step)
            elif step == "bad":
                out.append(JudgeReply(text="no idea", completion_tokens=10))
            else:
                out.append(
                    JudgeReply(
                        text='{"winner": "candidate_A", "reason": "r"}', completion_tokens=10
                    )
                )
        return out


def test_batched_breaker_still_stores_the_good_replies_of_the_batch(store_path: Path) -> None:
    fail = JudgeError("HTTP 400: nope", kind="failed", status=400)
    judge = _Scripted([[fail, fail, fail, "ok", "ok", "ok"]])
    out: list[Judgment] = []
    with JudgmentStore(store_path) as store, pytest.raises(RunAbortedError):
        run(make_tasks(6), [judge], store, EngineOptions(breaker_failures=2, **FAST), out=out)
        # (raises after the batch)
    with JudgmentStore(store_path) as store:
        assert len(store) == 3  # the three paid replies after the trip
    assert len(out) == 6
    assert sum(j.valid for j in out) == 3
    assert judge.batches == [6]


def test_batched_cost_cap_finishes_pending_reasks(store_path: Path) -> None:
    judge = _Scripted([["bad", "ok", "ok", "ok"], []])
    prices = PriceTable({"scripted": Price(input=0.0, output=1000.0)})  # 10 tokens = $0.01
    out: list[Judgment] = []
    with JudgmentStore(store_path) as store, pytest.raises(RunAbortedError, match="max-cost"):
        run(
            make_tasks(4),
            [judge],
            store,
            EngineOptions(max_cost=0.001, **FAST),
            out=out,
            prices=prices,
        )
    assert judge.batches == [4, 1]  # the re-ask of the bad reply went out after the cap
    assert len(out) == 4 and all(j.valid for j in out)


def test_batched_duplicates_are_asked_once(store_path: Path) -> None:
    judge = _Scripted([])
    judgments, stats = run(_copies(5, 3), [judge], None, EngineOptions(**FAST))
    assert sum(judge.batches) == 5
    assert len(judgments) == 15 and all(j.valid for j in judgments)
    assert stats.judges["scripted"].reused == 10
