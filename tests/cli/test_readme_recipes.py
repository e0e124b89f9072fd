"""The README's recipes run as written (on the demo data, with the fake judge standing in for
the recording step's real API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakejudge import FakeJudgeServer

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "demo.csv"


def test_ci_recipe_replays_with_no_key_and_no_network(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, baseline, current = tmp_path / "ci.sqlite", tmp_path / "baseline", tmp_path / "current"
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    # once, with a key: record (the fake judge on loopback stands in for api.openai.com; the
    # store key names the model, not the endpoint, so the replay below finds every judgment)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-recording-key-0123456789")
    with FakeJudgeServer(policy="hash") as server:
        res = cli(
            "run", "score", "--data", DEMO, "--judge", "openai:gpt-4.1",
            "--base-url", server.base_url, "--store", store, "--out", baseline, "-q",
        )  # fmt: skip
        assert res.code == 0, res.err
    # in CI: no key, no network (the default endpoint is api.openai.com and is never reached)
    monkeypatch.delenv("OPENAI_API_KEY")
    for dry in (["--dry-run"], []):
        res = cli(
            "run", "score", "--data", DEMO, "--judge", "openai:gpt-4.1", "--store", store,
            "--replay-only", "--strict", "--out", current, "-q", *dry,
        )  # fmt: skip
        assert res.code == 0, res.err
    summary = json.loads((current / "summary.json").read_text())
    assert summary["run"]["judges"]["openai:gpt-4.1"]["calls"] == 0
    assert summary["run"]["invalid"] == 0
    res = cli("check", baseline, current, "--max-drop", "0.1")  # as the README writes it
    assert res.code == 0, res.err + res.out
    assert "paired" in res.out


def test_a_real_call_still_needs_the_key_for_openai(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    res = cli(
        "run", "score", "--data", DEMO, "--judge", "openai:gpt-4.1",
        "--store", tmp_path / "s.sqlite", "--out", tmp_path / "out", "-q",
    )  # fmt: skip
    assert res.code == 2
    assert res.err.strip().splitlines() == [res.err.strip()]
    assert "no API key" in res.err
    assert not (tmp_path / "out").exists() and not (tmp_path / "s.sqlite").exists()
