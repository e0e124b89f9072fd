"""Run every (task, judge) judgment: bounded concurrency, limits, retries, re-asks, the store.

How one judgment goes (per judge of the panel):

1. The store key is computed from the request as the protocol built it (see
   :func:`fqeval.engine.cache_key`). A stored row is re-parsed with the current parser and
   returned without a call, unless ``use_cache`` is off, or ``retry_invalid`` is on and the row
   does not validate now.
2. Otherwise the judge is called. A failed call (:class:`JudgeError` with ``retryable``, or no
   reply within ``request_timeout``) is retried after an exponential backoff with jitter that
   honours ``Retry-After``, up to ``max_retries`` times; a non-retryable one fails at once. When
   the server rejects the reply schema (:class:`SchemaUnsupportedError`) the judge stops
   sending it for the rest of the run and the call is redone without it (not a failure). Until
   one call with the schema has succeeded, calls carrying it go one at a time, so a server that
   rejects it sees exactly one rejected request.
3. A reply that :meth:`Protocol.parse` rejects is re-asked up to ``max_reasks`` times: the
   original messages, the bad reply as an assistant message and a user message naming the
   reason. After that the judgment is invalid with the reason and the raw reply.
4. A judgment with a reply (valid or invalid) is committed to the store, then counted, then
   handed to ``on_judgment``. A judgment whose call failed for good is handed over as invalid
   (``"call failed: ..."``) but not stored, so the next run tries it again.

Work is pulled lazily from the task iterator by a fixed pool of workers, so memory stays
bounded however many tasks there are. ``concurrency`` bounds the calls in flight per judge.
Batched judges (in-process vLLM) get whole chunks of ``batch_size`` requests per
:meth:`Judge.complete_many` call, one chunk in flight at a time; ``request_timeout`` does not
apply to them (a local batch cannot be abandoned half-way).

Stopping: ``breaker_failures`` consecutive failed judgments on one judge cancel the calls in
flight and raise :class:`RunAbortedError`; reaching ``max_cost`` stops starting new judgments,
lets those in flight finish, then raises :class:`RunAbortedError`. Cancellation (Ctrl-C)
cancels the calls in flight and re-raises. In every case each finished judgment is already
committed to the store.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass

from fqeval.engine._judgment import Judgment
from fqeval.engine._key import cache_key
from fqeval.engine._limits import TokenBucket, per_minute_bucket, retry_delay
from fqeval.engine._listener import ProgressListener
from fqeval.engine._options import EngineOptions
from fqeval.engine._prices import PriceTable, load_prices
from fqeval.engine._stats import JudgeStats, RunStats
from fqeval.engine._store import JudgmentStore, StoredJudgment
from fqeval.errors import RunAbortedError, UsageError
from fqeval.judges._base import (
    Judge,
    JudgeError,
    JudgeReply,
    JudgeRequest,
    Message,
    SchemaUnsupportedError,
)
from fqeval.protocols._base import InvalidReplyError, Protocol, Task, Verdict

#: the correction appended to the conversation when a reply does not validate
REASK_TEMPLATE = (
    "Your reply was invalid: {reason}. Reply again with only the JSON object the instructions "
    "ask for, and nothing else."
)


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    """A tokenizer-free prompt size estimate: ``ceil(characters / 4) + 4`` per message.

    About right for English text with BPE tokenizers (OpenAI's own rule of thumb); used for
    ``--tpm`` limiting and ``--dry-run`` estimates, never for billing.
    """
    return sum((len(m.content) + 3) // 4 + 4 for m in messages)


def reask_messages(task: Task, bad_reply: str, reason: str) -> tuple[Message, ...]:
    """The conversation of a re-ask: the task's messages, the bad reply, the correction."""
    return (
        *task.messages,
        Message("assistant", bad_reply),
        Message("user", REASK_TEMPLATE.format(reason=reason)),
    )


def key_request(task: Task, protocol: Protocol) -> JudgeRequest:
    """The request as the protocol asks it, schema included: what the store key names."""
    return JudgeRequest(
        messages=task.messages,
        sampling=protocol.sampling(),
        schema=task.schema,
        schema_name=task.mode,
        task=task,
    )


async def _within(call: Awaitable[JudgeReply], seconds: float) -> JudgeReply:
    """``call`` or :class:`asyncio.TimeoutError` after ``seconds``.

    ``asyncio.timeout`` (3.11+) runs the call in the current task; ``wait_for`` wraps it in a
    new task per call, which costs measurable CPU at thousands of calls a second.
    """
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)


class _Abort(Exception):
    """Raised inside a worker to stop the whole run (circuit breaker)."""


@dataclass
class _Tally:
    """What one judgment's calls cost so far."""

    attempts: int = 0
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    latency_s: float = 0.0
    raw: str = ""
    reply: JudgeReply | None = None

    def add(self, reply: JudgeReply) -> None:
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.cached_tokens += reply.cached_tokens
        self.latency_s += reply.latency_s
        self.raw = reply.text
        self.reply = reply


class _Lane:
    """Per-judge state: limits, the schema probe, the breaker count, batching buffer."""

    def __init__(self, judge: Judge, stats: JudgeStats, options: EngineOptions) -> None:
        self.judge = judge
        self.stats = stats
        self.rpm: TokenBucket | None = per_minute_bucket(options.rpm) if options.rpm else None
        self.tpm: TokenBucket | None = per_minute_bucket(options.tpm) if options.tpm else None
        self.slots = asyncio.Semaphore(options.concurrency)
        #: "unknown" until a call with the schema succeeded ("ok") or was rejected ("off")
        self.schema_state = "unknown" if judge.use_schema else "off"
        self.probe_lock = asyncio.Lock()
        self.consecutive_failures = 0
        self.buffer: list[tuple[Task, str]] = []
        self.batch_lock = asyncio.Lock()

    async def limit(self, request: JudgeRequest) -> None:
        if self.rpm is not None:
            await self.rpm.acquire(1.0)
        if self.tpm is not None:
            tokens = estimate_prompt_tokens(request.messages) + request.sampling.max_tokens
            await self.tpm.acquire(float(tokens))

    def count_reply(self, tally: _Tally, reply: JudgeReply) -> None:
        """Account a reply to the judgment (``tally``) and to the judge's stats."""
        tally.add(reply)
        self.stats.add_tokens(reply.prompt_tokens, reply.completion_tokens, reply.cached_tokens)
        self.stats.latencies.append(reply.latency_s)

    def schema_rejected(self) -> None:
        if self.judge.use_schema:
            self.judge.use_schema = False
            self.stats.schema_fallback = True
        self.schema_state = "off"


class _Run:
    def __init__(
        self,
        protocol: Protocol,
        judges: Sequence[Judge],
        store: JudgmentStore | None,
        options: EngineOptions,
        on_judgment: Callable[[Judgment], None],
        progress: ProgressListener | None,
        prices: PriceTable,
    ) -> None:
        self.protocol = protocol
        self.sampling = protocol.sampling()
        self.store = store
        self.options = options
        self.on_judgment = on_judgment
        self.progress = progress
        self.stats = RunStats()
        self.lanes: list[_Lane] = []
        for judge in judges:
            if judge.spec in self.stats.judges:
                raise UsageError(
                    f"--judge: {judge.spec} is given twice (a panel needs distinct judges)"
                )
            stats = JudgeStats(
                judge=judge.spec,
                model=judge.model,
                price=prices.price(judge.model),
                priced=prices.known(judge.model),
            )
            self.stats.judges[judge.spec] = stats
            self.lanes.append(_Lane(judge, stats, options))
        self.stopping = False
        self.abort_message: str | None = None
        self.in_flight: dict[str, asyncio.Event] = {}
        self.rng = random.Random()

    # ------------------------------------------------------------------ the worker pool

    async def execute(self, tasks: Iterable[Task]) -> RunStats:
        if isinstance(tasks, Sized):
            self.stats.total = len(tasks) * len(self.lanes)
        if self.progress is not None:
            self.progress.start(self.stats.total)
        units: Iterator[tuple[Task, _Lane]] = (
            (task, lane) for task in tasks for lane in self.lanes
        )
        call_lanes = sum(1 for lane in self.lanes if not lane.judge.batched)
        batch_lanes = len(self.lanes) - call_lanes
        size = self.options.concurrency * call_lanes + 2 * batch_lanes
        workers = [asyncio.create_task(self._worker(units)) for _ in range(max(1, size))]
        try:
            await asyncio.gather(*workers)
        except BaseException as err:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if isinstance(err, _Abort):
                self.abort_message = str(err)
            else:
                raise
        finally:
            for lane in self.lanes:
                await lane.judge.aclose()
            if self.progress is not None:
                self.stats.aborted = self.abort_message
                self.progress.finish(self.stats)
        self.stats.aborted = self.abort_message
        if self.abort_message is not None:
            raise RunAbortedError(self.abort_message, stats=self.stats)
        return self.stats

    async def _worker(self, units: Iterator[tuple[Task, _Lane]]) -> None:
        while not self.stopping:
            try:
                task, lane = next(units)
            except StopIteration:
                break
            if lane.judge.batched:
                await self._buffer(task, lane)
            else:
                await self._judge_one(task, lane)
            # Cached judgments and in-process judges finish without ever suspending; yield to
            # the loop so Ctrl-C (a task cancellation) gets through and finished timers are
            # freed, instead of one worker running the whole run in a single step.
            await asyncio.sleep(0)
        # the iterator is exhausted: whatever a batched judge collected goes out now
        for lane in self.lanes:
            if lane.buffer and not self.stopping:
                chunk, lane.buffer = lane.buffer, []
                await self._run_batch(lane, chunk)

    # ------------------------------------------------------------------ one judgment at a time

    async def _judge_one(self, task: Task, lane: _Lane) -> None:
        key = cache_key(lane.judge, key_request(task, self.protocol))
        waiting = self.in_flight.get(key)
        if waiting is not None:  # the same question is being asked right now: reuse its answer
            await waiting.wait()
        if self._from_store(task, lane, key) or self._replay_miss(task, lane, key):
            return
        done = self.in_flight[key] = asyncio.Event()
        try:
            async with lane.slots:
                await self._ask(task, lane, key)
        finally:
            done.set()
            del self.in_flight[key]

    async def _ask(self, task: Task, lane: _Lane, key: str) -> None:
        tally = _Tally()
        messages = task.messages
        while True:
            try:
                reply = await self._call(task, lane, messages, tally)
            except JudgeError as err:
                self._finish_failure(task, lane, key, tally, err)
                return
            lane.consecutive_failures = 0
            verdict, reason = self._parse(task, reply)
            if verdict is None and tally.reasks < self.options.max_reasks:
                tally.reasks += 1
                lane.stats.reasks += 1
                messages = reask_messages(task, reply.text, reason or "")
                continue
            self._finish_reply(task, lane, key, tally, verdict, reason)
            return

    async def _call(
        self, task: Task, lane: _Lane, messages: tuple[Message, ...], tally: _Tally
    ) -> JudgeReply:
        failures = 0
        timeout = self.options.request_timeout
        while True:
            probe = False
            if lane.schema_state == "unknown" and task.schema is not None:
                await lane.probe_lock.acquire()
                if lane.schema_state == "unknown":
                    probe = True
                else:
                    lane.probe_lock.release()
            try:
                request = self._request(task, lane, messages)
                await lane.limit(request)
                tally.attempts += 1
                lane.stats.calls += 1
                try:
                    reply = await _within(lane.judge.complete(request), timeout)
                except asyncio.TimeoutError:
                    error: JudgeError = JudgeError(
                        f"no reply within {timeout:g} s (--request-timeout)", retryable=True
                    )
                except SchemaUnsupportedError as err:
                    if request.schema is not None:
                        lane.schema_rejected()
                        continue
                    error = err
                except JudgeError as err:
                    error = err
                else:
                    if request.schema is not None:
                        lane.schema_state = "ok"
                    lane.count_reply(tally, reply)
                    return reply
            finally:
                if probe:
                    lane.probe_lock.release()
            if not error.retryable or failures >= self.options.max_retries:
                raise error
            delay = self._delay(failures, error.retry_after)
            failures += 1
            lane.stats.retries += 1
            await asyncio.sleep(delay)

    def _delay(self, failures: int, retry_after: float | None) -> float:
        return retry_delay(
            failures,
            retry_after,
            base=self.options.backoff_base,
            cap=self.options.backoff_max,
            jitter=self.rng.uniform(0.5, 1.0),
        )

    def _request(self, task: Task, lane: _Lane, messages: tuple[Message, ...]) -> JudgeRequest:
        return JudgeRequest(
            messages=messages,
            sampling=self.sampling,
            schema=task.schema if lane.judge.use_schema else None,
            schema_name=task.mode,
            task=task,
        )

    def _parse(self, task: Task, reply: JudgeReply) -> tuple[Verdict | None, str | None]:
        try:
            return self.protocol.parse(task, reply), None
        except InvalidReplyError as err:
            return None, str(err) or "invalid reply"

    # ------------------------------------------------------------------ batched judges

    async def _buffer(self, task: Task, lane: _Lane) -> None:
        key = cache_key(lane.judge, key_request(task, self.protocol))
        if self._from_store(task, lane, key) or self._replay_miss(task, lane, key):
            return
        lane.buffer.append((task, key))
        if len(lane.buffer) >= self.options.batch_size:
            chunk, lane.buffer = lane.buffer, []
            await self._run_batch(lane, chunk)

    async def _run_batch(self, lane: _Lane, chunk: list[tuple[Task, str]]) -> None:
        async with lane.batch_lock:
            pending = [(task, key, task.messages, _Tally(), 0) for task, key in chunk]
            while pending and not self.stopping:
                requests = [self._request(task, lane, msgs) for task, _, msgs, _, _ in pending]
                for (_, _, _, tally, _), request in zip(pending, requests, strict=True):
                    await lane.limit(request)
                    tally.attempts += 1
                    lane.stats.calls += 1
                results = await lane.judge.complete_many(requests)
                if len(results) != len(requests):
                    raise RuntimeError(
                        f"{lane.judge.spec}: complete_many returned {len(results)} results "
                        f"for {len(requests)} requests"
                    )
                later: list[tuple[Task, str, tuple[Message, ...], _Tally, int]] = []
                delay = 0.0
                for (task, key, msgs, tally, failures), request, result in zip(
                    pending, requests, results, strict=True
                ):
                    if isinstance(result, SchemaUnsupportedError) and request.schema is not None:
                        lane.schema_rejected()
                        later.append((task, key, msgs, tally, failures))
                    elif isinstance(result, JudgeError):
                        if result.retryable and failures < self.options.max_retries:
                            lane.stats.retries += 1
                            delay = max(delay, self._delay(failures, result.retry_after))
                            later.append((task, key, msgs, tally, failures + 1))
                        else:
                            self._finish_failure(task, lane, key, tally, result)
                    else:
                        lane.count_reply(tally, result)
                        lane.consecutive_failures = 0
                        verdict, reason = self._parse(task, result)
                        if verdict is None and tally.reasks < self.options.max_reasks:
                            tally.reasks += 1
                            lane.stats.reasks += 1
                            again = reask_messages(task, result.text, reason or "")
                            later.append((task, key, again, tally, failures))
                        else:
                            self._finish_reply(task, lane, key, tally, verdict, reason)
                if delay:
                    await asyncio.sleep(delay)
                pending = later

    # ------------------------------------------------------------------ finishing judgments

    def _from_store(self, task: Task, lane: _Lane, key: str) -> bool:
        if self.store is None or not self.options.use_cache:
            return False
        row = self.store.get(key)
        if row is None:
            return False
        reply = JudgeReply(
            text=row.raw,
            logprobs=row.logprobs,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            cached_tokens=row.cached_tokens,
            latency_s=row.latency_s,
        )
        verdict, reason = self._parse(task, reply)
        if verdict is None and self.options.retry_invalid:
            return False
        lane.stats.cache_hits += 1
        self._emit(
            lane,
            Judgment(
                task=task,
                judge=lane.judge.spec,
                verdict=verdict,
                invalid_reason=reason,
                raw=row.raw,
                attempts=0,
                reasks=row.reasks,
                prompt_tokens=row.prompt_tokens,
                completion_tokens=row.completion_tokens,
                cached_tokens=row.cached_tokens,
                latency_s=row.latency_s,
                cached=True,
                cache_key=key,
            ),
        )
        return True

    def _finish_reply(
        self,
        task: Task,
        lane: _Lane,
        key: str,
        tally: _Tally,
        verdict: Verdict | None,
        reason: str | None,
    ) -> None:
        judgment = _judgment(task, lane, key, tally, verdict, reason)
        if self.store is not None:
            # committed before anyone hears of it: a crash after this line never pays again
            self.store.put(
                StoredJudgment(
                    key=key,
                    judge=lane.judge.spec,
                    model=lane.judge.model,
                    raw=tally.raw,
                    logprobs=tally.reply.logprobs if tally.reply is not None else None,
                    valid=verdict is not None,
                    invalid_reason=reason,
                    attempts=tally.attempts,
                    reasks=tally.reasks,
                    prompt_tokens=tally.prompt_tokens,
                    completion_tokens=tally.completion_tokens,
                    cached_tokens=tally.cached_tokens,
                    latency_s=tally.latency_s,
                )
            )
        self._emit(lane, judgment)
        self._check_cost()

    def _replay_miss(self, task: Task, lane: _Lane, key: str) -> bool:
        """With ``replay_only``, a judgment not in the store ends invalid without a call."""
        if not self.options.replay_only:
            return False
        reason = "not in the judgment store (--replay-only makes no calls)"
        self._emit(lane, _judgment(task, lane, key, _Tally(), None, reason))
        return True

    def _finish_failure(
        self, task: Task, lane: _Lane, key: str, tally: _Tally, error: JudgeError
    ) -> None:
        lane.stats.failures += 1
        lane.consecutive_failures += 1
        judgment = _judgment(task, lane, key, tally, None, f"call failed: {error}")
        self._emit(lane, judgment)
        self._check_cost()
        if lane.consecutive_failures >= self.options.breaker_failures:
            raise _Abort(
                f"stopped: {lane.consecutive_failures} calls in a row to {lane.judge.spec} "
                f"failed (last: {error}); finished judgments are stored, rerun to resume"
            )

    def _emit(self, lane: _Lane, judgment: Judgment) -> None:
        stats = lane.stats
        stats.judgments += 1
        if judgment.valid:
            stats.valid += 1
        else:
            stats.invalid += 1
        self.on_judgment(judgment)
        if self.progress is not None:
            self.progress.advance(judgment, self.stats)

    def _check_cost(self) -> None:
        cap = self.options.max_cost
        if cap is not None and not self.stopping and self.stats.cost >= cap:
            self.stopping = True
            self.abort_message = (
                f"stopped: estimated cost ${self.stats.cost:.4f} reached --max-cost "
                f"${cap:g}; finished judgments are stored, rerun with a higher cap to resume"
            )


def _judgment(
    task: Task,
    lane: _Lane,
    key: str,
    tally: _Tally,
    verdict: Verdict | None,
    reason: str | None,
) -> Judgment:
    return Judgment(
        task=task,
        judge=lane.judge.spec,
        verdict=verdict,
        invalid_reason=reason,
        raw=tally.raw,
        attempts=tally.attempts,
        reasks=tally.reasks,
        prompt_tokens=tally.prompt_tokens,
        completion_tokens=tally.completion_tokens,
        cached_tokens=tally.cached_tokens,
        latency_s=tally.latency_s,
        cache_key=key,
    )


async def run_judgments(
    tasks: Iterable[Task],
    protocol: Protocol,
    judges: Sequence[Judge],
    *,
    store: JudgmentStore | None,
    options: EngineOptions,
    on_judgment: Callable[[Judgment], None],
    progress: ProgressListener | None = None,
    prices: PriceTable | None = None,
) -> RunStats:
    """Judge every task with every judge; see the module docstring for the whole procedure.

    ``on_judgment`` is called once per (task, judge) in completion order, after the judgment
    is committed to ``store``. ``prices`` defaults to :func:`load_prices`. The judges' network
    connections are closed on return (they reopen on next use).

    Raises:
        RunAbortedError: the circuit breaker tripped or ``max_cost`` was reached (every
            finished judgment is stored).
        asyncio.CancelledError, KeyboardInterrupt: re-raised after cancelling calls in flight.
    """
    if not judges:
        raise ValueError("run_judgments needs at least one judge")
    run = _Run(
        protocol,
        judges,
        store,
        options,
        on_judgment,
        progress,
        prices if prices is not None else load_prices(),
    )
    return await run.execute(tasks)
