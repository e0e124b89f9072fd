"""The SQLite judgment store, its default location, the key, and the price table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fqeval.engine import (
    JudgmentStore,
    Price,
    StoredJudgment,
    cache_key,
    default_store_path,
    load_prices,
)
from fqeval.engine._runner import key_request
from fqeval.errors import DataError, UsageError
from fqeval.judges import JudgeRequest, Message, Sampling, TokenLogprob, make_judge
from tests.engine.conftest import TinyNway, make_tasks


def _row(key: str, **changes: object) -> StoredJudgment:
    fields: dict[str, object] = dict(
        key=key, judge="openai:m", model="m", raw='{"winner": "candidate_A"}', logprobs=None,
        valid=True, invalid_reason=None, attempts=1, reasks=0, prompt_tokens=10,
        completion_tokens=5, cached_tokens=0, latency_s=0.25,
    )  # fmt: skip
    fields.update(changes)
    return StoredJudgment(**fields)  # type: ignore[arg-type]


def test_rows_round_trip_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "store.sqlite"
    logprobs = (TokenLogprob("4", -0.5, (("4", -0.5), ("5", -1.2))), TokenLogprob("}", 0.0))
    with JudgmentStore(path) as store:
        store.put(_row("k1"))
        store.put(_row("k2", valid=False, invalid_reason="empty reply", raw="", logprobs=logprobs))
        store.put(_row("k1", attempts=3))  # replaced, not duplicated
    with JudgmentStore(path) as store:
        assert len(store) == 2 and "k1" in store and "nope" not in store
        assert store.get("k1") == _row("k1", attempts=3)
        assert store.get("k2") == _row(
            "k2", valid=False, invalid_reason="empty reply", raw="", logprobs=logprobs
        )
        assert store.get("nope") is None
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_a_file_that_is_not_a_store_is_a_usage_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("hello, I am not a database " * 100)
    with pytest.raises(UsageError, match="--store"):
        JudgmentStore(bogus)


def test_default_store_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FQEVAL_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_store_path() == tmp_path / ".cache" / "fqeval" / "judgments.sqlite"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "xdg" / "fqeval" / "judgments.sqlite"
    monkeypatch.setenv("FQEVAL_CACHE_DIR", str(tmp_path / "mine"))
    assert default_store_path() == tmp_path / "mine" / "judgments.sqlite"


def test_key_covers_what_changes_an_answer_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-one")
    task = make_tasks(1)[0]
    request = key_request(task, TinyNway())
    judge = make_judge("openai:m", base_urls=["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"])
    base = cache_key(judge, request)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-two")
    same = [
        make_judge("openai:m", base_urls=["http://127.0.0.1:2/v1", "http://127.0.0.1:1/v1"]),
        make_judge("openai:m", base_urls=["http://10.0.0.1:8000/v1"]),
    ]
    assert all(cache_key(j, request) == base for j in same)
    from dataclasses import replace

    assert cache_key(judge, replace(request, task=None)) == base
    different = [
        cache_key(make_judge("openai:other", base_urls=["http://127.0.0.1:1/v1"]), request),
        cache_key(make_judge("heuristic"), request),
        cache_key(judge, replace(request, sampling=Sampling(temperature=0.7))),
        cache_key(judge, replace(request, sampling=Sampling(max_tokens=10))),
        cache_key(judge, replace(request, sampling=Sampling(top_logprobs=5))),
        cache_key(judge, replace(request, schema=None)),
        cache_key(judge, replace(request, schema={"type": "object"})),
        cache_key(judge, replace(request, messages=(*request.messages, Message("user", "x")))),
        cache_key(judge, JudgeRequest(messages=(Message("user", request.messages[0].content),))),
    ]
    assert len({base, *different}) == len(different) + 1


# ---------------------------------------------------------------------- prices


@pytest.fixture
def no_user_prices(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("FQEVAL_PRICES", raising=False)


@pytest.mark.usefixtures("no_user_prices")
def test_shipped_prices_and_lookup() -> None:
    table = load_prices()
    assert table.price("gpt-4.1") == Price(input=2.0, output=8.0, cached_input=0.5)
    assert table.price("gpt-4.1-2025-04-14") == table.price("gpt-4.1")
    assert table.price("gpt-4.1-mini-2025-04-14") == table.price("gpt-4.1-mini")
    assert not table.known("Qwen/Qwen2.5-7B-Instruct")
    assert table.price("Qwen/Qwen2.5-7B-Instruct").cost(10_000, 10_000) == 0.0
    # 1M prompt tokens of which 0.5M cached, 0.1M output: 0.5*2 + 0.5*0.5 + 0.1*8
    assert table.price("gpt-4.1").cost(1_000_000, 100_000, 500_000) == pytest.approx(2.05)


def test_user_price_files_override_model_by_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config" / "fqeval"
    config.mkdir(parents=True)
    (config / "prices.yaml").write_text("models:\n  gpt-4.1: {input: 1.0, output: 4.0}\n")
    env_file = tmp_path / "env.yaml"
    env_file.write_text("models:\n  my-local: {input: 0.01, output: 0.02}\n")
    cli_file = tmp_path / "cli.yaml"
    cli_file.write_text("models:\n  my-local: {input: 0.5, output: 0.5, cached_input: 0.1}\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("FQEVAL_PRICES", str(env_file))
    table = load_prices(cli_file)
    assert table.price("gpt-4.1") == Price(input=1.0, output=4.0)
    assert table.price("gpt-4o").input == 2.5  # untouched shipped entry
    assert table.price("my-local") == Price(input=0.5, output=0.5, cached_input=0.1)
    assert len(table.sources) == 4


@pytest.mark.usefixtures("no_user_prices")
def test_bad_price_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--prices"):
        load_prices(tmp_path / "missing.yaml")
    for text, match in (
        ("models: [1, 2]", "top-level 'models:'"),
        ("models:\n  m: {input: -1}\n", "model 'm', 'input'"),
        ("models:\n  m: {input: 1, outptu: 2}\n", "unknown field"),
        ("models: {m: 3}\n", "expected input/output"),
        ("models: {m: {input: [", "not valid YAML"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(DataError, match=match):
            load_prices(bad)
