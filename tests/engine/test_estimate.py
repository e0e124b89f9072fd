"""The ``--dry-run`` estimate counts exactly the calls the engine makes.

Each test runs the real engine (:func:`fqeval.engine.run_judgments`) on real protocol tasks of
the demo data and compares the calls a counting judge received with :func:`estimate_run`'s
``calls`` for the same tasks, store and options. Duplicate prompts come from score mode on
items where two systems propose the same text (one question, asked once).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from pathlib import Path

import pytest

from fqeval.data import load_data
from fqeval.data._records import EvalData
from fqeval.engine import (
    EngineOptions,
    Judgment,
    JudgmentStore,
    PriceTable,
    RunStats,
    estimate_run,
    run_judgments,
)
from fqeval.judges import JudgeReply, JudgeRequest
from fqeval.judges._heuristic import HeuristicJudge
from fqeval.protocols import Protocol, Task, make_protocol
from tests.conftest import REPO_ROOT

DEMO = REPO_ROOT / "data" / "demo" / "demo.csv"


class CountingJudge(HeuristicJudge):
    """The heuristic judge under its own cache identity, counting the calls it gets.

    With ``flaky`` it answers garbage (an invalid reply) to about half the prompts, chosen by
    a hash of the messages, so the same prompt is always invalid.
    """

    spec = "test:counting"
    family = "test"
    model = "counting-v1"

    def __init__(self, *, flaky: bool = False) -> None:
        self.calls = 0
        self.flaky = flaky

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        self.calls += 1
        if self.flaky:
            text = "".join(m.content for m in request.messages)
            if hashlib.sha256(text.encode()).digest()[0] % 2:
                return JudgeReply(text="no JSON here")
        return await super().complete(request)


@pytest.fixture(scope="module")
def shared() -> EvalData:
    """The demo with ``sys_b`` copying ``final_fq`` on every third item: score mode then
    renders 20 prompts twice (180 tasks, 160 distinct prompts)."""
    data = load_data(str(DEMO))
    items = []
    for index, item in enumerate(data.items):
        if index % 3 == 0:
            candidates = dict(item.candidates)
            candidates["sys_b"] = candidates["final_fq"]
            item = dataclasses.replace(item, candidates=candidates)
        items.append(item)
    return dataclasses.replace(data, items=tuple(items))


def engine(
    tasks: list[Task],
    protocol: Protocol,
    judge: CountingJudge,
    store: JudgmentStore | None,
    options: EngineOptions,
) -> tuple[list[Judgment], RunStats]:
    out: list[Judgment] = []
    stats = asyncio.run(
        run_judgments(
            tasks, protocol, [judge], store=store, options=options, on_judgment=out.append
        )
    )
    return out, stats


def estimate(tasks, protocol, store, options, judge=None):
    return estimate_run(
        tasks, protocol, [judge or CountingJudge()], store=store, options=options,
        prices=PriceTable({}),
    ).judges["test:counting"]  # fmt: skip


OPTIONS = EngineOptions(concurrency=4, max_reasks=0)


def test_estimate_reports_distinct_prompts_and_duplicates(shared: EvalData) -> None:
    proto = make_protocol("score")
    tasks = list(proto.tasks(shared))
    entry = estimate(tasks, proto, None, OPTIONS)
    assert (entry.judgments, entry.distinct_prompts, entry.duplicates) == (180, 160, 20)
    assert (entry.cache_hits, entry.calls) == (0, 160)
    assert entry.as_dict()["duplicates"] == 20 and entry.as_dict()["distinct_prompts"] == 160


def test_no_store_estimate_equals_engine_calls(shared: EvalData) -> None:
    proto = make_protocol("score")
    tasks = list(proto.tasks(shared))
    judge = CountingJudge()
    judgments, stats = engine(tasks, proto, judge, None, OPTIONS)
    assert len(judgments) == 180
    assert (
        judge.calls == stats.judges[judge.spec].calls == estimate(tasks, proto, None, OPTIONS).calls
    )


def test_no_cache_estimate_equals_engine_calls(shared: EvalData, tmp_path: Path) -> None:
    proto = make_protocol("score")
    tasks = list(proto.tasks(shared))
    options = dataclasses.replace(OPTIONS, use_cache=False)
    with JudgmentStore(tmp_path / "s.sqlite") as store:
        engine(tasks[:90], proto, CountingJudge(), store, OPTIONS)
        predicted = estimate(tasks, proto, store, options).calls
        judge = CountingJudge()
        engine(tasks, proto, judge, store, options)
    assert predicted == 160 and judge.calls == predicted


@pytest.mark.parametrize("mode", ["score", "nway", "rank"])
def test_half_filled_store_estimate_equals_engine_calls(
    shared: EvalData, tmp_path: Path, mode: str
) -> None:
    proto = make_protocol(mode, permutations="10") if mode != "score" else make_protocol(mode)
    tasks = list(proto.tasks(shared))
    with JudgmentStore(tmp_path / "s.sqlite") as store:
        engine(tasks[::2], proto, CountingJudge(), store, OPTIONS)
        entry = estimate(tasks, proto, store, OPTIONS)
        judge = CountingJudge()
        judgments, stats = engine(tasks, proto, judge, store, OPTIONS)
        # and a rerun needs nothing
        assert estimate(tasks, proto, store, OPTIONS).calls == 0
    assert len(judgments) == len(tasks) == entry.judgments
    assert 0 < entry.cache_hits < entry.distinct_prompts
    assert judge.calls == stats.judges[judge.spec].calls == entry.calls
    assert entry.calls == entry.distinct_prompts - entry.cache_hits
    if mode == "score":
        assert entry.duplicates == 20
    else:  # capped at 3! distinct orders (2! where two texts are shared): no repeats
        assert entry.judgments == 40 * 6 + 20 * 2 and entry.duplicates == 0


def test_retry_invalid_estimate_equals_engine_calls(shared: EvalData, tmp_path: Path) -> None:
    proto = make_protocol("score")
    tasks = list(proto.tasks(shared))
    retry = dataclasses.replace(OPTIONS, retry_invalid=True)
    with JudgmentStore(tmp_path / "s.sqlite") as store:
        first, _ = engine(
            tasks[: len(tasks) * 2 // 3], proto, CountingJudge(flaky=True), store, OPTIONS
        )
        invalid_keys = {j.cache_key for j in first if not j.valid}
        valid_keys = {j.cache_key for j in first if j.valid}
        assert invalid_keys and valid_keys
        plain = estimate(tasks, proto, store, OPTIONS)
        entry = estimate(tasks, proto, store, retry)
        judge = CountingJudge()
        judgments, _ = engine(tasks, proto, judge, store, retry)
    # without retry_invalid every stored row (valid or not) is a hit; with it only the valid
    assert plain.cache_hits == len(invalid_keys | valid_keys)
    assert entry.cache_hits == len(valid_keys)
    assert entry.calls == judge.calls == entry.distinct_prompts - len(valid_keys)
    assert all(j.valid for j in judgments)


def test_replay_only_estimate_makes_no_calls(shared: EvalData, tmp_path: Path) -> None:
    proto = make_protocol("score")
    tasks = list(proto.tasks(shared))
    replay = dataclasses.replace(OPTIONS, replay_only=True)
    with JudgmentStore(tmp_path / "s.sqlite") as store:
        engine(tasks[:60], proto, CountingJudge(), store, OPTIONS)
        result = estimate_run(
            tasks, proto, [CountingJudge()], store=store, options=replay, prices=PriceTable({})
        )
        entry = result.judges["test:counting"]
        judge = CountingJudge()
        judgments, _ = engine(tasks, proto, judge, store, replay)
    assert entry.calls == judge.calls == 0 and result.calls == 0
    missing_keys = {j.cache_key for j in judgments if not j.valid}
    assert entry.missing == len(missing_keys) > 0
    assert entry.cache_hits + entry.missing == entry.distinct_prompts
    assert "--replay-only: no calls" in result.describe()


def test_describe_names_prompts_duplicates_stored_and_calls(
    shared: EvalData, tmp_path: Path
) -> None:
    proto = make_protocol("score")
    tasks = list(proto.tasks(shared))
    with JudgmentStore(tmp_path / "s.sqlite") as store:
        engine(tasks[:30], proto, CountingJudge(), store, OPTIONS)
        result = estimate_run(
            tasks, proto, [CountingJudge()], store=store, options=OPTIONS, prices=PriceTable({})
        )
    lines = result.describe().splitlines()
    assert lines[0].split()[:6] == [
        "judge",
        "judgments",
        "prompts",
        "duplicates",
        "stored",
        "calls",
    ]
    entry = result.judges["test:counting"]
    row = lines[1].split()
    assert row[:6] == [
        "test:counting", "180", "160", "20", str(entry.cache_hits), str(entry.calls),
    ]  # fmt: skip
    assert lines[-1].startswith(f"total: {entry.calls} calls, estimated $")
