"""Which systems a run judges, and the options' help text.

Pairwise keeps its reference whatever ``--systems`` says (every system is compared with it);
data with nothing to compare (pairwise with the reference alone, n-way or rank with one
system) is refused with one line (exit 2) before anything is created or any call is made.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from fqeval.cli._app import run_app
from tests.cli.conftest import read_run
from tests.conftest import REPO_ROOT

DEMO = REPO_ROOT / "data" / "demo" / "demo.csv"


@pytest.fixture
def only_reference_csv(tmp_path: Path) -> Path:
    """The demo data with its benchmark column and no other system (like fq_eval.csv)."""
    with DEMO.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    path = tmp_path / "inputs" / "only_final_fq.csv"
    path.parent.mkdir()
    columns = [c for c in rows[0] if c not in ("sys_a", "sys_b")]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def refused(cli, tmp_path: Path, *args: object) -> str:
    """Run ``fqeval run ARGS --out OUT --store S``: exit 2, one stderr line, nothing created."""
    out, store = tmp_path / "out", tmp_path / "store.sqlite"
    before = sorted(p.name for p in tmp_path.iterdir())
    res = cli(*args, "--judge", "heuristic", "--out", out, "--store", store, "-q")
    assert res.code == 2, (res.code, res.err)
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.err
    assert not out.exists() and not store.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no hidden partial run either
    return lines[0]


# ------------------------------------------------------------------ pairwise keeps its reference


def test_pairwise_adds_the_reference_to_systems(cli, tmp_path: Path) -> None:
    out = tmp_path / "pw"
    res = cli(
        "run", "pairwise", "--data", DEMO, "--reference", "final_fq", "--systems", "sys_b",
        "--judge", "heuristic", "--out", out, "--store", tmp_path / "s.sqlite", "-q",
    )  # fmt: skip
    assert res.code == 0, res.err
    summary, records, _ = read_run(out)
    assert summary["systems"] == ["sys_b"] and summary["reference"] == "final_fq"
    assert {r["variant"] for r in records} == {"sys_b:ab", "sys_b:ba"}
    assert all({s["system"] for s in r["shown"]} == {"final_fq", "sys_b"} for r in records)
    # named explicitly, anywhere in the list, it is not added twice
    res = cli(
        "run", "pairwise", "--data", DEMO, "--systems", "sys_b,final_fq", "--judge", "heuristic",
        "--out", tmp_path / "pw2", "--store", tmp_path / "s.sqlite", "-q",
    )  # fmt: skip
    assert res.code == 0, res.err
    summary = read_run(tmp_path / "pw2")[0]
    assert summary["systems"] == ["sys_b"] and summary["reference"] == "final_fq"


def test_pairwise_reference_not_in_the_data_names_reference(cli, tmp_path: Path) -> None:
    line = refused(
        cli, tmp_path, "run", "pairwise", "--data", DEMO, "--reference", "nope",
        "--systems", "sys_a",
    )  # fmt: skip
    assert "--reference: 'nope' is not a system" in line


def test_other_modes_do_not_add_the_reference(cli, tmp_path: Path) -> None:
    res = cli(
        "run", "score", "--data", DEMO, "--systems", "sys_a", "--judge", "heuristic",
        "--out", tmp_path / "sc", "--store", tmp_path / "s.sqlite", "-q",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert read_run(tmp_path / "sc")[0]["systems"] == ["sys_a"]


def test_sample_csv_pairwise_with_systems_as_documented(
    cli, sample_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pw"
    res = cli(
        "run", "pairwise", "--data", sample_csv, "--reference", "final_fq",
        "--systems", "my_fq1,my_fq3", "--limit", "2", "--judge", "heuristic",
        "--out", out, "--store", tmp_path / "s.sqlite", "-q",
    )  # fmt: skip
    assert res.code == 0, res.err
    summary, records, _ = read_run(out)
    assert summary["systems"] == ["my_fq1", "my_fq3"] and summary["reference"] == "final_fq"
    assert len(records) == 2 * 5 * 2 * 2  # QA pairs x criteria x systems x orders


# ------------------------------------------------------------------ nothing to compare


def test_pairwise_with_the_reference_alone_is_refused(
    cli, only_reference_csv: Path, tmp_path: Path
) -> None:
    line = refused(cli, tmp_path, "run", "pairwise", "--data", only_reference_csv)
    assert "pairwise needs a system to compare with the reference 'final_fq'" in line
    line = refused(cli, tmp_path, "run", "pairwise", "--data", DEMO, "--systems", "final_fq")
    assert "no other system" in line


@pytest.mark.parametrize("mode", ["nway", "rank"])
def test_one_system_is_refused_by_nway_and_rank(
    cli, only_reference_csv: Path, tmp_path: Path, mode: str
) -> None:
    line = refused(cli, tmp_path, "run", mode, "--data", only_reference_csv)
    assert f"{mode} needs at least two systems to choose between" in line
    assert "final_fq" in line and "score mode" in line
    line = refused(cli, tmp_path, "run", mode, "--data", DEMO, "--systems", "sys_a")
    assert "only sys_a" in line
    # a dry run plans no calls for it either
    refused(cli, tmp_path, "run", mode, "--data", only_reference_csv, "--dry-run")


def test_score_of_one_system_still_runs(cli, only_reference_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "sc"
    res = cli(
        "run", "score", "--data", only_reference_csv, "--judge", "heuristic", "--out", out,
        "--store", tmp_path / "s.sqlite", "-q", "--bootstrap", "20",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert read_run(out)[0]["systems"] == ["final_fq"]


@pytest.mark.parametrize("mode", ["pairwise", "nway", "rank"])
def test_official_fq_eval_csv_has_nothing_to_compare(
    cli, official_csv: Path, tmp_path: Path, mode: str
) -> None:
    refused(cli, tmp_path, "run", mode, "--data", official_csv)


# ------------------------------------------------------------------ help text


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert run_app([*args, "--help"]) == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    "command",
    [("run", "nway"), ("run", "pairwise"), ("run", "score"), ("run", "rank"), ("sanity",)],
)
def test_help_names_values_not_python_types(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    text = _help(capsys, *command)
    for typed in ("<list[", "<str>", "<int", "<float>", "<path>"):
        assert typed not in text, (typed, text)
    assert "--judge SPEC" in text and "--base-url URL" in text


def test_every_sanity_option_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "sanity")
    assert "-q, --quiet No progress bar" in text
    for option in ("--api-key-env VAR Environment", "--concurrency N Judge calls"):
        assert option in text
    assert "--request-timeout SECONDS Seconds" in text


def test_permutations_help_says_k_is_capped(capsys: pytest.CaptureFixture[str]) -> None:
    for mode in ("nway", "rank"):
        text = _help(capsys, "run", mode)
        assert "capped at each item's number of distinct orders" in text


def test_benchmark_and_product_text_name_no_issue() -> None:
    numbered = re.compile(r"\bissues?\s*#?\s*\d", re.IGNORECASE)
    for folder in ("benchmarks", "fqeval"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                assert not numbered.search(line), f"{path}:{number}: {line.strip()}"
