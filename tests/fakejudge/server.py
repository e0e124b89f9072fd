"""The fake judge's HTTP server, its fault plan and its counters.

Three layers, each usable alone:

- :class:`FaultPlan`: seeded, deterministic fault injection. The fault of a request is decided
  from ``sha256(f"{seed}:{prompt_key}:{n}")`` where ``n`` counts earlier requests with the same
  prompt key, so concurrency cannot change which request of a judgment fails.
- :class:`JudgeService`: turns one HTTP request into one reply (routing, auth, policy, faults,
  stats). Synchronous and cheap: the only waits (latency, stalls) are left to the caller.
- :class:`HttpServer` (asyncio streams, HTTP/1.1 keep-alive) and :class:`FakeJudgeServer`
  (the same in a background thread with its own event loop, for tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any

from tests.fakejudge.policies import (
    Policy,
    default_score_probs,
    detect_mode,
    extract_candidates,
    main_key,
    message_text,
    prompt_key,
    prompt_messages,
    render_content,
    resolve_policy,
    token_logprobs,
    tokenize,
)

HOST = "127.0.0.1"

#: every injectable fault, in the order the cumulative draw walks them
FAULT_KINDS = (
    "429",
    "500",
    "503",
    "drop",
    "stall",
    "fenced",
    "prose",
    "garbage",
    "empty",
    "bad_label",
    "out_of_range",
    "missing_key",
    "quota",
    "length",
    "sticky_500",
    "context_400",
)
HTTP_FAULTS = frozenset({"429", "500", "503", "quota", "sticky_500", "context_400"})
#: faults that, once drawn for a prompt, answer every later request of that prompt the same
#: way (a deterministic server error), whatever ``max_faults_per_key`` says
STICKY_FAULTS = frozenset({"sticky_500", "context_400"})
#: llama.cpp's reply to a generation cut inside a grammar-constrained code fence (verbatim)
PEG_500_MESSAGE = "The model produced output that does not match the expected peg-native format"
#: faults whose 200 reply a robust parser still accepts (no re-ask needed)
RECOVERABLE_FAULTS = frozenset({"fenced", "prose"})
#: faults whose 200 reply must be fixed by a re-ask
INVALID_FAULTS = frozenset({"garbage", "empty", "bad_label", "out_of_range", "missing_key"})
#: what :meth:`FaultPlan.spread` uses by default: the faults a run recovers from completely
#: (not ``stall``, which needs client timeouts shorter than ``stall_s`` and would otherwise only
#: slow a run down; not the quota, cut-off and deterministic faults, which end judgments)
SPREAD_KINDS = (
    "429", "500", "503", "drop", "fenced", "prose", "garbage", "empty", "bad_label",
    "out_of_range", "missing_key",
)
#: the faults after which every judgment still ends valid (retries and re-asks cure them)
RECOVERABLE_KINDS = (*SPREAD_KINDS[:4], "stall", *SPREAD_KINDS[4:])

GARBAGE_REPLY = "Hmm... hard to say, they all seem fine to me!"


@dataclass(frozen=True)
class FaultPlan:
    """Which faults the server injects, how often, and how they look.

    Rates are probabilities per request (``rate_<kind>`` for each kind of
    :data:`FAULT_KINDS`; their sum must be at most 1). Options:

    - ``seed``: the draw is ``u = int(sha256(f"{seed}:{key}:{n}")[:16], 16) / 2**64``; the
      first kind whose cumulative rate exceeds ``u`` is injected.
    - ``max_faults_per_key``: after that many faults a prompt key always gets clean answers.
    - ``retry_after_s``: sent with 429s as ``Retry-After`` (seconds, may be fractional) and
      ``retry-after-ms``.
    - ``stall_s``: a ``stall`` waits this long (after the latency) and then answers cleanly.
    - ``reject_response_format``: every request carrying ``response_format`` gets HTTP 400.
    - ``fail_all_status``: every chat request gets this status (circuit-breaker tests);
      ``fail_all_code`` its error ``code`` (e.g. ``insufficient_quota``) and
      ``fail_all_message`` its message (default: a message naming the request's number, so two
      failures never look identical).
    """

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    rate_stall: float = 0.0
    rate_fenced: float = 0.0
    rate_prose: float = 0.0
    rate_garbage: float = 0.0
    rate_empty: float = 0.0
    rate_bad_label: float = 0.0
    rate_out_of_range: float = 0.0
    rate_missing_key: float = 0.0
    #: 429 ``insufficient_quota`` (OpenAI's exhausted quota)
    rate_quota: float = 0.0
    #: a 200 whose content is cut in half with ``finish_reason: "length"``
    rate_length: float = 0.0
    #: llama.cpp's deterministic 500 (:data:`PEG_500_MESSAGE`), the same on every retry
    rate_sticky_500: float = 0.0
    #: a context-length 400, the same on every retry
    rate_context_400: float = 0.0
    seed: int = 0
    max_faults_per_key: int = 2
    retry_after_s: float = 1.0
    stall_s: float = 30.0
    reject_response_format: bool = False
    fail_all_status: int | None = None
    fail_all_code: str | None = None
    fail_all_message: str | None = None

    def __post_init__(self) -> None:
        rates = self.rates()
        if any(r < 0.0 or r > 1.0 for r in rates.values()):
            raise ValueError(f"fault rates must be within [0, 1]: {rates}")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError(f"fault rates sum to {sum(rates.values())} > 1")
        if self.max_faults_per_key < 0 or self.retry_after_s < 0 or self.stall_s < 0:
            raise ValueError("max_faults_per_key, retry_after_s and stall_s must be >= 0")

    def rates(self) -> dict[str, float]:
        """``{kind: rate}`` for every kind of :data:`FAULT_KINDS`."""
        return {kind: float(getattr(self, f"rate_{kind}")) for kind in FAULT_KINDS}

    @functools.cached_property
    def _edges(self) -> tuple[tuple[str, float], ...]:
        # cumulative rates, computed once: choose() runs on every request
        edges, edge = [], 0.0
        for kind, rate in self.rates().items():
            if rate > 0.0:
                edge += rate
                edges.append((kind, edge))
        return tuple(edges)

    @classmethod
    def spread(
        cls, total_rate: float, kinds: tuple[str, ...] = SPREAD_KINDS, **options: Any
    ) -> FaultPlan:
        """A plan with ``total_rate`` split equally over ``kinds``; ``options`` are the other
        fields (``seed``, ``max_faults_per_key``...)."""
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        each = total_rate / len(kinds) if kinds else 0.0
        rates: dict[str, Any] = {f"rate_{k}": each for k in kinds}
        return cls(**rates, **options)

    def with_options(self, **changes: Any) -> FaultPlan:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def draw(self, key: str, n: int) -> float:
        """The uniform number in [0, 1) that decides request ``n`` of prompt ``key``."""
        digest = hashlib.sha256(f"{self.seed}:{key}:{n}".encode()).hexdigest()
        return int(digest[:16], 16) / 2.0**64

    def choose(self, key: str, n: int) -> str | None:
        """The fault kind for request ``n`` (0-based) of prompt ``key``, or ``None``
        (ignores ``max_faults_per_key``, which needs the server's history)."""
        if not self._edges:
            return None
        u = self.draw(key, n)
        for kind, edge in self._edges:
            if u < edge:
                return kind
        return None


@dataclass
class Reply:
    """What the connection layer should do with one request."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    #: seconds to wait before answering (latency, stall)
    delay_s: float = 0.0
    #: close the connection without answering
    drop: bool = False
    #: a chat completion, counted in ``in_flight`` until :meth:`JudgeService.finish`
    chat: bool = False
    key: str | None = None
    #: the reply is a 200 a robust parser accepts (clean, stall, fenced, prose)
    usable: bool = False
    #: the reply is a 200 with a clean answer (no fault, or a stall)
    clean: bool = False


def _json_reply(status: int, payload: Any, **kw: Any) -> Reply:
    return Reply(status=status, body=json.dumps(payload, separators=(",", ":")).encode(), **kw)


def _error(status: int, message: str, err_type: str, code: str | None = None, **kw: Any) -> Reply:
    payload = {"error": {"message": message, "type": err_type, "param": None, "code": code}}
    return _json_reply(status, payload, **kw)


def _has_bearer(headers: Mapping[str, str]) -> bool:
    # The key is looked at here and nowhere else: never stored, logged or echoed.
    value = headers.get("authorization", "")
    return value[:7].lower() == "bearer " and bool(value[7:].strip())


class JudgeService:
    """The judge's behaviour behind HTTP: routing, auth, policy, faults and stats.

    Thread-safe: the event loop thread calls :meth:`dispatch`/:meth:`finish`; any thread may
    call :meth:`stats`, :meth:`reset_stats` or assign :attr:`faults`, :attr:`policy` and
    :attr:`latency_s` (read once per request).
    """

    def __init__(
        self,
        policy: str | Policy = "hash",
        faults: FaultPlan | None = None,
        latency_s: float = 0.0,
        models: tuple[str, ...] = ("fake-judge",),
    ) -> None:
        self.policy: Policy = resolve_policy(policy)
        self.faults = faults or FaultPlan()
        self.latency_s = latency_s
        self.models = models
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._faulted: Counter[str] = Counter()
        self._sticky: dict[str, str] = {}
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._requests = 0
        self._by_status: Counter[str] = Counter()
        self._by_fault: Counter[str] = Counter()
        self._completed = 0
        self._usable = 0
        self._abandoned = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._connections = 0
        self._per_key: Counter[str] = Counter()
        self._completed_keys: Counter[str] = Counter()
        self._prompt_tokens = 0
        self._completion_tokens = 0

    # ------------------------------------------------------------------ stats

    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters (the same JSON as ``GET /stats``).

        Keys: ``requests`` (chat completion requests, 401s included), ``by_status``
        (status as a string -> count; dropped connections have none), ``by_fault`` (kind -> count; also ``fail_all``,
        ``response_format``, ``policy_error``), ``completed`` (clean 200 answers delivered),
        ``usable`` (delivered 200 answers a robust parser accepts: clean, stall, fenced,
        prose), ``abandoned`` (answers whose client had left), ``in_flight``,
        ``max_in_flight``, ``connections`` (TCP connections accepted), ``per_key`` (prompt key
        -> requests), ``completed_keys`` (prompt key -> usable answers delivered: above 1
        means a finished judgment was asked again),
        ``prompt_tokens``, ``completion_tokens``.
        """
        with self._lock:
            return {
                "requests": self._requests,
                "by_status": dict(self._by_status),
                "by_fault": dict(self._by_fault),
                "completed": self._completed,
                "usable": self._usable,
                "abandoned": self._abandoned,
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "connections": self._connections,
                "per_key": dict(self._per_key),
                "completed_keys": dict(self._completed_keys),
                "prompt_tokens": self._prompt_tokens,
                "completion_tokens": self._completion_tokens,
            }

    def reset_stats(self, faults: bool = False) -> None:
        """Zero the counters; with ``faults`` also forget the fault history (the ``n`` of
        every prompt key and its fault count), so the fault sequence starts over."""
        with self._lock:
            in_flight = self._in_flight
            self._reset_counters()
            # Requests being answered right now still finish; keep them counted.
            self._in_flight = in_flight
            if faults:
                self._seen.clear()
                self._faulted.clear()
                self._sticky.clear()

    def note_connection(self) -> None:
        with self._lock:
            self._connections += 1

    def finish(self, reply: Reply, delivered: bool) -> None:
        """Record how a chat reply ended: written to the client, or not (drop, client gone)."""
        if not reply.chat:
            return
        with self._lock:
            self._in_flight -= 1
            if not delivered:
                if not reply.drop:
                    self._abandoned += 1
                return
            if reply.usable and reply.key is not None:
                self._usable += 1
                self._completed_keys[reply.key] += 1
            if reply.clean:
                self._completed += 1

    # ------------------------------------------------------------------ routing

    def dispatch(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """The reply to one request (``headers`` have lower-case names)."""
        if path == "/v1/chat/completions":
            if method != "POST":
                return _error(405, "use POST", "invalid_request_error")
            return self._chat(headers, body)
        if path == "/v1/models":
            if not _has_bearer(headers):
                return self._unauthorized()
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "fakejudge"}
                for m in self.models
            ]
            return _json_reply(200, {"object": "list", "data": data})
        if path == "/stats" and method == "GET":
            return _json_reply(200, self.stats())
        if path == "/stats/reset" and method == "POST":
            options = _loads(body)
            self.reset_stats(faults=bool(isinstance(options, dict) and options.get("faults")))
            return _json_reply(200, {"ok": True})
        return _error(404, f"no route {method} {path}", "not_found")

    @staticmethod
    def _unauthorized(**kw: Any) -> Reply:
        return _error(
            401,
            "missing or malformed Authorization: Bearer header",
            "invalid_request_error",
            "invalid_api_key",
            **kw,
        )

    def _chat(self, headers: Mapping[str, str], raw: bytes) -> Reply:
        plan = self.faults
        latency = self.latency_s
        policy = self.policy
        with self._lock:
            self._requests += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        reply = self._chat_reply(plan, policy, headers, raw)
        reply.chat = True
        reply.delay_s += latency
        with self._lock:
            if not reply.drop:
                self._by_status[str(reply.status)] += 1
        return reply

    def _note_fault(self, kind: str) -> None:
        with self._lock:
            self._by_fault[kind] += 1

    def _chat_reply(
        self, plan: FaultPlan, policy: Policy, headers: Mapping[str, str], raw: bytes
    ) -> Reply:
        if not _has_bearer(headers):
            return self._unauthorized()
        body = _loads(raw)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "body must be a JSON object with messages", "invalid_request_error")
        messages: list[Any] = [m for m in body["messages"] if isinstance(m, dict)]
        key = prompt_key(messages)
        with self._lock:
            n = self._seen[key]
            self._seen[key] += 1
            self._per_key[key] += 1
        if plan.fail_all_status is not None:
            self._note_fault("fail_all")
            return _error(
                plan.fail_all_status,
                plan.fail_all_message
                or f"fakejudge: every request fails (fail_all_status), request {n}",
                plan.fail_all_code or "server_error",
                plan.fail_all_code,
                headers=_retry_headers(plan) if plan.fail_all_status in (429, 503) else (),
                key=key,
            )
        if plan.reject_response_format and body.get("response_format") is not None:
            self._note_fault("response_format")
            return _error(
                400,
                "response_format is not supported by this server",
                "invalid_request_error",
                key=key,
            )
        candidates = extract_candidates(messages)
        if not candidates:
            return _error(
                400,
                'fakejudge: no JSON array of {"id", "text"} objects in the messages',
                "invalid_request_error",
                key=key,
            )
        with self._lock:
            kind = self._sticky.get(key)
            if kind is not None:
                self._by_fault[kind] += 1
            elif self._faulted[key] < plan.max_faults_per_key:
                kind = plan.choose(key, n)
                if kind is not None:
                    self._faulted[key] += 1
                    self._by_fault[kind] += 1
                    if kind in STICKY_FAULTS:
                        self._sticky[key] = kind
        if kind == "quota":
            return _error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
                key=key,
            )
        if kind == "sticky_500":
            return _error(500, PEG_500_MESSAGE, "server_error", key=key)
        if kind == "context_400":
            return _error(
                400,
                "request (9000 tokens) exceeds the available context size (4096 tokens), "
                "try increasing it",
                "exceed_context_size_error",
                key=key,
            )
        if kind == "429":
            return _error(
                429,
                "Rate limit reached (fakejudge)",
                "requests",
                "rate_limit_exceeded",
                headers=_retry_headers(plan),
                key=key,
            )
        if kind in ("500", "503"):
            # transient errors name the request, as real servers' request ids do
            return _error(
                int(kind), f"fakejudge injected {kind} (request {n})", "server_error", key=key
            )
        if kind == "drop":
            return Reply(drop=True, key=key)
        mode = detect_mode(body, candidates)
        try:
            decision = dict(policy(mode, candidates, body))
        except Exception as exc:  # a custom policy's bug should reach the test as a 500
            self._note_fault("policy_error")
            return _error(500, f"fakejudge policy failed: {exc!r}", "server_error", key=key)
        # the draw's low bit picks 0 or 7 for out_of_range scores; hashed only when needed
        low_bit = int(plan.draw(key, n) * 2**32) % 2 if kind == "out_of_range" else 0
        content = _faulty_content(kind, mode, decision, candidates, low_bit)
        completion = self._completion(body, messages, key, n, mode, decision, content)
        if kind == "length":
            completion["choices"][0]["finish_reason"] = "length"
        return _json_reply(
            200,
            completion,
            key=key,
            delay_s=plan.stall_s if kind == "stall" else 0.0,
            usable=kind is None or kind == "stall" or kind in RECOVERABLE_FAULTS,
            clean=kind is None or kind == "stall",
        )

    def _completion(
        self,
        body: Mapping[str, Any],
        messages: list[Any],
        key: str,
        n: int,
        mode: str,
        decision: Mapping[str, Any],
        content: str,
    ) -> dict[str, Any]:
        prompt_tokens = max(1, sum(len(message_text(m)) for m in messages) // 4)
        key_tokens = sum(len(message_text(m)) for m in prompt_messages(messages)) // 4
        cached = (key_tokens // 64) * 64 if n > 0 else 0
        completion_tokens = len(tokenize(content))
        with self._lock:
            self._prompt_tokens += prompt_tokens
            self._completion_tokens += completion_tokens
        logprobs = None
        if body.get("logprobs"):
            score_probs = decision.get("score_probs")
            score = decision.get("score")
            if (
                score_probs is None
                and mode == "score"
                and isinstance(score, int)
                and 1 <= score <= 5
            ):
                score_probs = default_score_probs(score)
            top_n = int(body.get("top_logprobs") or 0)
            logprobs = {"content": token_logprobs(content, top_n, score_probs), "refusal": None}
        return {
            "id": f"chatcmpl-fake-{key[:12]}-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model", self.models[0])),
            "system_fingerprint": "fp_fakejudge",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": logprobs,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": cached},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        }


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _retry_headers(plan: FaultPlan) -> tuple[tuple[str, str], ...]:
    seconds = plan.retry_after_s
    text = str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
    return (("Retry-After", text), ("retry-after-ms", str(round(seconds * 1000))))


def bad_label(candidates: list[dict[str, Any]]) -> str:
    """A label that is not among the shown ids (``candidate_Z`` unless that one is shown)."""
    ids = {str(c["id"]) for c in candidates}
    label = "candidate_Z"
    while label in ids:
        label += "Z"
    return label


def _faulty_content(
    kind: str | None,
    mode: str,
    decision: dict[str, Any],
    candidates: list[dict[str, Any]],
    low_bit: int = 0,
) -> str:
    """The reply text for ``decision`` with a content fault applied.

    ``out_of_range`` gives score 0 (``low_bit`` 0) or 7; outside score mode it acts as
    ``bad_label``; ``bad_label`` in score mode
    gives a non-integer score (``"excellent"``); in rank mode it repeats the first id in
    place of the last (one id missing, one duplicated).
    """
    if kind == "garbage":
        return GARBAGE_REPLY
    if kind == "empty":
        return ""
    key = main_key(mode)
    if kind == "missing_key":
        decision.pop(key, None)
    elif kind == "out_of_range" and mode == "score":
        decision["score"] = 7 if low_bit else 0
    elif kind in ("bad_label", "out_of_range"):
        if mode == "score":
            decision["score"] = "excellent"
        elif mode == "rank":
            ranking = list(decision.get("ranking") or [c["id"] for c in candidates])
            decision["ranking"] = [*ranking[:-1], ranking[0]] if len(ranking) > 1 else ranking * 2
        else:
            decision["winner"] = bad_label(candidates)
    content = render_content(mode, decision)
    if kind == "fenced":
        return f"```json\n{content}\n```"
    if kind == "prose":
        return f"Sure, here is my verdict: {content} Hope it helps!"
    if kind == "length":
        return content[: max(1, len(content) // 2)]
    return content


# --------------------------------------------------------------------------- HTTP layer

_MAX_BODY = 64 * 1024 * 1024


class _BadRequest(Exception):
    pass


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, str, dict[str, str], bytes] | None:
    """``(method, path, version, headers, body)`` of the next request, or ``None`` at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _BadRequest("truncated request head") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise _BadRequest("request head too large") from exc
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise _BadRequest("malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadRequest("malformed header line")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                break
            chunks.append((await reader.readexactly(size + 2))[:-2])
        body = b"".join(chunks)
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError as exc:
            raise _BadRequest("bad Content-Length") from exc
        if length < 0 or length > _MAX_BODY:
            raise _BadRequest("bad Content-Length")
        body = await reader.readexactly(length) if length else b""
    return method, target.split("?", 1)[0], version, headers, body


def _response_bytes(reply: Reply, keep_alive: bool) -> bytes:
    try:
        phrase = HTTPStatus(reply.status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [
        f"HTTP/1.1 {reply.status} {phrase}",
        "Content-Type: application/json",
        f"Content-Length: {len(reply.body)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
        *(f"{name}: {value}" for name, value in reply.headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body


class HttpServer:
    """HTTP/1.1 over asyncio streams on 127.0.0.1, answering with a :class:`JudgeService`."""

    def __init__(self, service: JudgeService, port: int = 0) -> None:
        self.service = service
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    async def start(self) -> None:
        # A deep backlog: hundreds of clients connecting at once must not see SYN drops
        # (each costs a 1 s retransmit and would make the server look slow).
        self._server = await asyncio.start_server(
            self._handle, HOST, self._requested_port, backlog=4096
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        self.service.note_connection()
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # only close() cancels connections; ending normally keeps asyncio's stream
            # callback from logging the cancellation as an error
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await _read_request(reader)
            except (_BadRequest, ValueError) as exc:
                bad = _error(400, f"bad request: {exc}", "invalid_request_error")
                writer.write(_response_bytes(bad, keep_alive=False))
                await writer.drain()
                return
            if request is None:
                return
            method, path, version, headers, body = request
            connection = headers.get("connection", "").lower()
            keep_alive = connection != "close" and (
                version == "HTTP/1.1" or connection == "keep-alive"
            )
            reply = self.service.dispatch(method, path, headers, body)
            finished = False
            try:
                if reply.delay_s > 0:
                    await asyncio.sleep(reply.delay_s)
                if reply.drop or reader.at_eof() or writer.is_closing():
                    return
                # Count the answer before it leaves: a client that reads /stats right after
                # its response must see that response counted.
                finished = True
                self.service.finish(reply, delivered=True)
                writer.write(_response_bytes(reply, keep_alive))
                await writer.drain()
            finally:
                if not finished:
                    self.service.finish(reply, delivered=False)
            if not keep_alive:
                return


class FakeJudgeServer:
    """The fake judge on loopback, served by a background thread with its own event loop.

    ``with FakeJudgeServer(policy="hash", faults=FaultPlan(rate_429=0.1)) as srv:`` then point
    an OpenAI client at ``srv.base_url`` (any non-empty API key). :attr:`faults`,
    :attr:`policy` and :attr:`latency_s` may be reassigned while it runs.
    """

    def __init__(
        self,
        policy: str | Policy = "hash",
        faults: FaultPlan | None = None,
        latency_s: float = 0.0,
        *,
        port: int = 0,
        models: tuple[str, ...] = ("fake-judge",),
    ) -> None:
        self.service = JudgeService(policy, faults, latency_s, models)
        #: the bound port once started (the requested one, 0 = any free port, before)
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def faults(self) -> FaultPlan:
        return self.service.faults

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        self.service.faults = plan or FaultPlan()

    @property
    def policy(self) -> Policy:
        return self.service.policy

    @policy.setter
    def policy(self, policy: str | Policy) -> None:
        self.service.policy = resolve_policy(policy)

    @property
    def latency_s(self) -> float:
        return self.service.latency_s

    @latency_s.setter
    def latency_s(self, seconds: float) -> None:
        self.service.latency_s = seconds

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (for ``/stats``)."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` (the OpenAI client's ``base_url``)."""
        return f"{self.url}/v1"

    def start(self) -> FakeJudgeServer:
        """Start listening; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("FakeJudgeServer already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="fakejudge", daemon=True
        )
        self._thread.start()
        ready.wait(30)
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError("fake judge failed to start") from failure[0]
        if not ready.is_set():
            raise RuntimeError("fake judge did not start within 30 s")
        return self

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        http = HttpServer(self.service, self.port)
        try:
            loop.run_until_complete(http.start())
        except BaseException as exc:
            failure.append(exc)
            loop.close()
            ready.set()
            return
        self._loop = loop
        self.port = http.port
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(http.close())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Close every connection and the listening socket; idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        self._thread = self._loop = None

    def stats(self) -> dict[str, Any]:
        """See :meth:`JudgeService.stats`."""
        return self.service.stats()

    def reset_stats(self, faults: bool = False) -> None:
        """See :meth:`JudgeService.reset_stats`."""
        self.service.reset_stats(faults=faults)

    def __enter__(self) -> FakeJudgeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
