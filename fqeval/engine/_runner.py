"""Run every (task, judge) judgment: bounded concurrency, limits, retries, re-asks, the store.

One judgment is one small state machine (:class:`_Job`), driven the same way by the
single-call path (:meth:`Judge.complete`, many in flight) and the batched path
(:meth:`Judge.complete_many`, in-process vLLM): every attempt's outcome goes through
:meth:`_Run._on_reply` or :meth:`_Run._on_error`, which decide *retry*, *re-ask* or *finish*.

1. **Key.** The store key is computed from the request as the protocol built it (see
   :func:`fqeval.engine.cache_key`). An identical prompt is asked once per run: a copy that
   arrives while the first is in flight waits in the in-flight registry and is handed the same
   answer (re-parsed for its own task, ``reused``, no tokens), with or without a store; a copy
   that arrives later reads the store, or the run's memo of answers the store cannot give back
   (no store, ``--no-cache``, ``--retry-invalid``, failed calls).
2. **Store.** A stored row is re-parsed with the current parser and returned without a call,
   unless ``use_cache`` is off, or ``retry_invalid`` is on and the row does not validate now.
3. **Attempt and classify.** A failed call is a :class:`JudgeError` of one kind
   (:data:`fqeval.judges.ERROR_KINDS`): ``rate_limit`` and ``transient`` are retried after an
   exponential backoff with jitter that honours ``Retry-After``, up to ``max_retries`` times,
   except that the same status and message twice in a row for one request is taken as
   deterministic: the judgment ends invalid with the server's message and is stored. So is a
   ``rejected`` prompt (context length). ``fatal`` (quota exhausted, key refused, no such
   model) stops the run at once. ``failed`` ends the judgment without a retry. When the server
   rejects the reply schema (:class:`SchemaUnsupportedError`) the judge stops sending it for
   the rest of the run and the call is redone without it (not a failure); until one call with
   the schema has succeeded, single calls carrying it go one at a time, so a server that
   rejects it sees exactly one rejected request.
4. **Re-ask.** A reply that :meth:`Protocol.parse` rejects is re-asked up to ``max_reasks``
   times: the original messages, the bad reply as an assistant message and a user message
   naming the reason. A reply cut at ``max_tokens`` (``finish_reason == "length"``) that does
   not parse is not re-asked (it would be cut again): it ends invalid as "cut off at
   max_tokens=N".
5. **Finish.** A judgment with a reply (valid or invalid) or a deterministic refusal is
   committed to the store, then counted, then handed to ``on_judgment``, and so is every copy
   that waited for it. A judgment whose call failed for good is handed over as invalid
   (``"call failed: ..."``) but not stored, so the next run tries it again.

Work is pulled lazily from the task iterator by a fixed pool of workers, so memory stays
bounded however many tasks there are. ``concurrency`` bounds the calls in flight per judge.
Batched judges get whole chunks of ``batch_size`` requests per :meth:`Judge.complete_many`
call, one chunk in flight at a time; ``request_timeout`` does not apply to them (a local batch
cannot be abandoned half-way).

Stopping never loses what was paid for. Reaching ``max_cost`` stops taking new tasks; the
judgments already started finish (retries and re-asks included). The circuit breaker
(``breaker_failures`` consecutive failed judgments on one judge) and a ``fatal`` error stop
taking new tasks and stop retrying: calls in flight still finish and are recorded, judgments
waiting for a retry or a re-ask end with their last error or reason. Then
:class:`RunAbortedError` is raised, carrying the stats. Cancellation (Ctrl-C) cancels the
calls in flight and re-raises; every finished judgment is already committed to the store.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, field

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


def judge_reply(
    protocol: Protocol, task: Task, reply: JudgeReply
) -> tuple[Verdict | None, str | None]:
    """The verdict of ``reply`` for ``task``, or ``None`` and the invalid reason.

    A reply that does not parse and was cut at ``max_tokens`` (``finish_reason == "length"``)
    is named so: "cut off at max_tokens=N (finish_reason: length): <parser's reason>".
    """
    try:
        return protocol.parse(task, reply), None
    except InvalidReplyError as err:
        reason = str(err) or "invalid reply"
    if reply.finish_reason == "length":
        reason = (
            f"cut off at max_tokens={protocol.sampling().max_tokens} "
            f"(finish_reason: length): {reason}"
        )
    return None, reason


def read_row(
    protocol: Protocol, task: Task, row: StoredJudgment
) -> tuple[Verdict | None, str | None]:
    """A stored row's verdict under the current parser (a stored refusal stays invalid)."""
    if row.error is not None:
        return None, row.error
    reply = JudgeReply(text=row.raw, logprobs=row.logprobs, finish_reason=row.finish_reason)
    return judge_reply(protocol, task, reply)


def store_answers(valid: bool, options: EngineOptions, *, answered: bool = False) -> bool:
    """The one cache-hit rule: may a stored row stand for a judgment, given its validity now?

    Yes when ``use_cache`` is on, except that ``retry_invalid`` refuses rows that do not
    validate now. ``answered`` (the key was asked earlier in this run) overrides both: a
    prompt is asked once per run.
    """
    if answered:
        return True
    return options.use_cache and (valid or not options.retry_invalid)


async def _within(call: Awaitable[JudgeReply], seconds: float) -> JudgeReply:
    """``call`` or :class:`asyncio.TimeoutError` after ``seconds``.

    ``asyncio.timeout`` (3.11+) runs the call in the current task; ``wait_for`` wraps it in a
    new task per call, which costs measurable CPU at thousands of calls a second.
    """
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)


#: what the run's memo holds for a key whose answer is in the store (read it whatever
#: ``use_cache`` and ``retry_invalid`` say: it was answered in this run)
_STORED = "stored"


@dataclass(slots=True)
class _Outcome:
    """How the asking of one prompt ended: what copies of the same prompt are handed."""

    reply: JudgeReply | None
    #: the invalid reason when there is no reply (a failed call or a server refusal)
    reason: str | None
    failed: bool
    reasks: int = 0


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


@dataclass
class _Job:
    """One judgment being asked: the state machine's state."""

    task: Task
    lane: _Lane
    key: str
    messages: tuple[Message, ...]
    tally: _Tally = field(default_factory=_Tally)
    #: failed attempts of the current request (reset by a reply)
    failures: int = 0
    #: ``(status, message)`` of the last failed attempt, to spot deterministic errors
    last_error: tuple[int | None, str] | None = None
    #: what the job is waiting for between attempts: the error to retry or the reason to re-ask
    pending_error: JudgeError | None = None
    pending_reason: str | None = None


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
        self.buffer: list[_Job] = []
        self.batch_lock = asyncio.Lock()
        #: key -> copies of the prompt waiting for the call in flight
        self.in_flight: dict[str, list[Task]] = {}
        #: key -> how a prompt answered earlier in this run ended, where the store cannot say
        self.memo: dict[str, _Outcome | str] = {}

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

    def count_error(self, tally: _Tally, error: JudgeError) -> None:
        """Account what a failed call cost, where the server reported it."""
        if error.prompt_tokens or error.completion_tokens:
            tally.prompt_tokens += error.prompt_tokens
            tally.completion_tokens += error.completion_tokens
            self.stats.add_tokens(error.prompt_tokens, error.completion_tokens, 0)

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
        #: no new tasks are taken (cost cap, breaker, fatal error)
        self.stopping = False
        #: no retries or re-asks either (breaker, fatal error)
        self.halted = False
        self.abort_message: str | None = None
        self.rng = random.Random()
        #: the memo is needed where the store cannot answer for a prompt asked in this run
        self.memo_all = store is None or not options.use_cache or options.retry_invalid

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
        except BaseException:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        finally:
            for lane in self.lanes:
                await lane.judge.aclose()
            self.stats.aborted = self.abort_message
            if self.progress is not None:
                self.progress.finish(self.stats)
        if self.abort_message is not None:
            raise RunAbortedError(self.abort_message, stats=self.stats)
        return self.stats

    async def _worker(self, units: Iterator[tuple[Task, _Lane]]) -> None:
        while not self.stopping:
            try:
                task, lane = next(units)
            except StopIteration:
                break
            job = self._start(task, lane)
            if job is not None:
                if lane.judge.batched:
                    lane.buffer.append(job)
                    if len(lane.buffer) >= self.options.batch_size:
                        chunk, lane.buffer = lane.buffer, []
                        await self._run_batch(lane, chunk)
                else:
                    async with lane.slots:
                        await self._ask(job)
            # Cached judgments and in-process judges finish without ever suspending; yield to
            # the loop so Ctrl-C (a task cancellation) gets through and finished timers are
            # freed, instead of one worker running the whole run in a single step.
            await asyncio.sleep(0)
        # no more tasks: whatever a batched judge collected goes out now (jobs already started
        # are finished even when the run is stopping: they are registered as in flight)
        for lane in self.lanes:
            if lane.buffer:
                chunk, lane.buffer = lane.buffer, []
                await self._run_batch(lane, chunk)

    def _start(self, task: Task, lane: _Lane) -> _Job | None:
        """A job for ``task``, or ``None`` when it was answered without a call of its own."""
        key = cache_key(lane.judge, key_request(task, self.protocol))
        waiting = lane.in_flight.get(key)
        if waiting is not None:  # the same prompt is being asked right now: wait for it
            waiting.append(task)
            return None
        known = lane.memo.get(key)
        if isinstance(known, _Outcome):
            self._emit_copy(task, lane, key, known)
            return None
        if self._from_store(task, lane, key, answered=known is not None):
            return None
        if self.options.replay_only:
            reason = "not in the judgment store (--replay-only makes no calls)"
            self._emit(lane, self._judgment(task, lane, key, _Tally(), None, reason))
            return None
        lane.in_flight[key] = []
        return _Job(task, lane, key, task.messages)

    # ------------------------------------------------------------------ single calls

    async def _ask(self, job: _Job) -> None:
        while True:
            if self.halted and not self._proceed_halted(job):
                return
            try:
                reply = await self._call(job)
            except JudgeError as err:
                delay = self._on_error(job, err)
                if delay is None:
                    return
                if delay:
                    await asyncio.sleep(delay)
                continue
            if not self._on_reply(job, reply):
                return

    async def _call(self, job: _Job) -> JudgeReply:
        """One attempt of ``job``'s current request (the schema probe held while needed)."""
        lane, task = job.lane, job.task
        probe = False
        if lane.schema_state == "unknown" and task.schema is not None:
            await lane.probe_lock.acquire()
            if lane.schema_state == "unknown":
                probe = True
            else:
                lane.probe_lock.release()
        try:
            request = self._request(job)
            await self._count_attempt(job, request)
            timeout = self.options.request_timeout
            try:
                reply = await _within(lane.judge.complete(request), timeout)
            except asyncio.TimeoutError:
                raise JudgeError(
                    f"no reply within {timeout:g} s (--request-timeout)", kind="transient"
                ) from None
            if request.schema is not None:
                lane.schema_state = "ok"
            return reply
        finally:
            if probe:
                lane.probe_lock.release()

    async def _count_attempt(self, job: _Job, request: JudgeRequest) -> None:
        await job.lane.limit(request)
        job.tally.attempts += 1
        job.lane.stats.calls += 1

    # ------------------------------------------------------------------ batched judges

    async def _run_batch(self, lane: _Lane, chunk: list[_Job]) -> None:
        async with lane.batch_lock:
            pending = chunk
            while pending:
                if self.halted:
                    pending = [job for job in pending if self._proceed_halted(job)]
                    if not pending:
                        break
                requests = [self._request(job) for job in pending]
                for job, request in zip(pending, requests, strict=True):
                    await self._count_attempt(job, request)
                results = await lane.judge.complete_many(requests)
                if len(results) != len(requests):
                    raise RuntimeError(
                        f"{lane.judge.spec}: complete_many returned {len(results)} results "
                        f"for {len(requests)} requests"
                    )
                later: list[_Job] = []
                delay = 0.0
                # every result is recorded before anything stops: a breaker that trips on the
                # third result still stores the good replies after it
                for job, request, result in zip(pending, requests, results, strict=True):
                    if isinstance(result, JudgeError):
                        if isinstance(result, SchemaUnsupportedError) and request.schema is None:
                            result = JudgeError(str(result), kind="failed", status=result.status)
                        wait = self._on_error(job, result)
                        if wait is not None:
                            later.append(job)
                            delay = max(delay, wait)
                    else:
                        if request.schema is not None:
                            lane.schema_state = "ok"
                        if self._on_reply(job, result):
                            later.append(job)
                if delay:
                    await asyncio.sleep(delay)
                pending = later

    # ------------------------------------------------------------------ the state machine

    def _on_reply(self, job: _Job, reply: JudgeReply) -> bool:
        """Account and judge a reply; ``True`` when ``job`` must be asked again (a re-ask)."""
        lane = job.lane
        lane.count_reply(job.tally, reply)
        lane.consecutive_failures = 0
        job.failures, job.last_error, job.pending_error = 0, None, None
        verdict, reason = self._judge_reply(job.task, reply)
        if (
            verdict is None
            and reply.finish_reason != "length"
            and job.tally.reasks < self.options.max_reasks
            and not self.halted
        ):
            job.tally.reasks += 1
            lane.stats.reasks += 1
            job.pending_reason = reason
            job.messages = reask_messages(job.task, reply.text, reason or "")
            return True
        self._finish(job, verdict, reason)
        return False

    def _on_error(self, job: _Job, error: JudgeError) -> float | None:
        """Classify a failed attempt: the delay before retrying, or ``None`` (finished)."""
        lane = job.lane
        lane.count_error(job.tally, error)
        if isinstance(error, SchemaUnsupportedError):
            lane.schema_rejected()
            return 0.0  # the same request again, as a plain prompt; not a failure
        if error.kind == "fatal":
            self._halt(f"stopped: {error}; finished judgments are stored, rerun to resume")
            self._finish_failure(job, error)
            return None
        if error.kind == "rejected":
            self._finish(job, None, f"rejected by the server: {error}", error=True)
            return None
        # a rate limit says "wait", however often it repeats; a server error that repeats word
        # for word for the same request is the server's answer to it
        signature = (error.status, str(error))
        if error.kind == "transient" and error.status is not None and signature == job.last_error:
            self._finish(
                job, None, f"the server gave the same error twice: {error}", error=True
            )
            return None
        job.last_error = signature
        if not error.retryable or job.failures >= self.options.max_retries or self.halted:
            self._finish_failure(job, error)
            return None
        delay = self._delay(job.failures, error.retry_after)
        job.failures += 1
        job.pending_error = error
        lane.stats.retries += 1
        return delay

    def _proceed_halted(self, job: _Job) -> bool:
        """After a halt, a job waiting between attempts ends instead; ``True`` if it may go on.

        A job waiting for a retry ends with its last error (not stored); one waiting for a
        re-ask ends invalid with its last reply and reason (stored: that reply was paid for).
        """
        if job.pending_error is not None:
            self._finish_failure(job, job.pending_error)
            return False
        if job.pending_reason is not None:
            self._finish(job, None, job.pending_reason)
            return False
        return True

    def _halt(self, message: str) -> None:
        """Stop taking tasks, retrying and re-asking (breaker, fatal error)."""
        if not self.halted:
            self.halted = self.stopping = True
            self.abort_message = message

    def _delay(self, failures: int, retry_after: float | None) -> float:
        return retry_delay(
            failures,
            retry_after,
            base=self.options.backoff_base,
            cap=self.options.backoff_max,
            jitter=self.rng.uniform(0.5, 1.0),
        )

    def _request(self, job: _Job) -> JudgeRequest:
        return JudgeRequest(
            messages=job.messages,
            sampling=self.sampling,
            schema=job.task.schema if job.lane.judge.use_schema else None,
            schema_name=job.task.mode,
            task=job.task,
        )

    def _judge_reply(self, task: Task, reply: JudgeReply) -> tuple[Verdict | None, str | None]:
        return judge_reply(self.protocol, task, reply)

    # ------------------------------------------------------------------ finishing judgments

    def _finish(
        self, job: _Job, verdict: Verdict | None, reason: str | None, *, error: bool = False
    ) -> None:
        """End ``job`` with a reply (or a deterministic refusal): store, emit, hand to copies."""
        lane, tally = job.lane, job.tally
        if error:  # the refusal, not a reply, is what the judgment holds
            tally.raw, tally.reply = "", None
        reply = tally.reply
        if self.store is not None:
            # committed before anyone hears of it: a crash after this line never pays again
            self.store.put(
                StoredJudgment(
                    key=job.key,
                    judge=lane.judge.spec,
                    model=lane.judge.model,
                    raw=tally.raw,
                    logprobs=reply.logprobs if reply is not None else None,
                    valid=verdict is not None,
                    invalid_reason=reason,
                    attempts=tally.attempts,
                    reasks=tally.reasks,
                    prompt_tokens=tally.prompt_tokens,
                    completion_tokens=tally.completion_tokens,
                    cached_tokens=tally.cached_tokens,
                    latency_s=tally.latency_s,
                    finish_reason=reply.finish_reason if reply is not None else None,
                    error=reason if error else None,
                )
            )
        outcome = _Outcome(reply, None if reply is not None else reason, False, tally.reasks)
        self._settle(job, outcome, self._judgment(job.task, lane, job.key, tally, verdict, reason))

    def _finish_failure(self, job: _Job, error: JudgeError) -> None:
        lane = job.lane
        lane.stats.failures += 1
        lane.consecutive_failures += 1
        reason = f"call failed: {error}"
        judgment = self._judgment(job.task, lane, job.key, job.tally, None, reason)
        self._settle(job, _Outcome(None, reason, True), judgment)
        if lane.consecutive_failures >= self.options.breaker_failures:
            self._halt(
                f"stopped: {lane.consecutive_failures} calls in a row to {lane.judge.spec} "
                f"failed (last: {error}); finished judgments are stored, rerun to resume"
            )

    def _settle(self, job: _Job, outcome: _Outcome, judgment: Judgment) -> None:
        """Record how ``job`` ended for later copies, then emit it and every waiting copy."""
        lane = job.lane
        if outcome.failed or self.store is None:
            lane.memo[job.key] = outcome
        elif self.memo_all:
            lane.memo[job.key] = _STORED
        copies = lane.in_flight.pop(job.key, ())
        self._emit(lane, judgment)
        for task in copies:
            self._emit_copy(task, lane, job.key, outcome)
        self._check_cost()

    def _emit_copy(self, task: Task, lane: _Lane, key: str, outcome: _Outcome) -> None:
        """A copy of a prompt answered in this run: the same answer, parsed for ``task``."""
        if outcome.reply is not None:
            verdict, reason = self._judge_reply(task, outcome.reply)
        else:
            verdict, reason = None, outcome.reason
        lane.stats.reused += 1
        if outcome.failed:
            lane.stats.failures += 1
        tally = _Tally(reasks=outcome.reasks)
        if outcome.reply is not None:
            tally.raw = outcome.reply.text
        self._emit(
            lane, self._judgment(task, lane, key, tally, verdict, reason, reused=True)
        )

    def _from_store(self, task: Task, lane: _Lane, key: str, *, answered: bool) -> bool:
        """Emit ``task``'s stored judgment if the store may answer for it (see rule 2).

        ``answered``: the key was asked in this run, so its row is taken whatever
        ``use_cache`` and ``retry_invalid`` say.
        """
        if self.store is None or not (self.options.use_cache or answered):
            return False
        row = self.store.get(key)
        if row is None:
            return False
        verdict, reason = read_row(self.protocol, task, row)
        if not store_answers(verdict is not None, self.options, answered=answered):
            return False
        lane.stats.cache_hits += 1
        tally = _Tally(
            reasks=row.reasks,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            cached_tokens=row.cached_tokens,
            latency_s=row.latency_s,
            raw=row.raw,
        )
        self._emit(lane, self._judgment(task, lane, key, tally, verdict, reason, cached=True))
        return True

    def _judgment(
        self,
        task: Task,
        lane: _Lane,
        key: str,
        tally: _Tally,
        verdict: Verdict | None,
        reason: str | None,
        *,
        cached: bool = False,
        reused: bool = False,
    ) -> Judgment:
        """The one constructor of the judgments the engine hands over."""
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
            cached=cached,
            reused=reused,
            cache_key=key,
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
