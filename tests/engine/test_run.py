"""run_judgments' contract: panels, streaming, in-run dedupe, re-parsing stored replies,
cancellation, the cost cap, progress callbacks and the dry-run estimate."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from fqeval.engine import (
    EngineOptions,
    Judgment,
    JudgmentStore,
    Price,
    PriceTable,
    RunStats,
    estimate_run,
    run_judgments,
)
from fqeval.errors import RunAbortedError
from fqeval.judges import JudgeReply, make_judge
from fqeval.protocols._base import InvalidReplyError, Task, Verdict
from tests.engine.conftest import TinyNway, expected_winner, make_tasks, run
from tests.fakejudge import FakeJudgeServer


def test_a_panel_judges_every_task_with_every_judge(store_path: Path) -> None:
    tasks = make_tasks(15)
    with FakeJudgeServer(policy="hash") as server:
        panel = [make_judge("openai:m", base_urls=[server.base_url]), make_judge("heuristic")]
        with JudgmentStore(store_path) as store:
            judgments, stats = run(iter(tasks), panel, store)  # a plain iterator: no len()
            assert len(store) == 30
    assert sorted((j.judge, j.task.key) for j in judgments) == sorted(
        (judge, t.key) for judge in ("openai:m", "heuristic") for t in tasks
    )
    assert all(j.valid for j in judgments)
    assert stats.total is None and stats.done == 30
    assert set(stats.judges) == {"openai:m", "heuristic"}
    assert stats.as_dict()["judges"]["heuristic"]["judgments"] == 15


def test_the_same_question_twice_in_one_run_is_asked_once(store_path: Path) -> None:
    tasks = make_tasks(5)
    with FakeJudgeServer(policy="hash", latency_s=0.05) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            judgments, stats = run(tasks + tasks, [judge], store, EngineOptions(concurrency=10))
        assert server.stats()["requests"] == 5
    # the copies were in flight together with the first asks: handed the same answers
    s = stats.judges["openai:m"]
    assert len(judgments) == 10 and s.cache_hits + s.reused == 5 and s.reused == 5
    assert sum(j.reused for j in judgments) == 5


class Strict(TinyNway):
    """A parser with a bug: it rejects every reply."""

    def parse(self, task: Task, reply: JudgeReply) -> Verdict:
        raise InvalidReplyError("strict parser says no")


def test_a_parser_fix_re_derives_stored_results_without_calls(store_path: Path) -> None:
    tasks = make_tasks(8)
    with FakeJudgeServer(policy="hash") as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        bad: list[Judgment] = []
        with JudgmentStore(store_path) as store:
            asyncio.run(
                run_judgments(
                    tasks, Strict(), [judge], store=store,
                    options=EngineOptions(max_reasks=0), on_judgment=bad.append,
                )
            )  # fmt: skip
        assert all(j.invalid_reason == "strict parser says no" for j in bad)
        with JudgmentStore(store_path) as store:
            fixed, _ = run(tasks, [judge], store)
        assert server.stats()["requests"] == 8
    assert all(j.valid and j.cached for j in fixed)
    assert all(j.verdict.winner_label == expected_winner(j.task) for j in fixed)  # type: ignore[union-attr]


def test_no_cache_ignores_the_store_for_reads_but_writes(store_path: Path) -> None:
    tasks = make_tasks(6)
    with FakeJudgeServer(policy="hash") as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            run(tasks, [judge], store)
            again, _ = run(tasks, [judge], store, EngineOptions(use_cache=False))
            assert len(store) == 6
        assert server.stats()["requests"] == 12
    assert not any(j.cached for j in again)


def test_cancellation_keeps_every_finished_judgment(store_path: Path) -> None:
    tasks = make_tasks(200)
    seen: list[Judgment] = []

    async def main() -> None:
        me = asyncio.current_task()
        assert me is not None

        def on_judgment(judgment: Judgment) -> None:
            seen.append(judgment)
            if len(seen) == 20:
                me.cancel()  # what Ctrl-C does to asyncio.run's main task

        with JudgmentStore(store_path) as store:
            await run_judgments(
                tasks, TinyNway(), [judge], store=store,
                options=EngineOptions(concurrency=8), on_judgment=on_judgment,
            )  # fmt: skip

    with FakeJudgeServer(policy="hash", latency_s=0.05) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(main())
        requests = server.stats()["requests"]
    assert 20 <= len(seen) < 200
    assert requests < 200  # the run stopped
    with JudgmentStore(store_path) as store:
        assert all(j.cache_key in store for j in seen)
        assert len(store) <= len(seen) + 8  # at most the calls in flight finished unreported


def test_cancellation_reaches_a_judge_that_never_waits() -> None:
    # the heuristic judge answers without suspending: the engine must still yield to the loop
    tasks = make_tasks(3000)
    seen: list[Judgment] = []

    async def main() -> None:
        me = asyncio.current_task()
        assert me is not None

        def on_judgment(judgment: Judgment) -> None:
            seen.append(judgment)
            if len(seen) == 50:
                me.cancel()

        await run_judgments(
            tasks, TinyNway(), [make_judge("heuristic")], store=None,
            options=EngineOptions(concurrency=4), on_judgment=on_judgment,
        )  # fmt: skip

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert 50 <= len(seen) < 100


def test_max_cost_stops_cleanly(store_path: Path) -> None:
    tasks = make_tasks(60)
    prices = PriceTable({"m": Price(input=1000.0, output=1000.0)})  # about $0.1 a call
    seen: list[Judgment] = []
    with FakeJudgeServer(policy="hash", latency_s=0.01) as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store, pytest.raises(RunAbortedError, match="max-cost"):
            run(
                tasks,
                [judge],
                store,
                EngineOptions(concurrency=4, max_cost=1.0),
                out=seen,
                prices=prices,
            )
        with JudgmentStore(store_path) as store:
            assert len(store) == len(seen)
    assert 5 <= len(seen) < 60


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def start(self, total: int | None) -> None:
        self.events.append(("start", total))

    def advance(self, judgment: Judgment, stats: RunStats) -> None:
        self.events.append(("advance", stats.done))

    def finish(self, stats: RunStats) -> None:
        self.events.append(("finish", stats.done))


def test_progress_callbacks() -> None:
    recorder = Recorder()
    run(make_tasks(7), [make_judge("heuristic")], None, progress=recorder)
    assert recorder.events == [("start", 7)] + [("advance", i) for i in range(1, 8)] + [
        ("finish", 7)
    ]


def test_dry_run_estimate_counts_only_what_is_not_stored(store_path: Path) -> None:
    tasks = make_tasks(10)
    prices = PriceTable({"m": Price(input=2.0, output=8.0)})
    with FakeJudgeServer(policy="hash") as server:
        judge = make_judge("openai:m", base_urls=[server.base_url])
        with JudgmentStore(store_path) as store:
            run(tasks[:4], [judge], store)
            estimate = estimate_run(
                tasks, TinyNway(), [judge, make_judge("heuristic")],
                store=store, options=EngineOptions(), prices=prices,
            )  # fmt: skip
            assert server.stats()["requests"] == 4  # the estimate made no call
            no_cache = estimate_run(
                tasks, TinyNway(), [judge], store=store,
                options=EngineOptions(use_cache=False), prices=prices,
            )  # fmt: skip
    entry = estimate.judges["openai:m"]
    assert (entry.judgments, entry.cache_hits, entry.calls) == (10, 4, 6)
    assert estimate.judges["heuristic"].calls == 10 and not estimate.judges["heuristic"].priced
    assert entry.prompt_tokens > 0 and entry.completion_tokens_max == 6 * 1000
    expected = (entry.prompt_tokens * 2.0 + entry.completion_tokens * 8.0) / 1e6
    assert entry.cost == pytest.approx(expected)
    assert entry.cost_max > entry.cost
    assert estimate.calls == 16 and no_cache.calls == 10
    assert estimate.as_dict()["judges"]["openai:m"]["calls"] == 6
    text = estimate.describe()
    assert "openai:m" in text and "not in price table" in text
    assert text.splitlines()[-1].startswith("total: 16 calls, estimated $")


def test_a_judge_twice_in_a_panel_is_a_usage_error() -> None:
    from fqeval.errors import UsageError

    with pytest.raises(UsageError, match="--judge: heuristic is given twice"):
        run(make_tasks(1), [make_judge("heuristic"), make_judge("heuristic")], None)
