"""A run directory is complete or untouched (DESIGN.md, "Files a run writes" and "Exit codes").

A command that fails leaves an existing run directory byte for byte as it was and creates
nothing (no directory, no store) where there was none; a run that stops early (cost cap,
circuit breaker, Ctrl-C) still writes its manifest, summary and report, marked partial; a
SIGKILL never leaves a half-written directory at ``--out``. Stops and failed calls come from
the real OpenAI-compatible server in ``tests/fakejudge``; the rest uses the heuristic judge.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fqeval.engine import JudgmentStore
from tests.cli.conftest import CliResult, read_run
from tests.conftest import REPO_ROOT
from tests.fakejudge import FakeJudgeServer, FaultPlan

DEMO = REPO_ROOT / "data" / "demo" / "demo.csv"
Cli = Callable[..., CliResult]
EXE = [sys.executable, "-c", "from fqeval.cli import main; main()"]


@pytest.fixture(autouse=True)
def _placeholder_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fqeval-lifecycle-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def tree(path: Path) -> dict[str, str]:
    """Every file under ``path`` (relative name -> sha256), directories as ``name/``."""
    if not path.exists():
        return {}
    out = {}
    for entry in sorted(path.rglob("*")):
        name = str(entry.relative_to(path))
        out[name + "/" if entry.is_dir() else name] = (
            "" if entry.is_dir() else hashlib.sha256(entry.read_bytes()).hexdigest()
        )
    return out


def one_error_line(res: CliResult, code: int, needle: str = "") -> str:
    lines = [line for line in res.err.splitlines() if line.strip()]
    assert res.code == code, res.err
    assert len(lines) == 1, res.err
    assert "Traceback" not in res.err and needle in lines[0], lines[0]
    return lines[0]


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name)


def fake_args(server: FakeJudgeServer, *extra: object) -> list[object]:
    return ["--judge", "openai:fake-judge", "--base-url", server.base_url, "-q", *extra]


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete pairwise run (md and html reports) with its store, made once and copied."""
    from fqeval.cli._app import run_app

    base = tmp_path_factory.mktemp("earlier")
    code = run_app(
        [
            "run",
            "pairwise",
            "--data",
            str(DEMO),
            "--reference",
            "final_fq",
            "--judge",
            "heuristic",
            "--out",
            str(base / "run"),
            "--store",
            str(base / "store.sqlite"),
            "-q",
            "--bootstrap",
            "50",
            "--format",
            "md,html",
        ]
    )
    assert code == 0
    return base


def _bad_prices(tmp: Path) -> Path:
    path = tmp / "bad-prices.yaml"
    path.write_text("models:\n  fake-judge: {input: -1}\n", encoding="utf-8")
    return path


#: (mode, extra options, text the one error line must contain); ``{tmp}`` is the test's tmp dir
FAILURES = [
    ("pairwise", ["--reference", "nosuch"], "--reference"),
    ("pairwise", ["--judge", "nope"], "--judge"),
    ("pairwise", ["--judge", "heuristic", "--judge", "heuristic"], "--judge"),
    ("nway", ["--permutations", "abc"], "--permutations"),
    ("pairwise", ["--bootstrap", "0"], "at least 1"),
    ("pairwise", ["--bootstrap", "abc"], "--bootstrap"),
    ("pairwise", ["--prices", "{tmp}/nowhere.yaml"], "--prices"),
    ("pairwise", ["--prices", "BAD"], "bad-prices.yaml"),
    ("pairwise", ["--format", "pdf"], "--format"),
    ("pairwise", ["--request-timeout", "0"], "--request-timeout"),
    ("pairwise", ["--request-timeout", "-5"], "--request-timeout"),
    ("pairwise", ["--request-timeout", "nan"], "--request-timeout"),
    ("pairwise", ["--rpm", "-5"], "--rpm"),
    ("pairwise", ["--rpm", "0"], "--rpm"),
    ("pairwise", ["--tpm", "-5"], "--tpm"),
    ("pairwise", ["--max-cost", "-1"], "--max-cost"),
    ("pairwise", ["--concurrency", "0"], "--concurrency"),
    ("pairwise", ["--data", "{tmp}/nowhere.csv"], "nowhere.csv"),
]
FAILURE_IDS = [f"{mode}{''.join(args).replace('{tmp}/', ' ')}" for mode, args, _ in FAILURES]


def _expand(args: list[str], tmp: Path) -> list[str]:
    return [str(_bad_prices(tmp)) if a == "BAD" else a.replace("{tmp}", str(tmp)) for a in args]


@pytest.mark.parametrize(("mode", "args", "needle"), FAILURES, ids=FAILURE_IDS)
def test_a_failing_command_leaves_an_earlier_run_byte_identical(
    cli: Cli, tmp_path: Path, earlier_run: Path, mode: str, args: list[str], needle: str
) -> None:
    shutil.copytree(earlier_run, tmp_path / "w")
    work = tmp_path / "w"
    before, store_before = tree(work / "run"), tree(work)
    assert {"judgments.jsonl", "summary.json", "manifest.json", "report.md"} <= set(before)
    extra = _expand(args, tmp_path)
    data = [] if "--data" in extra else ["--data", DEMO]
    res = cli(
        "run", mode, *data, "--out", work / "run", "--store", work / "store.sqlite", "-q", *extra
    )
    one_error_line(res, 2, needle)
    assert tree(work / "run") == before
    assert tree(work) == store_before  # the store too, and nothing beside the run directory


@pytest.mark.parametrize(("mode", "args", "needle"), FAILURES, ids=FAILURE_IDS)
def test_a_failing_command_creates_nothing(
    cli: Cli, tmp_path: Path, mode: str, args: list[str], needle: str
) -> None:
    extra = _expand(args, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    data = [] if "--data" in extra else ["--data", DEMO]
    out, store = tmp_path / "new" / "run", tmp_path / "new-store" / "s.sqlite"
    res = cli("run", mode, *data, "--out", out, "--store", store, "-q", *extra)
    one_error_line(res, 2, needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_sanity_with_a_bad_judge_changes_nothing(
    cli: Cli, tmp_path: Path, earlier_run: Path
) -> None:
    shutil.copytree(earlier_run, tmp_path / "w")
    work = tmp_path / "w"
    before = tree(work)
    for out in (work / "run", work / "fresh"):
        res = cli("sanity", "--data", DEMO, "--judge", "nope", "--out", out, "--store",
                  work / "store.sqlite", "-q")  # fmt: skip
        one_error_line(res, 2, "--judge")
        res = cli("sanity", "--data", DEMO, "--request-timeout", "-1", "--out", out, "-q")
        one_error_line(res, 2, "--request-timeout")
    assert tree(work) == before


def test_out_naming_a_file_or_a_foreign_directory_is_exit_2(cli: Cli, tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me\n", encoding="utf-8")
    base = ["run", "nway", "--data", DEMO, "--store", tmp_path / "s.sqlite", "-q"]
    one_error_line(cli(*base, "--out", a_file), 2, "--out")
    one_error_line(cli(*base, "--out", a_file / "run"), 2, "--out")
    # a run replaces its directory whole: one holding anything else is refused
    one_error_line(cli(*base, "--out", tmp_path), 2, "notes.txt")
    assert a_file.read_text(encoding="utf-8") == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_complete_run_replaces_the_earlier_one_whole(
    cli: Cli, tmp_path: Path, earlier_run: Path
) -> None:
    shutil.copytree(earlier_run, tmp_path / "w")
    out = tmp_path / "w" / "run"
    assert (out / "report.html").exists()
    res = cli("run", "nway", "--data", DEMO, "--out", out, "--store", tmp_path / "s.sqlite",
              "-q", "--bootstrap", "20")  # fmt: skip
    assert res.code == 0, res.err
    summary, records, manifest = read_run(out)
    assert summary["mode"] == "nway" and len(records) == 60
    assert manifest["run"]["status"] == "complete" and manifest["run"]["stop_reason"] is None
    assert summary["run"]["status"] == "complete"
    assert not (out / "report.html").exists()  # nothing stale from the pairwise run
    assert "Partial run" not in (out / "report.md").read_text(encoding="utf-8")
    assert leftovers(out.parent) == []


def assert_partial(out: Path, reason: str) -> tuple[dict, list[dict], dict]:
    summary, records, manifest = read_run(out)
    for block in (manifest["run"], summary["run"]):
        assert block["status"] == "stopped"
        assert reason in block["stop_reason"]
    assert summary["run"]["done"] == len(records)
    report = (out / "report.md").read_text(encoding="utf-8").splitlines()
    banner = next(line for line in report[:4] if line.startswith("Partial run: stopped ("))
    total = summary["run"]["total"]
    assert f"{len(records)} of {total} judgments finished." in banner
    assert leftovers(out.parent) == []
    return summary, records, manifest


def test_max_cost_stop_writes_a_partial_run_then_a_rerun_completes_it(
    cli: Cli, tmp_path: Path, earlier_run: Path
) -> None:
    shutil.copytree(earlier_run, tmp_path / "w")
    out, store = tmp_path / "w" / "run", tmp_path / "s.sqlite"
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  fake-judge: {input: 1000.0, output: 2000.0}\n", encoding="utf-8")
    with FakeJudgeServer(policy="hash") as server:
        base = ["run", "nway", "--data", DEMO, "--store", store, "--out", out,
                "--prices", prices, "--concurrency", "2", "--bootstrap", "20"]  # fmt: skip
        res = cli(*base, *fake_args(server, "--max-cost", "1"))
        one_error_line(res, 1, "--max-cost")
        summary, records, _ = assert_partial(out, "--max-cost")
        assert 0 < len(records) < 60 and all(r["valid"] for r in records)
        assert summary["mode"] == "nway"  # the new run's summary, not the earlier pairwise one
        assert not (out / "report.html").exists()
        # the rerun takes what is stored and asks for the rest only
        server.reset_stats()
        res = cli(*base, *fake_args(server))
        assert res.code == 0, res.err
        assert server.stats()["requests"] == 60 - len(records)
    summary, records, manifest = read_run(out)
    assert len(records) == 60 and manifest["run"]["status"] == "complete"
    assert "Partial run" not in (out / "report.md").read_text(encoding="utf-8")


def test_breaker_stop_writes_a_partial_run(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    with FakeJudgeServer(policy="hash", faults=FaultPlan(fail_all_status=500)) as server:
        res = cli("run", "nway", "--data", DEMO, "--store", tmp_path / "s.sqlite", "--out", out,
                  *fake_args(server, "--max-retries", "0", "--concurrency", "2",
                             "--format", "md,html"))  # fmt: skip
        one_error_line(res, 1, "in a row")
        requests = server.stats()["requests"]
    _, records, _ = assert_partial(out, "in a row")
    # 25 failures in a row trip the breaker; the calls already in flight still finish
    assert 25 <= len(records) < 60 and requests == len(records)
    assert all(r["invalid_reason"].startswith("call failed:") for r in records)
    assert "Partial run: stopped (" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("rate", [1.0, 0.5])
def test_failed_calls_exit_1_and_are_asked_again(cli: Cli, tmp_path: Path, rate: float) -> None:
    out, store = tmp_path / "run", tmp_path / "s.sqlite"
    faults = FaultPlan(rate_500=rate, max_faults_per_key=1000, seed=7)
    with FakeJudgeServer(policy="hash", faults=faults) as server:
        args = ["run", "nway", "--data", DEMO, "--store", store, "--out", out, "--limit", "2",
                *fake_args(server, "--max-retries", "0")]  # fmt: skip
        res = cli(*args)
        _, records, manifest = read_run(out)
        failed = [r for r in records if (r["invalid_reason"] or "").startswith("call failed:")]
        assert 0 < len(failed) == manifest["run"]["failures"]
        if rate == 1.0:
            assert len(failed) == len(records) == 10
        line = one_error_line(res, 1, f"{len(failed)} judgment(s) failed to get a reply")
        assert "rerun" in line
        assert manifest["run"]["status"] == "complete"  # every task was tried
        with JudgmentStore(store) as stored:
            assert len(stored) == 10 - len(failed)  # failed calls are not stored
        server.faults = FaultPlan()
        server.reset_stats()
        assert cli(*args).code == 0
        assert server.stats()["requests"] == len(failed)


def _count_lines(path: Path) -> int:
    try:
        return sum(1 for _ in path.open("rb"))
    except FileNotFoundError:
        return 0


def _partial_jsonl(parent: Path, name: str) -> Path | None:
    found = sorted(parent.glob(f".{name}.partial-*/judgments.jsonl"))
    return found[0] if found else None


def _start_slow_run(server: FakeJudgeServer, out: Path, store: Path) -> subprocess.Popen[bytes]:
    cmd = [*EXE, "run", "nway", "--data", str(DEMO), "--out", str(out), "--store", str(store),
           "--bootstrap", "20", "--concurrency", "2",
           *[str(a) for a in fake_args(server)]]  # fmt: skip
    return subprocess.Popen(
        cmd, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _wait_for_lines(proc: subprocess.Popen[bytes], parent: Path, name: str, n: int) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        jsonl = _partial_jsonl(parent, name)
        if jsonl is not None and _count_lines(jsonl) >= n:
            return jsonl
        time.sleep(0.02)
    raise AssertionError("the run wrote no judgments in time")


def test_sigkill_mid_run_leaves_the_earlier_run_untouched(
    cli: Cli, tmp_path: Path, earlier_run: Path
) -> None:
    shutil.copytree(earlier_run, tmp_path / "w")
    out, store = tmp_path / "w" / "run", tmp_path / "killed.sqlite"
    before = tree(out)
    with FakeJudgeServer(policy="hash", latency_s=0.05) as server:
        proc = _start_slow_run(server, out, store)
        jsonl = _wait_for_lines(proc, out.parent, out.name, 6)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert tree(out) == before  # the earlier run, complete and byte-identical
        # judgments.jsonl is line-buffered: it is never behind the store
        with JudgmentStore(store) as stored:
            assert _count_lines(jsonl) >= len(stored) - 1 >= 5
        assert len(leftovers(out.parent)) == 1
        # the next run into --out clears what the dead one left and resumes from the store
        server.latency_s = 0.0
        res = cli("run", "nway", "--data", DEMO, "--out", out, "--store", store,
                  "--bootstrap", "20", *fake_args(server))  # fmt: skip
        assert res.code == 0, res.err
    _, records, manifest = read_run(out)
    assert len(records) == 60 and manifest["run"]["status"] == "complete"
    assert sum(r["cached"] for r in records) >= 5
    assert leftovers(out.parent) == []


def test_ctrl_c_writes_a_partial_run_and_exits_130(tmp_path: Path) -> None:
    out, store = tmp_path / "run", tmp_path / "s.sqlite"
    with FakeJudgeServer(policy="hash", latency_s=0.05) as server:
        proc = _start_slow_run(server, out, store)
        _wait_for_lines(proc, out.parent, out.name, 4)
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert proc.returncode == 130, err.decode()
    assert len(lines) == 1 and "Traceback" not in err.decode()
    _, records, _ = assert_partial(out, "interrupted (Ctrl-C)")
    with JudgmentStore(store) as stored:
        count = len(stored)
    assert lines[0] == (
        f"interrupted: {count} judgments are stored in {store}; rerun the same command to resume"
    )
    assert count == len(records) and json.loads((out / "summary.json").read_text())["mode"]


def test_publishing_without_an_atomic_swap_still_replaces_the_run_whole(
    cli: Cli, tmp_path: Path, earlier_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fqeval._rundir

    monkeypatch.setattr(fqeval._rundir, "_exchange", lambda a, b: False)
    shutil.copytree(earlier_run, tmp_path / "w")
    out = tmp_path / "w" / "run"
    res = cli("run", "nway", "--data", DEMO, "--out", out, "--store", tmp_path / "s.sqlite",
              "-q", "--bootstrap", "20")  # fmt: skip
    assert res.code == 0, res.err
    summary, _, _ = read_run(out)
    assert summary["mode"] == "nway" and not (out / "report.html").exists()
    assert leftovers(out.parent) == []


def test_leftovers_of_dead_runs_are_cleared_and_a_run_moved_aside_is_put_back(
    tmp_path: Path, earlier_run: Path
) -> None:
    from fqeval._rundir import make_partial_dir

    dead_pid = subprocess.Popen(["true"])  # a pid that no longer runs
    dead_pid.wait()
    parent = tmp_path / "w"
    parent.mkdir()
    out = parent / "run"
    shutil.copytree(earlier_run / "run", parent / f".run.old-{dead_pid.pid}-0000")
    (parent / f".run.partial-{dead_pid.pid}-0000").mkdir()
    (parent / f".run.partial-{os.getpid()}-0000").mkdir()  # a live run: kept
    (parent / f".other.partial-{dead_pid.pid}-0000").mkdir()  # another run's: kept
    before = tree(earlier_run / "run")
    partial = make_partial_dir(out)
    assert tree(out) == before  # the killed swap's old run is back at --out
    assert sorted(p.name for p in parent.iterdir()) == sorted(
        [
            "run",
            partial.name,
            f".run.partial-{os.getpid()}-0000",
            f".other.partial-{dead_pid.pid}-0000",
        ]
    )
