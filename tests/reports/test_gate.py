"""The paired gate on real run directories (judgments.jsonl + summary.json), in the library
and through ``fqeval check``: pairing, its fallbacks, missing systems, the CLI contract."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from fqeval.analysis import judgments_frame, summarize
from fqeval.cli._app import run_app
from fqeval.reports._check import GateOptions, check_runs, load_gate_run
from tests.analysis._records import score
from tests.reports._runs import nway_records, write_run

C1 = "Exploratory Scope"


def _score_run(
    path: Path, values: dict[str, Sequence[int]], qids: Sequence[str] | None = None
) -> Path:
    """A score run over one criterion: ``values[system][k]`` is QA pair k's score."""
    records: list[dict[str, Any]] = []
    for system, scores in values.items():
        for k, value in enumerate(scores):
            qid = qids[k] if qids else f"q{k}"
            records.append(score(qid, C1, system, value))
    path.mkdir(parents=True)
    with (path / "judgments.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    summary = summarize(
        judgments_frame(records), mode="score", judges=["j1"], systems=list(values), criteria=[C1]
    )
    (path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return path


BASE = [5, 2] * 4  # 8 QA pairs, mean 3.5, widely spread
WORSE = [4, 1] * 4  # every QA pair one point lower


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_app(["check", *(str(a) for a in args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_paired_test_catches_a_drop_the_unpaired_test_misses(tmp_path: Path) -> None:
    base = load_gate_run(_score_run(tmp_path / "base", {"a": BASE}))
    cur = load_gate_run(_score_run(tmp_path / "cur", {"a": WORSE}))
    paired = check_runs(base, cur)
    row = next(r for r in paired.rows if r.criterion == C1)
    # Every one of the 8 QA pairs dropped by 1: only the all-plus pattern of the 2^8 reaches
    # the observed sum, p = 1/256; Holm over the 2 cells (criterion, Overall): 2/256.
    assert row.test == "paired" and row.n == 8 and row.drop == pytest.approx(1.0)
    assert row.p_raw == pytest.approx(1 / 256) and row.p_adjusted == pytest.approx(2 / 256)
    assert not paired.passed and paired.family == "2 cells, Holm at alpha 0.05"
    assert "all 256 sign patterns" in paired.method
    # The two summaries' intervals overlap widely: the unpaired test cannot see it.
    unpaired = check_runs(base, cur, GateOptions(paired=False))
    assert unpaired.passed and all(r.test == "unpaired" and r.p_raw > 0.05 for r in unpaired.rows)
    # The margin: a drop of exactly 1 is not significantly larger than 1.
    assert check_runs(base, cur, GateOptions(max_drop=1.0)).passed
    assert not check_runs(base, cur, GateOptions(max_drop=0.5)).passed


def test_identical_runs_pass_with_the_summary_figures(tmp_path: Path) -> None:
    run = write_run(tmp_path / "panel", nway_records(("j1", "j2")), "nway", ("j1", "j2"))
    gate_run = load_gate_run(run)
    result = check_runs(gate_run, gate_run)
    assert result.passed and result.paired and not result.notes
    summary = gate_run.summary
    for row in result.rows:
        block = (
            summary["overall"] if row.criterion == "Overall" else summary["criteria"][row.criterion]
        )
        assert row.baseline == pytest.approx(block["systems"][row.system]["selection_rate"])
        assert row.drop == 0.0 and row.p_raw == 1.0 and row.decision == "pass"


def test_a_missing_system_fails_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _score_run(tmp_path / "base", {"a": BASE, "b": BASE})
    cur = _score_run(tmp_path / "cur", {"a": BASE})
    code, out, _ = _cli(capsys, base, cur)
    assert code == 1 and "system 'b' is not in the current run" in out
    code, out, _ = _cli(capsys, base, cur, "--allow-missing")
    assert code == 0 and "allowed by --allow-missing" in out
    # The old gate let it through: the same pair passes only when the system is not asked for.
    code, _, _ = _cli(capsys, base, cur, "--systems", "a")
    assert code == 0


def test_pairing_needs_judgments_that_match_the_summary(tmp_path: Path) -> None:
    base_dir = _score_run(tmp_path / "base", {"a": BASE})
    cur_dir = _score_run(tmp_path / "cur", {"a": WORSE})
    # A summary file with its judgments beside it pairs; a lone summary file does not.
    assert check_runs(load_gate_run(base_dir / "summary.json"), load_gate_run(cur_dir)).paired
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(cur_dir / "summary.json", lone / "summary.json")
    result = check_runs(load_gate_run(base_dir), load_gate_run(lone / "summary.json"))
    assert not result.paired and "current run has no judgments" in result.notes[0]
    assert str(lone / "judgments.jsonl") in result.notes[0]
    # Judgments that are not the summary's (edited or copied from elsewhere): unpaired.
    edited = json.loads((cur_dir / "summary.json").read_text())
    edited["criteria"][C1]["systems"]["a"]["mean_score"] = 3.0
    (cur_dir / "summary.json").write_text(json.dumps(edited))
    result = check_runs(load_gate_run(base_dir), load_gate_run(cur_dir))
    assert not result.paired and "do not reproduce summary.json" in result.notes[0]


def test_partly_shared_and_disjoint_items(tmp_path: Path) -> None:
    base = load_gate_run(_score_run(tmp_path / "base", {"a": BASE}))
    part = load_gate_run(_score_run(tmp_path / "part", {"a": WORSE[:6]}))
    result = check_runs(base, part)
    assert result.paired and "paired on the 6 QA pairs" in result.notes[0]
    row = next(r for r in result.rows if r.criterion == C1)
    assert row.n == 6 and row.baseline == pytest.approx(3.5) and row.p_raw == pytest.approx(1 / 64)
    other = [f"x{k}" for k in range(8)]  # independent samples: other QA pairs
    disjoint = load_gate_run(_score_run(tmp_path / "other", {"a": WORSE}, other))
    result = check_runs(base, disjoint)
    assert not result.paired and "share 0 QA pair" in result.notes[0]


def test_cli_forms_json_fields_and_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _score_run(tmp_path / "base", {"a": BASE})
    cur = _score_run(tmp_path / "cur", {"a": WORSE})
    code, out, _ = _cli(capsys, base, cur)
    assert code == 1
    assert "paired sign-flip permutation test over 8 shared QA pairs" in out
    assert "2 cells, Holm at alpha 0.05" in out and "FAIL" in out
    code, out, _ = _cli(capsys, "--baseline", base / "summary.json", "--current", cur / "summary.json", "--json", "--cells", "overall", "--correction", "bonferroni")  # fmt: skip
    data = json.loads(out)
    assert code == 1 and data["family"] == {
        "size": 1,
        "description": "1 cell, Bonferroni at alpha 0.05",
    }
    cell = data["rows"][0]
    for key in ("baseline", "current", "drop", "ci", "p_raw", "p_adjusted", "mde", "decision"):
        assert key in cell, key
    assert (
        cell["criterion"] == "Overall" and cell["decision"] == "fail" and cell["test"] == "paired"
    )
    assert _cli(capsys, base, cur, "--unpaired")[0] == 0
    for args, needle in (
        ((base, tmp_path / "nope"), "nope"),
        ((base, cur, "--baseline", base), "not both"),
        ((base,), "exactly two runs"),
        ((), "needs a baseline and a current run"),
        ((base, cur, "--correction", "sidak"), "--correction"),
        ((base, cur, "--criteria", "Nope"), "--criteria"),
    ):
        code, _, err = _cli(capsys, *args)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, (args, err)
        assert "Traceback" not in err


def test_every_mode_pairs_with_its_own_summary() -> None:
    """The unit tables the gate builds from judgments reproduce each mode's summary figures
    (pairwise and rank, one judge and a panel), so a run compared with itself pairs and passes."""
    from fqeval.reports._check import GateRun, gate_units
    from tests.analysis._records import pairwise, rank

    picks = ["system", "reference", None, "system", "reference", "reference"]
    pair_records = [
        pairwise(f"q{q}", crit, system, order, picks[(q + k) % 6], judge=judge)
        for q in range(6)
        for crit in (C1, "Creative Leap")
        for k, system in enumerate(("a", "b"))
        for judge in ("j1", "j2")
        for order in ("ab", "ba")
    ]
    orders = [["a", "b", "c"], ["c", "a", "b"], None, ["b", "c", "a"]]
    rank_records = [
        rank(f"q{q}", C1, ["a", "b", "c"], orders[(q + j) % 4], judge=f"j{j}")
        for q in range(6)
        for j in (1, 2)
    ]
    for mode, records, judges in (
        ("pairwise", pair_records, ["j1"]),
        ("pairwise", pair_records, ["j1", "j2"]),
        ("rank", rank_records, ["j1", "j2"]),
    ):
        frame = judgments_frame(records)
        summary = summarize(frame, mode=mode, judges=judges, systems=[], criteria=[])
        run = GateRun(summary, gate_units(summary, frame))
        result = check_runs(run, run)
        assert result.paired and result.passed and not result.notes, (mode, judges)
        assert all(r.drop == 0.0 for r in result.rows)
