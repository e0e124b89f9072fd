"""Untrusted text in report.md never becomes a link or an image (a viewer would fetch it).

Candidate texts, judge reasons, raw replies, invalid reasons and system names come from the
data and the judges. ``report.md`` must show them as written, but Markdown viewers turn
``![..](..)`` into images they load, ``[..](..)`` and ``<http://..>`` into links, and (GitHub)
bare ``https://`` and ``www.`` into links; none of that may happen. The HTML report escapes
everything already and must keep doing so.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from fqeval.cli._app import run_app
from fqeval.reports import render_html_report, render_markdown_report
from fqeval.reports._document import Document, Heading, Paragraph, Section
from fqeval.reports._markdown import md_text, render_document_markdown
from tests.analysis._records import nway
from tests.conftest import REPO_ROOT
from tests.reports._runs import C1, C2, summary_of

PIXEL = "![pixel](http://evil.example/pixel.png)"
HOSTILE = (
    f"{PIXEL} [click](https://evil.example/a) ![ref][r] <http://evil.example/auto> "
    "https://evil.example/bare.png www.evil.example/w \\](http://evil.example/esc)"
)
SYSTEM = "![s](http://evil.example/s.png)"


def _rendered(markdown: str) -> str:
    """``markdown`` as a CommonMark viewer with tables shows it (HTML)."""
    markdown_it = pytest.importorskip("markdown_it")
    return str(markdown_it.MarkdownIt("commonmark").enable("table").render(markdown))


def _assert_inert(markdown: str) -> None:
    html = _rendered(markdown)
    assert "<img" not in html and "<a " not in html, re.findall(r"<(?:img|a) [^>]*>", html)
    # what GitHub's autolinker would pick up: a scheme's "://" or "www." left unescaped
    assert re.search(r"(?<!\\)://|\bwww\.", markdown) is None
    # the text is still all there for the reader
    for piece in ("evil.example/pixel.png", "evil.example/auto", "evil.example/bare.png"):
        assert piece in html


def _hostile_records() -> list[dict]:
    systems = ["final_fq", SYSTEM, "sys_b"]
    texts = [HOSTILE, "What next?", "Why?"]
    records = []
    for q in range(6):
        for crit in (C1, C2):
            record = nway(f"q{q}", crit, systems, q % 3, texts=texts)
            record["reason"] = f"I liked it {PIXEL}"
            records.append(record)
    bad = nway("q0", C1, systems, None, invalid_reason=f"not JSON {PIXEL}", variant="p1")
    bad["raw"] = f"Sure! {HOSTILE}"
    records.append(bad)
    return records


@pytest.mark.parametrize(
    "text",
    [
        PIXEL,
        "[a](http://x.example)",
        "![a][b]",
        "<http://x.example>",
        "see https://x.example/y.png now",
        "www.x.example",
        "a\\](http://x.example)",
        "[x]: http://x.example/def.png",
        "`![a](http://x.example)`",
    ],
)
def test_md_text_neutralises_link_syntax(text: str) -> None:
    line = f"| {md_text(text)} |"
    table = f"| h |\n|---|\n{line}\n"
    html = _rendered(table)
    assert "<img" not in html and "<a " not in html, html
    doc = Document("t", [Paragraph(text)], [Section(text, [Heading(text), Paragraph(text)])])
    html = _rendered(render_document_markdown(doc))
    assert "<img" not in html and "<a " not in html, html


def test_md_text_keeps_plain_text_readable() -> None:
    assert md_text("Science & Technology") == "Science & Technology"
    assert md_text("&amp; is an entity") == "&amp;amp; is an entity"
    assert md_text("<b>x</b> | y") == "&lt;b&gt;x&lt;/b&gt; \\| y"
    assert md_text("C:\\Users\\me") == "C:\\Users\\me"
    assert md_text("a\nb") == "a b"
    assert md_text("mean score [4.06, 4.83]") == "mean score [4.06, 4.83]"
    assert md_text(PIXEL) == "!\\[pixel\\](http\\:\\/\\/evil.example/pixel.png)"


def test_report_md_loads_nothing_from_untrusted_text() -> None:
    records = _hostile_records()
    summary = summary_of(records, "nway")
    summary["systems"] = ["final_fq", SYSTEM, "sys_b"]
    markdown = render_markdown_report(summary, None, examples=records)
    assert "evil.example/pixel.png" in markdown
    assert "I liked it" in markdown and "not JSON" in markdown and "Sure!" in markdown
    _assert_inert(markdown)
    html = render_html_report(summary, None, examples=records)
    assert re.search(r"<(img|a|link|script|iframe)\b", html) is None
    assert re.findall(r"(?:src|href)=", html) == []
    assert "![pixel](http://evil.example/pixel.png)" in html  # shown as text, escaped as HTML


def test_a_hostile_candidate_in_a_real_run(tmp_path: Path, capsys) -> None:
    rows = list(csv.DictReader((REPO_ROOT / "data" / "demo" / "demo.csv").open(encoding="utf-8")))
    for row in rows:
        row["sys_b"] = HOSTILE
    data = tmp_path / "hostile.csv"
    with data.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "run"
    code = run_app(
        [
            "run", "nway", "--data", str(data), "--judge", "heuristic", "--out", str(out),
            "--store", str(tmp_path / "s.sqlite"), "-q", "--format", "md,html",
            "--bootstrap", "20",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "evil.example/pixel.png" in markdown  # the Examples section shows the candidate
    _assert_inert(markdown)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<(img|a)\b", html) is None and "src=" not in html
