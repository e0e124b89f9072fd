"""Markdown and HTML reports: content, escaping, self-containment, merged runs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from fqeval.reports import (
    render_html_report,
    render_markdown_report,
    write_html_report,
    write_markdown_report,
)
from tests.reports._runs import EVIL, MANIFEST, nway_records, score_records, summary_of


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_markdown_report_content() -> None:
    summary = summary_of(nway_records(("j1", "j2")), "nway", ("j1", "j2"))
    text = render_markdown_report(summary, MANIFEST)
    assert text.startswith("# fqeval report: nway")
    assert "## Leaderboard: selection rate" in text
    assert "| system | Exploratory Scope | Creative Leap | Overall |" in text
    best = summary["criteria"]["Exploratory Scope"]["systems"]["final_fq"]["selection_rate"]
    assert f"**{100 * best:.1f}%** ★" in text
    for heading in (
        "## Panel",
        "## Judge agreement",
        "## Bias diagnostics",
        "## Invalid judgments",
        "## By complexity",
        "## Provenance",
        "## Where the benchmark follow-up lands",
    ):
        assert heading in text
    assert "reply was &lt;b&gt;not&lt;/b&gt; JSON" in text  # invalid reasons listed, escaped
    assert "abc123" in text and "fqeval run nway --data demo.csv" in text


def test_no_secret_reaches_a_report() -> None:
    summary = summary_of(score_records(), "score")
    for text in (render_markdown_report(summary, MANIFEST), render_html_report(summary, MANIFEST)):
        assert "SECRET" not in text and "sk-live" not in text
        assert "api_key" not in text and "Authorization" not in text


def test_markdown_escapes_names() -> None:
    summary = summary_of(score_records(), "score")
    text = render_markdown_report(summary, None)
    assert EVIL not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_html_is_self_contained_and_escapes_names(tmp_path) -> None:
    summary = summary_of(nway_records(), "nway")
    path = write_html_report(summary, MANIFEST, tmp_path / "sub" / "report.html")
    html = path.read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(html)
    assert "script" not in parser.tags, "no script element, not even the system named <script>"
    assert "img" not in parser.tags
    assert EVIL in "".join(parser.text), "the system name shows as text"
    assert re.search(r"<(link|iframe|object|embed)\b", html) is None
    assert re.findall(r"(?:src|href)=", html) == []
    assert "url(" not in html and "@import" not in html  # CSS fetches nothing either
    assert html.count("<svg") >= 2  # leaderboard bars and position-bias chart
    assert "<style>" in html and "<table>" in html


def test_html_score_report_has_distribution_chart() -> None:
    html = render_html_report(summary_of(score_records(), "score"), None)
    assert 'aria-label="score distribution"' in html
    assert 'aria-label="leaderboard chart"' in html
    assert "Score distribution" in html


def test_merged_runs_make_one_leaderboard(tmp_path) -> None:
    base = summary_of(score_records(), "score")
    worse = summary_of(score_records(shift=1), "score")
    text = render_markdown_report(base, None, extra_runs=[("run-b", worse)], label="run-a")
    header = next(line for line in text.splitlines() if line.startswith("| system |"))
    assert "Exploratory Scope · run-a" in header and "Exploratory Scope · run-b" in header
    assert "Overall · run-b" in header
    mixed = render_markdown_report(
        base, None, extra_runs=[("votes", summary_of(nway_records(), "nway"))]
    )
    assert (
        "## Leaderboard: mean score (1-5)" in mixed
        and "## Leaderboard: selection rate · votes" in mixed
    )
    assert "n-way vote share (votes)" in mixed and "mean score (" in mixed
    path = write_markdown_report(base, None, tmp_path / "report.md")
    assert path.read_text(encoding="utf-8") == render_markdown_report(base, None)
