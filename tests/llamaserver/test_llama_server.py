"""`fqeval run` against a real llama.cpp ``llama-server`` (tiny random-weight model, CPU).

The model judges nothing; the tests check what a real OpenAI-compatible server that fqeval did
not write does with fqeval's requests: the reply schema is sent and accepted (no fallback), every
judgment ends valid or invalid with a named reason, the counts of an independent proxy agree
with the run's manifest, a rerun makes no request, and a server killed mid-run is resumed after
a restart without asking again for what was stored.

Budget: about 1-5 s per judgment on 2 cores, so every run is ``--limit 1`` (the kill test 4).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from fqeval.data import load_data
from fqeval.engine import EngineOptions, Judgment, JudgmentStore, run_judgments
from fqeval.judges import make_judge
from fqeval.judges._base import Sampling
from fqeval.prompts._env import PromptSet
from fqeval.protocols import NwayProtocol
from tests.llamaserver.conftest import (
    MODEL_NAME,
    Cli,
    CountingProxy,
    Exchange,
    LlamaServer,
    read_run,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "data" / "demo" / "demo.csv"
JUDGE = f"openai:{MODEL_NAME}"

MODES: dict[str, list[str]] = {
    "nway": ["nway"],
    "pairwise": ["pairwise", "--reference", "final_fq"],
    "score": ["score"],
    "score-logprobs": ["score", "--logprobs"],
    "rank": ["rank"],
}


def run_args(mode: list[str], url: str, store: Path, out: Path, limit: int = 1) -> list[Any]:
    return [
        "run",
        *mode,
        "--data",
        DEMO,
        "--limit",
        limit,
        "--judge",
        JUDGE,
        "--base-url",
        url,
        "--store",
        store,
        "--out",
        out,
        "--concurrency",
        4,
        "-q",
        "--bootstrap",
        20,
    ]


def judge_stats(block: dict[str, Any]) -> dict[str, Any]:
    return block["run"]["judges"][JUDGE]


def labels(record: dict[str, Any]) -> list[str]:
    return [s["label"] for s in record["shown"]]


def assert_valid_or_named(records: list[dict[str, Any]]) -> None:
    for r in records:
        if r["valid"]:
            assert r["invalid_reason"] is None, r
        else:
            assert isinstance(r["invalid_reason"], str) and r["invalid_reason"].strip(), r


def assert_verdicts_fit(mode: str, records: list[dict[str, Any]]) -> None:
    """A valid judgment's verdict is one the schema allows for the candidates shown."""
    for r in records:
        if not r["valid"]:
            continue
        if mode in ("nway", "pairwise"):
            assert r["winner_label"] in labels(r), r
        elif mode.startswith("score"):
            assert r["score"] in (1, 2, 3, 4, 5), r
        else:
            assert sorted(r["ranking"]) == sorted(labels(r)), r


def reply_schema(exchange: Exchange) -> dict[str, Any]:
    fmt = exchange.request_json().get("response_format")
    assert isinstance(fmt, dict) and fmt.get("type") == "json_schema", fmt
    schema = fmt["json_schema"]["schema"]
    assert isinstance(schema, dict) and schema.get("type") == "object", fmt
    return schema


def is_reask(exchange: Exchange) -> bool:
    return any(m.get("role") == "assistant" for m in exchange.request_json()["messages"])


def assert_calls_agree(chat: list[Exchange], block: dict[str, Any]) -> None:
    """The proxy's count and token totals equal what the run says it paid for."""
    stats = judge_stats(block)
    assert len(chat) == stats["calls"], (len(chat), stats)
    answered = [e for e in chat if e.status == 200]
    usage = [e.reply_json().get("usage") or {} for e in answered]
    assert sum(int(u.get("prompt_tokens") or 0) for u in usage) == stats["prompt_tokens"]
    assert sum(int(u.get("completion_tokens") or 0) for u in usage) == stats["completion_tokens"]


@pytest.mark.parametrize("name", list(MODES))
def test_every_mode_structured_output_accepted_and_rerun_is_free(
    name: str, cli: Cli, proxy: CountingProxy, tmp_path: Path
) -> None:
    mode, store = MODES[name], tmp_path / "store.sqlite"
    res = cli(*run_args(mode, proxy.base_url, store, tmp_path / "run"))
    assert res.code == 0, res.err
    summary, records, manifest = read_run(tmp_path / "run")

    # the run finished, every judgment is accounted for
    assert manifest["run"]["status"] == "complete"
    assert manifest["run"]["total"] == manifest["run"]["done"] == len(records) > 0
    items = {(r["question_id"], r["criterion"]) for r in records}
    assert len(items) == manifest["data"]["items"] and manifest["data"]["qa_pairs"] == 1
    assert_valid_or_named(records)
    assert_verdicts_fit(mode[0], records)

    # structured output was sent on every call and accepted: no fallback to a plain prompt
    assert manifest["judges"][0]["use_schema"] is True
    for block in (manifest, summary):
        assert judge_stats(block)["schema_fallback"] is False
    chat = proxy.chat()
    assert chat and all(e.status == 200 for e in chat), [(e.status, e.reply[:200]) for e in chat]
    schemas = [reply_schema(e) for e in chat]
    if mode[0] == "rank":
        for schema in schemas:
            ranking = schema["properties"]["ranking"]
            n = len(ranking["items"]["enum"])
            assert ranking["minItems"] == ranking["maxItems"] == n >= 2, ranking
    # the biased model's replies are short under the grammar: none runs into max_tokens
    finish = [e.reply_json()["choices"][0]["finish_reason"] for e in chat]
    assert finish == ["stop"] * len(chat), finish
    assert not [r for r in records if (r["invalid_reason"] or "").startswith("cut off")]

    # every distinct prompt was asked once; the proxy agrees with the manifest
    stats = judge_stats(manifest)
    asked = {r["cache_key"] for r in records if not r["cached"]}
    assert stats["retries"] == 0 and stats["cache_hits"] == 0
    assert stats["calls"] == len(asked) + stats["reasks"]
    # one first attempt per distinct prompt (a re-ask carries the bad reply as an assistant turn)
    first = [e for e in chat if not is_reask(e)]
    assert len(first) == len({e.digest for e in first}) == len(asked)
    assert len(chat) - len(first) == stats["reasks"]
    assert_calls_agree(chat, manifest)

    if "--logprobs" in mode:
        for e in chat:
            body = e.request_json()
            assert body.get("logprobs") is True and int(body.get("top_logprobs") or 0) >= 1
            content = e.reply_json()["choices"][0]["logprobs"]["content"]
            assert content and all("top_logprobs" in t for t in content)
        for r in records:
            if r["expected_score"] is None:
                assert r["expected_score_note"], r  # withheld, with the reason why
            else:
                assert 1.0 <= r["expected_score"] <= 5.0 and r["expected_score_mass"] >= 0.5

    # the same command again: everything comes from the store, not one request
    proxy.reset()
    again = cli(*run_args(mode, proxy.base_url, store, tmp_path / "again"))
    assert again.code == 0, again.err
    assert proxy.exchanges() == []
    summary2, records2, manifest2 = read_run(tmp_path / "again")
    assert len(records2) == len(records) and all(r["cached"] for r in records2)
    assert judge_stats(manifest2)["calls"] == 0
    assert summary2["criteria"] == summary["criteria"]


def test_server_killed_mid_run_resumes_without_paying_twice(
    cli: Cli, proxy: CountingProxy, llama: LlamaServer, tmp_path: Path
) -> None:
    store, out = tmp_path / "store.sqlite", tmp_path / "run"
    max_retries = 1
    args = [*run_args(["nway"], proxy.base_url, store, out, limit=4), "--max-retries", max_retries]

    # run 1: SIGKILL the server once a few replies came back (so those judgments are stored
    # by the run), with more calls in flight
    killed = threading.Event()

    def kill_after_some_replies() -> None:
        proxy.wait_answered(5, timeout=120)
        llama.kill()
        killed.set()

    watcher = threading.Thread(target=kill_after_some_replies, daemon=True)
    watcher.start()
    first = cli(*args)
    watcher.join(timeout=5)
    assert killed.is_set()
    assert first.code == 1 and "failed to get a reply" in first.err, (first.code, first.err)
    _, records1, manifest1 = read_run(out)
    chat1 = proxy.chat()
    failed1 = [r for r in records1 if not r["valid"] and r["invalid_reason"].startswith("call")]
    stored1 = {r["cache_key"] for r in records1 if r not in failed1}
    total = manifest1["run"]["total"]
    assert 5 <= len(stored1) < total and len(failed1) == total - len(stored1)
    assert_calls_agree(chat1, manifest1)
    dropped1 = [e for e in chat1 if e.status is None]
    assert dropped1 and all(e.status in (200, None) for e in chat1)
    # a judgment that failed was tried once and retried at most max_retries times
    assert len(dropped1) <= len(failed1) * (1 + max_retries)
    assert judge_stats(manifest1)["retries"] <= len(failed1) * max_retries

    # run 2 after a restart: only what was not stored is asked
    llama.start()
    proxy.reset()
    second = cli(*args)
    assert second.code == 0, second.err
    summary2, records2, manifest2 = read_run(out)
    chat2 = proxy.chat()
    assert len(records2) == total
    assert_valid_or_named(records2)
    assert judge_stats(manifest2)["schema_fallback"] is False
    assert {r["cache_key"] for r in records2 if r["cached"]} == stored1
    assert all(e.status == 200 for e in chat2)
    assert_calls_agree(chat2, manifest2)
    # no prompt answered twice across both runs, and nothing paid beyond the kill's retries
    answered1 = [e.digest for e in chat1 if e.status == 200]
    answered2 = [e.digest for e in chat2]
    assert len(set(answered1 + answered2)) == len(answered1) + len(answered2)
    distinct = len({r["cache_key"] for r in records2}) + sum(r["reasks"] for r in records2)
    assert len(answered1) + len(answered2) == distinct
    assert len(chat1) + len(chat2) <= distinct + len(dropped1)

    # run 3: everything is stored, not one request
    proxy.reset()
    third = cli(*args)
    assert third.code == 0, third.err
    assert proxy.exchanges() == []
    summary3, records3, _ = read_run(out)
    assert all(r["cached"] for r in records3) and len(records3) == total
    assert summary3["criteria"] == summary2["criteria"]


@pytest.mark.parametrize("max_tokens", [3, 12])
def test_reply_cut_at_max_tokens_is_invalid_and_not_reasked(
    max_tokens: int, proxy: CountingProxy, judge_env: None, tmp_path: Path
) -> None:
    """A small ``max_tokens`` cuts the JSON (3: inside the ```json fence llama.cpp's grammar lets
    the model open; 12: inside the object). The judgment ends invalid as cut off, without a
    re-ask that would be cut again; llama-server's deterministic HTTP 500 for a reply it cannot
    parse back ("does not match the expected peg-native format") is recorded invalid after at
    most two identical answers, not retried."""
    protocol = NwayProtocol(PromptSet(), sampling=Sampling(max_tokens=max_tokens))
    data = load_data(DEMO, limit=1)

    def judge_all() -> list[Judgment]:
        judge = make_judge(JUDGE, base_urls=[proxy.base_url])
        store = JudgmentStore(tmp_path / "store.sqlite")
        got: list[Judgment] = []
        try:
            asyncio.run(
                run_judgments(
                    protocol.tasks(data),
                    protocol,
                    [judge],
                    store=store,
                    options=EngineOptions(concurrency=4),
                    on_judgment=got.append,
                )
            )
        finally:
            store.close()
        return got

    judgments = judge_all()
    assert len(judgments) == len(data.items) > 0
    chat = proxy.chat()
    assert all(e.status in (200, 500) for e in chat), [(e.status, e.error) for e in chat]
    peg = [e for e in chat if e.status == 500]
    for j in judgments:
        assert not j.valid and j.reasks == 0, (j.invalid_reason, j.raw)
        reason = j.invalid_reason or ""
        if "peg-native" in reason:
            assert j.attempts <= 2, reason
        else:
            assert reason.startswith(f"cut off at max_tokens={max_tokens}"), reason
            assert j.attempts == 1
    for e in chat:
        if e.status == 200:
            assert e.reply_json()["choices"][0]["finish_reason"] == "length"
            assert e.request_json()["max_tokens"] == max_tokens
    assert len(chat) - len(peg) == sum(
        1 for j in judgments if "peg-native" not in (j.invalid_reason or "")
    )
    assert len(peg) <= 2 * len(judgments)

    # stored: asking again costs nothing (the cut reply was paid for)
    proxy.reset()
    again = judge_all()
    assert proxy.exchanges() == [] and all(j.cached for j in again)
