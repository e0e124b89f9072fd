"""`fqeval run` against a real OpenAI-compatible server on 127.0.0.1 with every fault mixed in.

This is issue 3's acceptance scenario at the command line: all judgments end valid with the
server's decisions, a SIGKILLed run resumes without asking again for what it had finished, and a
rerun sends no request at all. The API key must never reach a file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.cli.conftest import read_run
from tests.fakejudge import FakeJudgeServer, FaultPlan
from tests.fakejudge.policies import hash_score, hash_winner

SECRET = "sk-fqeval-test-DO-NOT-LEAK-0123456789abcdef"


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return SECRET


def all_faults(seed: int) -> FaultPlan:
    # every kind at once: HTTP errors, drops, stalls and malformed replies (about 36% of requests)
    return FaultPlan.spread(
        0.33, seed=seed, retry_after_s=0.05, stall_s=3.0, max_faults_per_key=2
    ).with_options(rate_stall=0.03)


def expected_nway_winner(record: dict) -> str:
    candidates = [{"id": s["label"], "text": s["text"]} for s in record["shown"]]
    return hash_winner(candidates)


def assert_no_secret(*paths: Path) -> None:
    for path in paths:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            assert SECRET.encode() not in file.read_bytes(), f"API key leaked into {file}"


def test_nway_all_faults_every_judgment_valid_and_exact(
    cli, sample_csv: Path, tmp_path: Path, api_key: str
) -> None:
    out, store = tmp_path / "nway", tmp_path / "store.sqlite"
    with FakeJudgeServer(policy="hash", faults=all_faults(seed=3)) as server:
        args = [
            "run",
            "nway",
            "--data",
            sample_csv,
            "--judge",
            "openai:fake-judge",
            "--base-url",
            server.base_url,
            "--store",
            store,
            "--concurrency",
            "16",
            "--request-timeout",
            "1",
            "--out",
            out,
            "-q",
            "--bootstrap",
            "100",
        ]
        res = cli(*args)
        assert res.code == 0, res.err
        stats = server.stats()
        assert sum(stats["by_fault"].values()) > 100  # the faults really happened
        summary, records, _ = read_run(out)
        assert len(records) == 1000 and all(r["valid"] for r in records)
        assert all(r["winner_label"] == expected_nway_winner(r) for r in records)
        assert sum(r["reasks"] for r in records) > 0
        # selection rates are exactly the server's decisions
        wins: Counter[tuple[str, str]] = Counter()
        for r in records:
            label = expected_nway_winner(r)
            systems = next(s["systems"] for s in r["shown"] if s["label"] == label)
            for system in systems:
                wins[(r["criterion"], system)] += 1 / len(systems)
        for name, block in summary["criteria"].items():
            assert block["invalid"] == 0 and block["n"] == 200
            for system, entry in block["systems"].items():
                assert entry["selection_rate"] == pytest.approx(wins[(name, system)] / 200)
        # a rerun is served from the store: not one request
        server.reset_stats()
        assert cli(*args[:-5], "--out", tmp_path / "again", "-q").code == 0
        assert server.stats()["requests"] == 0
    assert_no_secret(out, tmp_path / "again", store)


def test_score_all_faults_means_equal_the_servers_scores(
    cli, sample_csv: Path, tmp_path: Path, api_key: str
) -> None:
    out = tmp_path / "score"
    with FakeJudgeServer(policy="hash", faults=all_faults(seed=5)) as server:
        res = cli(
            "run",
            "score",
            "--data",
            sample_csv,
            "--judge",
            "openai:fake-judge",
            "--base-url",
            server.base_url,
            "--store",
            tmp_path / "s.sqlite",
            "--concurrency",
            "32",
            "--request-timeout",
            "1",
            "--out",
            out,
            "-q",
            "--limit",
            "60",
            "--bootstrap",
            "50",
        )
        assert res.code == 0, res.err
    summary, records, _ = read_run(out)
    assert len(records) == 60 * 5 * 5 and all(r["valid"] for r in records)
    for r in records:
        assert r["score"] == hash_score(r["shown"][0]["text"])
    for name, block in summary["criteria"].items():
        for system, entry in block["systems"].items():
            scores = [
                r["score"] for r in records if r["criterion"] == name and r["variant"] == system
            ]
            assert entry["mean_score"] == pytest.approx(sum(scores) / len(scores))
    assert_no_secret(out)


def test_unrecoverable_replies_are_invalid_with_reasons_and_strict_fails(
    cli, tmp_path: Path, api_key: str
) -> None:
    demo = Path(__file__).resolve().parents[2] / "data" / "demo" / "demo.csv"
    garbage = FaultPlan(rate_garbage=1.0, max_faults_per_key=1000, seed=1)
    out = tmp_path / "bad"
    with FakeJudgeServer(policy="hash", faults=garbage) as server:
        res = cli(
            "run",
            "nway",
            "--data",
            demo,
            "--judge",
            "openai:fake-judge",
            "--base-url",
            server.base_url,
            "--store",
            tmp_path / "s.sqlite",
            "--out",
            out,
            "-q",
            "--max-reasks",
            "1",
            "--strict",
            "--limit",
            "2",
        )
    assert res.code == 1 and "invalid" in res.err
    summary, records, _ = read_run(out)
    assert len(records) == 10 and not any(r["valid"] for r in records)
    assert all(r["invalid_reason"] and r["raw"] for r in records)
    assert all(r["attempts"] == 2 for r in records)  # first ask + one re-ask
    assert sum(b["invalid"] for b in summary["criteria"].values()) == 10
    assert "invalid" in (out / "report.md").read_text(encoding="utf-8").lower()


def _count_lines(path: Path) -> int:
    try:
        return sum(1 for _ in path.open("rb"))
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize("mode", ["nway", "score"])
def test_sigkill_then_resume_pays_for_nothing_twice(
    sample_csv: Path, tmp_path: Path, api_key: str, mode: str
) -> None:
    out, store = tmp_path / "run", tmp_path / "store.sqlite"
    limit = "40" if mode == "nway" else "10"  # 200 / 250 judgments
    concurrency = 8
    with FakeJudgeServer(policy="hash", faults=all_faults(seed=11), latency_s=0.03) as server:
        cmd = [
            sys.executable,
            "-c",
            "from fqeval.cli import main; main()",
            "run",
            mode,
            "--data",
            str(sample_csv),
            "--judge",
            "openai:fake-judge",
            "--base-url",
            server.base_url,
            "--store",
            str(store),
            "--concurrency",
            str(concurrency),
            "--request-timeout",
            "1",
            "--limit",
            limit,
            "--out",
            str(out),
            "-q",
            "--bootstrap",
            "20",
        ]
        proc = subprocess.Popen(
            cmd, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 120
        # the run is written into a hidden sibling of --out and moved into place at the end
        def partial() -> Path:
            return next(out.parent.glob(f".{out.name}.partial-*/judgments.jsonl"), out / "none")

        while _count_lines(partial()) < 60 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        finished_before = _count_lines(partial())
        assert finished_before >= 60
        assert not out.exists()  # a killed run leaves no half-written --out
        before = dict(server.stats()["completed_keys"])
        requests_before = server.stats()["requests"]

        resumed = subprocess.run(
            cmd, env=os.environ.copy(), capture_output=True, text=True, timeout=300
        )
        assert resumed.returncode == 0, resumed.stderr
        after = server.stats()["completed_keys"]
        _, records, _ = read_run(out)
        total = len(records)
        assert all(r["valid"] for r in records)
        # judgments answered twice: only those in flight when the process died (answer received,
        # not yet committed) can be asked again, never one that was finished
        asked_twice = [k for k, n in after.items() if n > 1 and before.get(k, 0) >= 1]
        assert len(asked_twice) <= concurrency
        assert sum(1 for r in records if r["cached"]) >= finished_before
        assert len(after) == total
        # third run: nothing at all is requested
        requests_resumed = server.stats()["requests"]
        third = subprocess.run(
            cmd, env=os.environ.copy(), capture_output=True, text=True, timeout=300
        )
        assert third.returncode == 0, third.stderr
        assert server.stats()["requests"] == requests_resumed > requests_before
    assert_no_secret(out, store)


def test_replay_only_makes_no_call_and_marks_misses_invalid(
    cli, tmp_path: Path, api_key: str
) -> None:
    demo = Path(__file__).resolve().parents[2] / "data" / "demo" / "demo.csv"
    store = tmp_path / "golden.sqlite"
    with FakeJudgeServer(policy="hash") as server:
        base = [
            "run",
            "score",
            "--data",
            demo,
            "--judge",
            "openai:fake-judge",
            "--base-url",
            server.base_url,
            "--store",
            store,
            "-q",
            "--bootstrap",
            "20",
        ]
        assert cli(*base, "--limit", "2", "--out", tmp_path / "golden").code == 0
        server.reset_stats()
        replay = cli(*base, "--limit", "2", "--replay-only", "--strict", "--out", tmp_path / "ci")
        assert replay.code == 0, replay.err
        golden, _, _ = read_run(tmp_path / "golden")
        current, records, _ = read_run(tmp_path / "ci")
        assert all(r["cached"] for r in records)
        assert current["criteria"] == golden["criteria"]
        # a judgment the store lacks is not asked for: it ends invalid, and --strict fails
        missing = cli(
            *base, "--limit", "3", "--replay-only", "--strict", "--out", tmp_path / "miss"
        )
        assert missing.code == 1
        assert server.stats()["requests"] == 0
    _, records, _ = read_run(tmp_path / "miss")
    misses = [r for r in records if not r["valid"]]
    assert len(misses) == 15 and all("--replay-only" in r["invalid_reason"] for r in misses)


def test_dry_run_and_price_override(cli, tmp_path: Path, api_key: str) -> None:
    demo = Path(__file__).resolve().parents[2] / "data" / "demo" / "demo.csv"
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  fake-judge: {input: 1000.0, output: 2000.0}\n", encoding="utf-8")
    with FakeJudgeServer(policy="hash") as server:
        base = [
            "run",
            "nway",
            "--data",
            demo,
            "--judge",
            "openai:fake-judge",
            "--base-url",
            server.base_url,
            "--store",
            tmp_path / "s.sqlite",
            "--prices",
            prices,
            "-q",
            "--limit",
            "2",
            "--out",
            tmp_path / "run",
        ]
        dry = cli(*base, "--dry-run")
        assert dry.code == 0, dry.err
        assert server.stats()["requests"] == 0
        assert "openai:fake-judge" in dry.out and "not in price table" not in dry.out
        assert cli(*base).code == 0
        assert server.stats()["requests"] == 10
        # everything is stored now: the preflight says no call is needed
        again = cli(*base, "--dry-run")
        assert again.code == 0 and server.stats()["requests"] == 10
    _, _, manifest = read_run(tmp_path / "run")
    assert manifest["run"]["judges"]["openai:fake-judge"]["cost_usd"] > 0
