"""``fqeval report A B``: every section of a merged report covers every run, under its name;
charts, p-values and provenance read as users expect."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fqeval.cli._app import run_app
from fqeval.reports import render_html_report, render_markdown_report
from fqeval.reports._format import format_p_value
from tests.conftest import REPO_ROOT
from tests.reports._runs import nway_records, score_records, summary_of, write_run

DEMO = REPO_ROOT / "data" / "demo" / "demo.csv"


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_app([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _sections(markdown: str) -> dict[str, str]:
    """``## title`` -> the section's text (up to the next ``## ``)."""
    parts = re.split(r"^## ", markdown, flags=re.M)[1:]
    return {p.split("\n", 1)[0]: p.split("\n", 1)[1] for p in parts}


def _stop(run: Path, reason: str = "reached --max-cost $1.00") -> None:
    """Mark a run directory's summary as a stopped (partial) run."""
    path = run / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary["run"] = {"status": "stopped", "stop_reason": reason, "done": 7, "total": 44}
    path.write_text(json.dumps(summary), encoding="utf-8")


@pytest.fixture
def two_score_runs(tmp_path: Path) -> tuple[Path, Path]:
    a = write_run(tmp_path / "run-a", score_records(), "score")
    b = write_run(tmp_path / "run-b", score_records(shift=1, judges=("j2",)), "score", ("j2",))
    return a, b


def test_every_section_covers_every_run(
    two_score_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = two_score_runs
    code, _, err = _cli(capsys, "report", a, b, "--out", tmp_path / "m", "--format", "md,html")
    assert code == 0, err
    text = (tmp_path / "m" / "report.md").read_text(encoding="utf-8")
    intro = text.split("\n## ", 1)[0]
    assert "Merged report of 2 runs: run-a (score), run-b (score)." in intro
    assert "run-a (score): Judges: j1." in intro and "run-b (score): Judges: j2." in intro
    sections = _sections(text)
    shared = {t for t in sections if t.startswith(("Leaderboard", "Where the", "Judge agreement"))}
    per_run = [t for t in sections if t not in shared]
    for title in ("Score distribution", "Bias diagnostics", "Invalid judgments", "By complexity",
                  "By category", "Examples", "Provenance"):  # fmt: skip
        assert title in per_run, title
    for title in per_run:
        headings = re.findall(r"^### (.+)$", sections[title], flags=re.M)
        names = [h.split(":")[0] for h in headings]
        assert names == ["run-a", "run-b"], (title, headings)
    # the second run's own numbers are there: its score distribution and its categories
    worse = summary_of(score_records(shift=1, judges=("j2",)), "score", ("j2",))
    dist = worse["overall"]["systems"]["final_fq"]["distribution"]
    row = "| final_fq | " + " | ".join(str(dist.get(str(k), 0)) for k in range(1, 6)) + " |"
    assert row in sections["Score distribution"].split("### run-b", 1)[1]
    by_category = sections["By category"]
    assert by_category.count("| Learning & Education |") == 2  # '&' as is, once per run
    assert "&amp;" not in by_category
    provenance = sections["Provenance"]
    assert provenance.count("| fqeval_version | 0.1.0 |") == 2
    html = (tmp_path / "m" / "report.html").read_text(encoding="utf-8")
    assert html.count("<h3>run-a") == len(per_run) and html.count("<h3>run-b") == len(per_run)


def test_a_one_run_report_has_no_run_headings(two_score_runs: tuple[Path, Path]) -> None:
    summary = json.loads((two_score_runs[0] / "summary.json").read_text(encoding="utf-8"))
    text = render_markdown_report(summary, None)
    assert "### " not in text and "Merged report" not in text
    assert "## By complexity: overall mean score (1-5)" in text
    assert "## Score distribution" in text


def test_sections_a_run_lacks_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    score = write_run(tmp_path / "scores", score_records(), "score")
    votes = write_run(tmp_path / "votes", nway_records(("j1", "j2")), "nway", ("j1", "j2"))
    (score / "manifest.json").unlink()
    code, _, err = _cli(capsys, "report", score, votes, "--out", tmp_path / "m", "--format", "md")
    assert code == 0, err
    sections = _sections((tmp_path / "m" / "report.md").read_text(encoding="utf-8"))
    assert "### votes\n\nNot applicable to an n-way run." in sections["Score distribution"]
    assert "### scores\n\nOne judge (j1): no panel." in sections["Panel"]
    assert "### scores\n\nNo manifest.json in this run." in sections["Provenance"]
    assert "## Leaderboard: selection rate · votes" in "\n## ".join(["", *sections])


def test_partial_run_is_flagged_per_run(
    two_score_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = two_score_runs
    _stop(b)
    code, _, err = _cli(capsys, "report", a, b, "--out", tmp_path / "m", "--format", "md,html")
    assert code == 0, err
    text = (tmp_path / "m" / "report.md").read_text(encoding="utf-8")
    intro = text.split("\n## ", 1)[0]
    banner = "Partial run (run-b): stopped (reached --max-cost $1.00). 7 of 44 judgments finished."
    assert banner in intro and "Partial run (run-a)" not in intro
    assert "### run-b (partial run)" in text and "### run-a (partial run)" not in text
    html = (tmp_path / "m" / "report.html").read_text(encoding="utf-8")
    assert banner in html
    # a one-run report keeps its own first-line banner
    _stop(a, "stopped: 25 failed calls in a row")
    summary = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    lines = render_markdown_report(summary, None).splitlines()
    assert (
        lines[2] == "Partial run: stopped (25 failed calls in a row). 7 of 44 judgments finished."
    )


def _axis_ticks(svg: str) -> list[str]:
    return re.findall(r'class="ax" text-anchor="end">([^<]+)</text>', svg)


def _figures(html: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", html, flags=re.S)


def test_score_axis_starts_at_one() -> None:
    html = render_html_report(summary_of(score_records(), "score"), None)
    chart = next(s for s in _figures(html) if 'aria-label="leaderboard chart"' in s)
    assert _axis_ticks(chart) == ["1", "2", "3", "4", "5"]


def test_rank_chart_has_whole_ticks_and_says_lower_is_better() -> None:
    summary = summary_of(score_records(), "score")
    summary["metric"], summary["higher_is_better"] = "mean_rank", False
    for block in [summary["overall"], *summary["criteria"].values()]:
        for k, entry in enumerate(block["systems"].values()):
            entry["mean_rank"] = 1.1 + 0.9 * k
            entry["ci"] = [1.0 + 0.9 * k, 1.3 + 0.9 * k]
    html = render_html_report(summary, None)
    chart = next(s for s in _figures(html) if 'aria-label="leaderboard chart"' in s)
    ticks = _axis_ticks(chart)
    assert ticks == ["1", "2", "3", "4"], ticks
    assert "lower is better" in chart
    assert "lower is better" in html.split(chart, 1)[1].split("</figcaption>", 1)[0]


def test_position_chart_has_a_percent_axis() -> None:
    html = render_html_report(summary_of(nway_records(), "nway"), None)
    chart = next(s for s in _figures(html) if 'aria-label="position bias"' in s)
    ticks = _axis_ticks(chart)
    assert ticks[0] == "0%" and len(ticks) >= 3 and all(t.endswith("%") for t in ticks)
    values = [int(t[:-1]) for t in ticks]
    assert values == sorted(values) and len(set(values)) == len(values)


def test_html_tables_scroll_in_their_box_and_charts_scale() -> None:
    base = summary_of(score_records(), "score")
    html = render_html_report(
        base, None, extra_runs=[("b", summary_of(score_records(shift=1), "score"))], label="a"
    )
    assert html.count("<table>") == html.count('<div class="tw"><table>') > 0
    assert ".tw{overflow-x:auto" in html and "figure svg{display:block;max-width:100%" in html
    for svg in _figures(html):
        assert re.match(r'<svg [^>]*viewBox="0 0 \d+ \d+"', svg), svg[:120]
    chart = next(s for s in _figures(html) if 'aria-label="leaderboard chart"' in s)
    width = int(re.search(r'width="(\d+)"', chart).group(1))  # type: ignore[union-attr]
    assert width <= 1200, "12 groups wrap onto two rows instead of one 1400 px wide row"
    assert '<g class="legend">' in chart


@pytest.mark.parametrize(
    ("p", "shown"),
    [(0.0, "< 1e-16"), (1.0, "1.000"), (0.0429, "0.0429"), (4.94e-06, "4.94e-06"), (None, "n/a")],
)
def test_report_p_values_use_one_rule(p: float | None, shown: str) -> None:
    summary = summary_of(nway_records(), "nway")
    summary["length_bias"]["pearson"]["p"] = p
    summary["length_bias"]["spearman"]["p"] = p
    for per_k in summary["position_bias"]["by_judge"].values():
        for entry in per_k.values():
            entry["p"] = p
    md = render_markdown_report(summary, None)
    html = render_html_report(summary, None)
    escaped = shown.replace("<", "&lt;")
    assert f"(p {escaped})" in md and f"(p {escaped})" in html
    assert f"| {escaped} |" in md  # the position table's p column
    assert f"slots, p {escaped})<" in html  # the position chart's panel title
    assert format_p_value(p) == shown


def test_cli_takes_format_p_value_from_the_reports() -> None:
    from fqeval.cli import _agreement

    assert _agreement.format_p_value is format_p_value


def test_provenance_is_a_readable_table(two_score_runs: tuple[Path, Path]) -> None:
    run = two_score_runs[0]
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    manifest = {
        "command": ["fqeval", "run", "score"],
        "reference": None,
        "logprobs": False,
        "engine": {"rpm": None, "use_cache": True, "request_timeout": 60.0},
        "data": {"source": "demo.csv", "systems": ["final_fq", "sys_a"]},
        "judges": [{"spec": "heuristic", "model": "heuristic-v1"}],
    }
    section = _sections(render_markdown_report(summary, manifest))["Provenance"]
    for row in (
        "| command | fqeval run score |",
        "| reference | — |",
        "| logprobs | no |",
        "| engine.rpm | — |",
        "| engine.use_cache | yes |",
        "| engine.request_timeout | 60.0 |",
        "| data.systems | final_fq, sys_a |",
        "| judges.spec | heuristic |",
    ):
        assert row in section, row
    assert "None" not in section and "False" not in section and "{" not in section


def test_merged_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "s.sqlite"
    runs = []
    for name, extra in (("first", []), ("second", ["--seed", "7"])):
        out = tmp_path / name
        code, _, err = _cli(
            capsys, "run", "nway", "--data", DEMO, "--judge", "heuristic", "--out", out,
            "--store", store, "-q", "--format", "md", "--bootstrap", "20", *extra,
        )  # fmt: skip
        assert code == 0, err
        runs.append(out)
    code, _, err = _cli(capsys, "report", *runs, "--out", tmp_path / "m")
    assert code == 0, err
    text = (tmp_path / "m" / "report.md").read_text(encoding="utf-8")
    sections = _sections(text)
    header = next(line for line in text.splitlines() if line.startswith("| system |"))
    assert header.count("·") == 12  # 5 criteria and Overall, per run
    for title in ("Bias diagnostics", "Invalid judgments", "Examples", "Provenance"):
        assert "### first" in sections[title] and "### second" in sections[title], title
    assert "### first: overall selection rate" in sections["By complexity"]
    assert "### second: overall selection rate" in sections["By complexity"]
    assert "| seed | 7 |" in sections["Provenance"].split("### second", 1)[1]
