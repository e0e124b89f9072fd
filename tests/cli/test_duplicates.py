"""Duplicated prompts at the command line: every mode, with and without a store, with
``--no-cache`` and ``--retry-invalid``, and with failing first calls. No crash, and the server
hears each distinct prompt once (plus the retries its own faults caused).

Duplicates arise naturally: the official sample CSV has items whose systems share a text (the
pairwise reference against itself, identical rotations), and ``--permutations K`` on few
candidates draws the same order more than once per item only if fqeval lets it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import read_run
from tests.fakejudge import FakeJudgeServer, FaultPlan

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "demo.csv"


def _args(mode: str, data: Path, server: FakeJudgeServer, out: Path, *extra: Any) -> list[Any]:
    args: list[Any] = [
        "run", mode, "--data", data, "--judge", "openai:fake-judge",
        "--base-url", server.base_url, "--concurrency", "16", "--out", out,
        "-q", "--bootstrap", "50", *extra,
    ]  # fmt: skip
    if mode == "pairwise":
        args += ["--reference", "final_fq"]
    return args


@pytest.mark.parametrize("mode", ["nway", "pairwise", "score", "rank"])
@pytest.mark.parametrize(
    "store_flags",
    [("--no-cache",), ("--retry-invalid",), ()],
    ids=["no-cache", "retry-invalid", "store"],
)
def test_every_mode_asks_each_distinct_prompt_once(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, store_flags: tuple[str, ...]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    out = tmp_path / "run"
    extra = ["--store", tmp_path / "store.sqlite", *store_flags]
    if mode in ("nway", "rank"):
        extra += ["--permutations", "10"]
    with FakeJudgeServer(policy="hash") as server:
        res = cli(*_args(mode, DEMO, server, out, *extra))
        assert res.code == 0, res.err
        served = server.stats()
    _, records, _ = read_run(out)
    distinct = {r["cache_key"] for r in records}
    assert served["requests"] == len(distinct)
    assert set(served["per_key"].values()) == {1}
    assert all(r["valid"] for r in records)
    # copies are reported as such and cost nothing
    assert all(r["attempts"] == 0 for r in records if r["reused"] or r["cached"])


def test_no_store_with_faults_pairwise_on_the_sample_csv(
    cli, tmp_path: Path, sample_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported crash: pairwise on the sample CSV, --no-cache, concurrency 16."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    out = tmp_path / "run"
    plan = FaultPlan.spread(0.3, kinds=("429", "500", "garbage"), seed=5, retry_after_s=0.01)
    with FakeJudgeServer(policy="hash", faults=plan) as server:
        res = cli(
            *_args("pairwise", sample_csv, server, out, "--store", tmp_path / "s.sqlite",
                   "--no-cache", "--limit", "40")
        )  # fmt: skip
        assert res.code == 0, res.err
        served = server.stats()
    _, records, _ = read_run(out)
    distinct = {r["cache_key"] for r in records}
    faults = sum(served["by_fault"].values())
    assert served["requests"] == len(distinct) + faults
    assert set(served["completed_keys"].values()) == {1}
    assert len(records) == 40 * 5 * 4 * 2 and all(r["valid"] for r in records)


def test_failed_first_calls_of_duplicates_end_failed_once(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    out = tmp_path / "run"
    with FakeJudgeServer(policy="hash", faults=FaultPlan(fail_all_status=418)) as server:
        res = cli(
            *_args("nway", DEMO, server, out, "--store", tmp_path / "s.sqlite",
                   "--permutations", "10", "--limit", "2")
        )  # fmt: skip
        served = server.stats()
    assert res.code == 1  # calls failed outright
    _, records, _ = read_run(out)
    assert served["requests"] == len({r["cache_key"] for r in records})
    assert all(r["invalid_reason"].startswith("call failed: HTTP 418") for r in records)
