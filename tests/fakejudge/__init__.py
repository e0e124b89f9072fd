"""fakejudge: a real OpenAI-compatible judge server on 127.0.0.1 for fqeval's tests and benchmarks.

It speaks HTTP/1.1 (asyncio streams, keep-alive, stdlib only) and answers judge prompts
deterministically from the candidates it finds in them, with seeded, injectable faults
(429 with Retry-After, 500, 503, dropped connections, stalls, and malformed reply contents).

Endpoints: ``POST /v1/chat/completions``, ``GET /v1/models`` (both need an
``Authorization: Bearer ...`` header, whose value is never stored), ``GET /stats`` and
``POST /stats/reset`` (body ``{"faults": true}`` also forgets the fault history).

How the answer is decided (see :mod:`tests.fakejudge.policies`): the candidates are the last
JSON array of ``{"id", "text"}`` objects in the messages; the mode comes from
``response_format.json_schema.name`` (``nway``, ``pairwise``, ``score``, ``rank``) or the
instruction text; a policy (``hash``, ``first``, ``longest`` or any callable
``(mode, candidates, body) -> dict``) picks the winner, score or ranking.

In tests::

    from tests.fakejudge import FakeJudgeServer, FaultPlan

    with FakeJudgeServer(policy="hash", faults=FaultPlan(rate_429=0.1, seed=1),
                         latency_s=0.0) as srv:
        client = openai.AsyncOpenAI(base_url=srv.base_url, api_key="sk-test")
        ...
        srv.stats()["completed_keys"]

As a process (SIGKILL/resume tests, benchmarks)::

    python -m tests.fakejudge --port 0 --port-file /tmp/judge.url --latency 0.1 \\
        --policy hash --fault-rate 0.3 --seed 1 [--fault stall=0.05 --stall 2] \\
        [--retry-after 0.05] [--max-faults-per-key 2] [--reject-response-format] \\
        [--fail-all-status 503]

It writes ``http://127.0.0.1:PORT/v1`` to the port file once listening and stops on SIGTERM.
Faults are a function of ``(seed, prompt key, n)`` where the prompt key hashes the first two
messages (stopping before any assistant message) and ``n`` counts earlier requests with that
key, so retries and re-asks of one judgment walk the same fault sequence whatever the
concurrency; after ``max_faults_per_key`` faults a key always gets clean answers.
"""

from tests.fakejudge.policies import (
    MODES,
    POLICIES,
    Policy,
    default_score_probs,
    detect_mode,
    extract_candidates,
    first_policy,
    hash_policy,
    hash_ranking,
    hash_score,
    hash_winner,
    longest_policy,
    longest_ranking,
    longest_score,
    longest_winner,
    prompt_key,
    render_content,
    text_hash,
    token_logprobs,
    tokenize,
)
from tests.fakejudge.server import (
    FAULT_KINDS,
    GARBAGE_REPLY,
    HTTP_FAULTS,
    INVALID_FAULTS,
    PEG_500_MESSAGE,
    RECOVERABLE_FAULTS,
    RECOVERABLE_KINDS,
    SPREAD_KINDS,
    FakeJudgeServer,
    FaultPlan,
    HttpServer,
    JudgeService,
    bad_label,
)

__all__ = [
    "FAULT_KINDS",
    "GARBAGE_REPLY",
    "HTTP_FAULTS",
    "INVALID_FAULTS",
    "MODES",
    "PEG_500_MESSAGE",
    "POLICIES",
    "RECOVERABLE_FAULTS",
    "RECOVERABLE_KINDS",
    "SPREAD_KINDS",
    "FakeJudgeServer",
    "FaultPlan",
    "HttpServer",
    "JudgeService",
    "Policy",
    "bad_label",
    "default_score_probs",
    "detect_mode",
    "extract_candidates",
    "first_policy",
    "hash_policy",
    "hash_ranking",
    "hash_score",
    "hash_winner",
    "longest_policy",
    "longest_ranking",
    "longest_score",
    "longest_winner",
    "prompt_key",
    "render_content",
    "text_hash",
    "token_logprobs",
    "tokenize",
]
