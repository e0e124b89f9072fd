"""``fqeval agreement`` wording: runs of different modes, "1 judge", p-values, --help."""

from __future__ import annotations

from pathlib import Path

import pytest

from fqeval.cli._agreement import format_p_value
from fqeval.cli._app import run_app
from tests.reports._runs import nway_records, score_records, write_run


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_app([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_runs_of_different_modes_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    score = write_run(tmp_path / "scored", score_records(), "score")
    nway = write_run(tmp_path / "ranked", nway_records(("j2",)), "nway", ("j2",))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code, out, err = _cli(capsys, "agreement", score, nway)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "error: cannot compare a 'score' run (scored) with a 'nway' run (ranked): agreement "
        "needs runs of one mode"
    ]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    code, _, err = _cli(capsys, "agreement", score, nway, "--json")
    assert code == 2 and "cannot compare a 'score' run" in err


def test_one_judge_and_human_labels_is_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    single = write_run(tmp_path / "single", score_records(), "score")
    human = tmp_path / "human.csv"
    human.write_text(
        "question_id,criterion,system,score\n"
        + "".join(f"q{q},Exploratory Scope,final_fq,{5 - q % 3}\n" for q in range(6)),
        encoding="utf-8",
    )
    code, out, err = _cli(capsys, "agreement", single, "--human", human)
    assert code == 0, err
    assert "# Judge agreement: score run, 1 judge\n" in out
    assert "1 judges" not in out


def test_p_values_print_with_three_significant_digits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    panel = write_run(tmp_path / "panel", score_records(judges=("j1", "j2")), "score", ("j1", "j2"))
    code, out, err = _cli(capsys, "agreement", panel)
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| j1 vs j2"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "< 1e-16"  # perfect agreement: the computed p underflows to 0
    assert "&lt;" not in out


@pytest.mark.parametrize(
    ("p", "shown"),
    [
        (0.0, "< 1e-16"),
        (1e-300, "< 1e-16"),
        (1.1626557055716162e-19, "< 1e-16"),
        (2.345e-9, "2.35e-09"),
        (0.000123456, "1.23e-04"),
        (0.0012345, "0.00123"),
        (0.0499, "0.0499"),
        (0.5, "0.500"),
        (0.98765, "0.988"),
        (1.0, "1.000"),
        (1, "1.000"),
        (0, "< 1e-16"),
        (None, "n/a"),
        (float("nan"), "n/a"),
    ],
)
def test_format_p_value(p: float | None, shown: str) -> None:
    assert format_p_value(p) == shown


def test_help_metavars(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["agreement"], ["data", "validate"], ["data", "stats"], ["metrics", "rank"]):
        code, out, _ = _cli(capsys, *command, "--help")
        assert code == 0
        usage = out.splitlines()[0]
        assert "...}" not in usage and "DIR...}" not in usage, usage
        assert "<list[str]>" not in out, out
    code, out, _ = _cli(capsys, "agreement", "--help")
    assert "DIR" in out.splitlines()[0]
