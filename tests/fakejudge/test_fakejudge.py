"""Tests of the fake judge server itself, through real HTTP on loopback (openai SDK and httpx)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakejudge import (
    GARBAGE_REPLY,
    PEG_500_MESSAGE,
    RECOVERABLE_KINDS,
    FakeJudgeServer,
    FaultPlan,
    default_score_probs,
    detect_mode,
    extract_candidates,
    hash_ranking,
    hash_score,
    hash_winner,
    longest_winner,
    prompt_key,
    tokenize,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-fakejudge-test-secret"
AUTH = {"Authorization": f"Bearer {KEY}"}

CANDS = [
    {"id": "candidate_A", "text": "Could you compare the two approaches in a table?"},
    {"id": "candidate_B", "text": "What is the history behind this idea?"},
    {"id": "candidate_C", "text": "Want a short quiz on [key terms] to check yourself?"},
]


def messages_for(
    mode: str, candidates: list[dict[str, Any]], tag: str = ""
) -> list[dict[str, str]]:
    """A prompt in the shape our protocols render: instructions, then the candidates array."""
    instruction = {
        "nway": 'Pick the best follow-up. Reply as JSON: {"winner": "<id>", "reason": "..."}',
        "score": 'Rate the follow-up 1-5. Reply as JSON: {"score": <1-5>, "reason": "..."}',
        "rank": 'Rank all follow-ups. Reply as JSON: {"ranking": ["<id>", ...], "reason": "..."}',
    }[mode]
    prompt = f"{instruction}\nQuestion {tag}: how do tides work?\nCandidates:\n"
    return [{"role": "system", "content": prompt + json.dumps(candidates, indent=2)}]


def response_format(name: str) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": {"type": "object"}}}


def body_for(mode: str, tag: str = "", **extra: Any) -> dict[str, Any]:
    candidates = CANDS[:1] if mode == "score" else CANDS
    return {"model": "judge-x", "messages": messages_for(mode, candidates, tag), **extra}


# One client for the whole file: building an httpx client (its TLS context) per call would
# cost more than the requests themselves.
HTTP = httpx.Client(timeout=10, trust_env=False)


@pytest.fixture(scope="module", autouse=True)
def _close_http() -> Iterator[None]:
    yield
    HTTP.close()


@pytest.fixture
def server() -> Iterator[FakeJudgeServer]:
    with FakeJudgeServer() as srv:
        yield srv


def client_for(srv: FakeJudgeServer, **kw: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=srv.base_url, api_key=KEY, **{"max_retries": 0, **kw})


# --------------------------------------------------------------------------- pure parts


def test_extract_candidates_takes_the_last_id_text_array() -> None:
    early = [{"id": "x1", "text": "old"}]
    messages = [
        {"role": "system", "content": f"Example: {json.dumps(early)} and a list [1, 2] and [oops"},
        {"role": "user", "content": "Candidates:\n" + json.dumps(CANDS) + "\nThanks [end]"},
        {"role": "assistant", "content": '{"ranking": ["candidate_A", "candidate_A"]}'},
    ]
    assert extract_candidates(messages) == CANDS
    assert extract_candidates([{"role": "user", "content": "no array [here]"}]) == []


def test_detect_mode_prefers_schema_then_keys_outside_the_candidates() -> None:
    assert detect_mode(body_for("nway", response_format=response_format("pairwise"))) == "pairwise"
    assert detect_mode(body_for("nway")) == "nway"
    assert detect_mode(body_for("score")) == "score"
    assert detect_mode(body_for("rank")) == "rank"
    # words inside the candidates array do not count
    tricky = [{"id": "fq_1", "text": "Who was the winner of the ranking?"}]
    assert detect_mode({"messages": messages_for("score", tricky)}) == "score"
    # ranking is checked before winner, winner before score
    both = 'Give "winner" and a "score" for [{"id": "a", "text": "t"}, {"id": "b", "text": "u"}]'
    assert detect_mode({"messages": [{"role": "user", "content": both}]}) == "nway"


def test_prompt_key_is_shared_by_reasks() -> None:
    one = messages_for("nway", CANDS)
    reask = [*one, {"role": "assistant", "content": "junk"}, {"role": "user", "content": "again"}]
    assert prompt_key(reask) == prompt_key(one)
    two = [*one, {"role": "user", "content": "judge now"}]
    assert prompt_key([*two, {"role": "assistant", "content": "junk"}]) == prompt_key(two)
    assert prompt_key(two) != prompt_key(one)
    assert prompt_key(messages_for("nway", CANDS, "other")) != prompt_key(one)


def test_tokenize_round_trips_and_isolates_digits() -> None:
    text = '{"score": 4, "reason": "fine_ok 12"}'
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert "4" in tokens and "1" in tokens and "fine_ok" in tokens


# --------------------------------------------------------------------------- answers


def test_clean_answers_follow_the_policy_in_every_mode(server: FakeJudgeServer) -> None:
    async def go() -> list[Any]:
        client = client_for(server)
        out = []
        for mode, schema in (
            ("nway", "nway"),
            ("nway", "pairwise"),
            ("score", None),
            ("rank", None),
        ):
            extra: dict[str, Any] = {"response_format": response_format(schema)} if schema else {}
            out.append(await client.chat.completions.create(**body_for(mode, **extra)))
        await client.close()
        return out

    nway, pairwise, score, rank = asyncio.run(go())
    assert json.loads(nway.choices[0].message.content)["winner"] == hash_winner(CANDS)
    assert json.loads(pairwise.choices[0].message.content)["winner"] == hash_winner(CANDS)
    assert json.loads(score.choices[0].message.content)["score"] == hash_score(CANDS[0]["text"])
    assert json.loads(rank.choices[0].message.content)["ranking"] == hash_ranking(CANDS)
    assert sorted(hash_ranking(CANDS)) == ["candidate_A", "candidate_B", "candidate_C"]
    assert nway.model == "judge-x" and nway.system_fingerprint and nway.id
    usage = nway.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0


def test_builtin_and_custom_policies(server: FakeJudgeServer) -> None:
    def contrarian(mode: str, candidates: list[dict[str, Any]], body: Any) -> dict[str, Any]:
        return {"winner": candidates[-1]["id"], "reason": f"model {body['model']}"}

    def ask() -> dict[str, Any]:
        r = HTTP.post(f"{server.base_url}/chat/completions", json=body_for("nway"), headers=AUTH)
        return dict(json.loads(r.json()["choices"][0]["message"]["content"]))

    server.policy = "first"
    assert ask()["winner"] == "candidate_A"
    server.policy = "longest"
    assert ask()["winner"] == longest_winner(CANDS) == "candidate_C"
    server.policy = contrarian
    assert ask() == {"winner": "candidate_C", "reason": "model judge-x"}


def test_bearer_key_required_and_never_kept(server: FakeJudgeServer) -> None:
    chat = f"{server.base_url}/chat/completions"
    missing = HTTP.post(chat, json=body_for("nway"))
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    assert HTTP.get(f"{server.base_url}/models").status_code == 401
    assert (
        HTTP.post(chat, json=body_for("nway"), headers={"Authorization": "Basic abc"}).status_code
        == 401
    )
    models = HTTP.get(f"{server.base_url}/models", headers=AUTH).json()
    assert [m["id"] for m in models["data"]] == ["fake-judge"]
    # a chunked body (no Content-Length) is read too
    chunks = iter([json.dumps(body_for("nway")).encode()])
    assert HTTP.post(chat, content=chunks, headers=AUTH).status_code == 200
    stats = server.stats()
    assert stats["by_status"] == {"401": 2, "200": 1}
    assert KEY not in json.dumps(stats)
    assert KEY not in repr(vars(server.service)) + repr(vars(server))


# --------------------------------------------------------------------------- faults


def _content(response: httpx.Response) -> str:
    return str(response.json()["choices"][0]["message"]["content"])


def _check_fault(kind: str, mode: str, response: httpx.Response | Exception) -> None:
    """Assert ``response`` shows fault ``kind`` (mode-specific for content faults)."""
    if kind == "drop":
        assert isinstance(response, httpx.RemoteProtocolError)
        return
    if kind == "stall":
        assert isinstance(response, httpx.ReadTimeout)
        return
    assert isinstance(response, httpx.Response)
    if kind in ("429", "500", "503"):
        assert response.status_code == int(kind)
        if kind == "429":
            assert response.headers["Retry-After"] == "0.05"
            assert response.headers["retry-after-ms"] == "50"
        return
    assert response.status_code == 200
    text = _content(response)
    key = {"nway": "winner", "score": "score", "rank": "ranking"}[mode]
    if kind == "fenced":
        assert text.startswith("```json\n") and text.endswith("\n```")
        assert key in json.loads(text[len("```json\n") : -len("\n```")])
    elif kind == "prose":
        start = text.index("{")
        assert start > 0 and key in json.JSONDecoder().raw_decode(text, start)[0]
    elif kind == "garbage":
        assert text == GARBAGE_REPLY
    elif kind == "empty":
        assert text == ""
    else:
        reply = json.loads(text)
        if kind == "missing_key":
            assert key not in reply and "reason" in reply
        elif mode == "score":
            expected: Any = {"out_of_range": (0, 7), "bad_label": ("excellent",)}[kind]
            assert reply["score"] in expected
        elif mode == "rank":
            assert len(reply["ranking"]) == len(CANDS)
            assert len(set(reply["ranking"])) == len(CANDS) - 1
        else:
            assert reply["winner"] not in {c["id"] for c in CANDS}


CASES = [(kind, "nway") for kind in RECOVERABLE_KINDS] + [
    (kind, mode)
    for kind in ("bad_label", "out_of_range", "missing_key")
    for mode in ("score", "rank")
]


@pytest.mark.parametrize(("kind", "mode"), CASES)
def test_each_fault_kind_then_a_clean_answer(kind: str, mode: str) -> None:
    plan = FaultPlan.spread(1.0, (kind,), max_faults_per_key=1, retry_after_s=0.05, stall_s=0.6)
    with FakeJudgeServer(faults=plan) as srv:
        chat = f"{srv.base_url}/chat/completions"
        body = body_for(mode)
        first: httpx.Response | Exception
        try:
            first = HTTP.post(chat, json=body, headers=AUTH, timeout=0.2)
        except (httpx.RemoteProtocolError, httpx.ReadTimeout) as exc:
            first = exc
        _check_fault(kind, mode, first)
        second = HTTP.post(chat, json=body, headers=AUTH)
        assert second.status_code == 200
        answer = json.loads(_content(second))
        expected = {
            "nway": ("winner", hash_winner(CANDS)),
            "score": ("score", hash_score(CANDS[0]["text"])),
            "rank": ("ranking", hash_ranking(CANDS)),
        }[mode]
        assert answer[expected[0]] == expected[1]
        stats = srv.stats()
    assert stats["by_fault"] == {kind: 1}
    assert stats["requests"] == 2
    assert list(stats["per_key"].values()) == [2]
    # a recoverable (fenced, prose) first answer also finished the judgment
    assert list(stats["completed_keys"].values()) == [2 if kind in ("fenced", "prose") else 1]


async def _attempts(srv: FakeJudgeServer, tags: list[str], attempts: int) -> dict[str, list[str]]:
    """Per prompt: what each of ``attempts`` sequential tries got; prompts run concurrently."""

    async def one(client: httpx.AsyncClient, tag: str) -> list[str]:
        seen = []
        for _ in range(attempts):
            try:
                r = await client.post("/chat/completions", json=body_for("nway", tag))
                seen.append(f"{r.status_code}:{_content(r) if r.status_code == 200 else ''}")
            except httpx.TransportError as exc:
                seen.append(type(exc).__name__)
        return seen

    async with httpx.AsyncClient(base_url=srv.base_url, headers=AUTH) as client:
        results = await asyncio.gather(*(one(client, tag) for tag in tags))
    return dict(zip(tags, results, strict=True))


def test_faults_are_deterministic_under_concurrency() -> None:
    tags = [f"t{i}" for i in range(30)]

    def run(seed: int) -> tuple[dict[str, list[str]], dict[str, int]]:
        plan = FaultPlan.spread(0.6, seed=seed, max_faults_per_key=2)
        with FakeJudgeServer(faults=plan) as srv:
            return asyncio.run(_attempts(srv, tags, 3)), srv.stats()["by_fault"]

    first, first_faults = run(seed=7)
    again, again_faults = run(seed=7)
    assert first == again and first_faults == again_faults
    # the faults are exactly what the plan's draws say, capped at 2 per prompt
    plan = FaultPlan.spread(0.6, seed=7, max_faults_per_key=2)
    expected: Counter[str] = Counter()
    for tag in tags:
        key = prompt_key(messages_for("nway", CANDS, tag))
        kinds = [k for k in (plan.choose(key, n) for n in range(3)) if k is not None]
        expected.update(kinds[:2])
    assert first_faults == dict(expected)
    assert sum(expected.values()) > 10
    # another seed draws other faults
    other = FaultPlan.spread(0.6, seed=8, max_faults_per_key=2)
    key = prompt_key(messages_for("nway", CANDS, tags[0]))
    assert [plan.choose(key, n) for n in range(20)] != [other.choose(key, n) for n in range(20)]


def test_sdk_retries_finish_within_max_faults_per_key() -> None:
    plan = FaultPlan(rate_429=1.0, max_faults_per_key=2, retry_after_s=0.05)
    with FakeJudgeServer(faults=plan) as srv:

        async def go(retries: int, tag: str) -> str | None:
            client = client_for(srv, max_retries=retries)
            try:
                reply = await client.chat.completions.create(**body_for("nway", tag))
                return reply.choices[0].message.content
            except openai.RateLimitError:
                return None
            finally:
                await client.close()

        # two 429s per prompt, then a clean answer: 2 retries suffice, 1 does not
        assert asyncio.run(go(2, "a")) is not None
        assert asyncio.run(go(1, "b")) is None
        stats = srv.stats()
    assert stats["by_status"] == {"429": 4, "200": 1}
    assert stats["by_fault"] == {"429": 4}


def test_reask_shares_the_key_and_gets_a_clean_answer(server: FakeJudgeServer) -> None:
    server.faults = FaultPlan(rate_garbage=1.0, max_faults_per_key=1)
    chat = f"{server.base_url}/chat/completions"
    body = body_for("nway")
    bad = _content(HTTP.post(chat, json=body, headers=AUTH))
    assert bad == GARBAGE_REPLY
    body["messages"] += [
        {"role": "assistant", "content": bad},
        {"role": "user", "content": 'Invalid reply: not JSON. Reply with {"winner", "reason"}.'},
    ]
    fixed = json.loads(_content(HTTP.post(chat, json=body, headers=AUTH)))
    assert fixed["winner"] == hash_winner(CANDS)
    key = prompt_key(body["messages"])
    stats = server.stats()
    assert stats["per_key"] == {key: 2}
    assert stats["completed_keys"] == {key: 1}
    assert stats["completed"] == 1 and stats["usable"] == 1


def test_reject_response_format_and_fail_all(server: FakeJudgeServer) -> None:
    chat = f"{server.base_url}/chat/completions"
    server.faults = FaultPlan(reject_response_format=True)
    with_schema = body_for("nway", response_format=response_format("nway"))
    rejected = HTTP.post(chat, json=with_schema, headers=AUTH)
    assert rejected.status_code == 400 and "response_format" in rejected.json()["error"]["message"]
    assert HTTP.post(chat, json=body_for("nway"), headers=AUTH).status_code == 200
    server.faults = FaultPlan(fail_all_status=503, max_faults_per_key=0)
    statuses = {
        HTTP.post(chat, json=body_for("nway", str(i)), headers=AUTH).status_code for i in range(5)
    }
    assert statuses == {503}
    assert server.stats()["by_fault"] == {"response_format": 1, "fail_all": 5}


# --------------------------------------------------------------------------- logprobs


def test_logprobs_give_a_score_distribution(server: FakeJudgeServer) -> None:
    async def go(top: int) -> Any:
        client = client_for(server)
        body = body_for("score", logprobs=True, top_logprobs=top)
        reply = await client.chat.completions.create(**body)
        await client.close()
        return reply.choices[0]

    choice = asyncio.run(go(5))
    content = choice.logprobs.content
    assert "".join(t.token for t in content) == choice.message.content
    assert all(t.bytes == list(t.token.encode()) for t in content)
    score = hash_score(CANDS[0]["text"])
    digit = next(t for t in content if t.token == str(score))
    probs = {alt.token: math.exp(alt.logprob) for alt in digit.top_logprobs}
    assert probs == pytest.approx(default_score_probs(score))
    assert math.exp(digit.logprob) == pytest.approx(0.6)
    expected = sum(int(d) * p for d, p in probs.items())
    assert expected == pytest.approx({1: 1.4, 5: 4.6}.get(score, score))
    other = next(t for t in content if t.token == "reason")
    assert [(a.token, a.logprob) for a in other.top_logprobs] == [("reason", 0.0)]
    # cut to top_logprobs, most likely first
    short = asyncio.run(go(1)).logprobs.content
    assert [a.token for a in next(t for t in short if t.token == str(score)).top_logprobs] == [
        str(score)
    ]

    server.policy = lambda mode, cands, body: {"score": 2, "score_probs": {"2": 0.5, "4": 0.5}}
    custom = asyncio.run(go(5)).logprobs.content
    alts = next(t for t in custom if t.token == "2").top_logprobs
    assert {a.token: round(math.exp(a.logprob), 6) for a in alts} == {"2": 0.5, "4": 0.5}


# --------------------------------------------------------------------------- serving


def test_concurrent_requests_overlap() -> None:
    latency, n = 0.1, 200
    with FakeJudgeServer(latency_s=latency) as srv:

        async def go() -> tuple[float, float]:
            client = client_for(srv)
            t0 = time.perf_counter()
            for i in range(5):
                await client.chat.completions.create(**body_for("nway", f"seq{i}"))
            per_request = (time.perf_counter() - t0) / 5
            t0 = time.perf_counter()
            replies = await asyncio.gather(
                *(client.chat.completions.create(**body_for("nway", f"c{i}")) for i in range(n))
            )
            total = time.perf_counter() - t0
            await client.close()
            assert len(replies) == n
            return per_request, total

        per_request, total = asyncio.run(go())
        stats = srv.stats()
    assert total < 0.5 * n * per_request
    assert stats["completed"] == n + 5
    assert stats["max_in_flight"] >= 20
    assert stats["in_flight"] == 0


def test_keep_alive_reuses_one_connection(server: FakeJudgeServer) -> None:
    with httpx.Client(base_url=server.base_url, headers=AUTH) as client:
        for i in range(10):
            assert (
                client.post("/chat/completions", json=body_for("nway", str(i))).status_code == 200
            )
    assert server.stats()["connections"] == 1


def test_stats_endpoint_and_reset(server: FakeJudgeServer) -> None:
    server.faults = FaultPlan(rate_500=1.0, max_faults_per_key=1)
    chat = f"{server.base_url}/chat/completions"
    assert HTTP.post(chat, json=body_for("nway"), headers=AUTH).status_code == 500
    assert HTTP.post(chat, json=body_for("nway"), headers=AUTH).status_code == 200
    over_http = HTTP.get(f"{server.url}/stats").json()
    assert over_http == server.stats()
    assert over_http["by_status"] == {"500": 1, "200": 1} and over_http["requests"] == 2
    # a plain reset keeps the fault history: the key already had its fault
    assert HTTP.post(f"{server.url}/stats/reset").status_code == 200
    assert server.stats()["requests"] == 0 and server.stats()["per_key"] == {}
    assert HTTP.post(chat, json=body_for("nway"), headers=AUTH).status_code == 200
    # resetting the faults too starts the sequence over
    HTTP.post(f"{server.url}/stats/reset", json={"faults": True})
    assert HTTP.post(chat, json=body_for("nway"), headers=AUTH).status_code == 500


def test_runs_as_a_process(tmp_path: Path) -> None:
    port_file = tmp_path / "judge.url"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakejudge",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--fault",
            "500=1.0",
            "--max-faults-per-key",
            "1",
            "--policy",
            "first",
        ],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "fake judge process did not start"
            time.sleep(0.05)
        base_url = port_file.read_text().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        chat = f"{base_url}/chat/completions"
        assert HTTP.post(chat, json=body_for("nway"), headers=AUTH).status_code == 500
        ok = HTTP.post(chat, json=body_for("nway"), headers=AUTH)
        assert json.loads(_content(ok))["winner"] == "candidate_A"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_ending_faults_look_like_the_real_servers_and_sticky_ones_stick() -> None:
    """quota: OpenAI's 429 insufficient_quota; length: half a reply with finish_reason length;
    sticky_500 / context_400: llama.cpp's deterministic errors, the same on every retry."""
    seen: dict[str, list[httpx.Response]] = {}
    for kind in ("quota", "length", "sticky_500", "context_400"):
        plan = FaultPlan.spread(1.0, (kind,), max_faults_per_key=1)
        with FakeJudgeServer(faults=plan) as srv:
            chat = f"{srv.base_url}/chat/completions"
            seen[kind] = [HTTP.post(chat, json=body_for("nway"), headers=AUTH) for _ in range(3)]
    quota = seen["quota"][0]
    assert quota.status_code == 429 and quota.json()["error"]["code"] == "insufficient_quota"
    assert seen["quota"][1].status_code == 200  # not sticky: max_faults_per_key applies
    cut = seen["length"][0].json()["choices"][0]
    assert cut["finish_reason"] == "length"
    with pytest.raises(ValueError):
        json.loads(cut["message"]["content"])
    assert seen["length"][1].json()["choices"][0]["finish_reason"] == "stop"
    for kind, status in (("sticky_500", 500), ("context_400", 400)):
        replies = seen[kind]
        assert [r.status_code for r in replies] == [status] * 3
        assert len({r.json()["error"]["message"] for r in replies}) == 1
    assert seen["sticky_500"][0].json()["error"]["message"] == PEG_500_MESSAGE
