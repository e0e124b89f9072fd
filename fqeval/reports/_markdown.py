"""The Markdown report (renders :func:`fqeval.reports._document.build_document`).

Every name and text from the data (systems, judges, criteria, candidate texts, reasons, raw
replies) is untrusted and escaped by :func:`md_text`: for Markdown tables (``|``), for raw HTML
(``<``, ``>``; Markdown renderers pass HTML through, so a system called ``<script>`` must show
as text), and for link syntax: ``[..](..)``, ``![..](..)``, ``<http://..>`` and bare URLs
never become a link or an image, so a viewer fetches nothing. Figures appear only in the HTML
report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fqeval.reports._document import (
    Document,
    Figure,
    Heading,
    Paragraph,
    ReportRun,
    Table,
    TCell,
    build_document,
    write_text_file,
)

Summary = Mapping[str, Any]


#: a backslash that would escape the next character (ASCII punctuation)
_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~])")
#: ``&`` that would start a character reference (``&amp;``, ``&#60;``); a lone ``&`` is text
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
#: ``](`` / ``][`` close a link's text; ``![`` opens an image
_LINK = re.compile(r"(!?)\[|\](?=[(\[])")
#: scheme and ``www.`` of bare URLs, which GitHub-flavoured viewers turn into links
_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*):(//)|\b([Ww][Ww][Ww])\.")


def _link(match: re.Match[str]) -> str:
    if match.group(0) == "]":
        return "\\]"
    return f"{match.group(1)}\\[" if match.group(1) else "["


def _url(match: re.Match[str]) -> str:
    if match.group(3):
        return f"{match.group(3)}\\."
    return f"{match.group(1)}\\:\\/\\/"


def md_text(value: object) -> str:
    """Escape untrusted text for one line of Markdown (a paragraph, heading or table cell).

    ``<``/``>`` become ``&lt;``/``&gt;`` and ``&`` only where it would start a character
    reference; pipes, the brackets of link and image syntax and the ``://`` of URLs get a
    backslash (a viewer shows them as written, but never as a link or image); a backslash
    that would escape what follows is doubled; newlines fold to spaces. Kept minimal so the
    raw file stays readable in a terminal; ``_`` inside words does not emphasise in CommonMark.
    """
    text = str(value).replace("\r", " ").replace("\n", " ")
    text = _BACKSLASH.sub(r"\\\\", text)
    text = _ENTITY.sub("&amp;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    text = _LINK.sub(_link, text)
    return _URL.sub(_url, text)


#: what would open a block (heading, list, quote, fence, link definition) at a line's start
_BLOCK_START = re.compile(r"^( {0,3})(?:([#+*=`~\[-])|(\d{1,9})([.)]))")


def _line(text: str) -> str:
    """A paragraph line: :func:`md_text`, with block syntax at its start escaped too."""

    def escape(match: re.Match[str]) -> str:
        if match.group(2):
            return f"{match.group(1)}\\{match.group(2)}"
        return f"{match.group(1)}{match.group(3)}\\{match.group(4)}"

    return _BLOCK_START.sub(escape, md_text(text), count=1)


def _cell(cell: TCell) -> str:
    text = md_text(cell.text)
    if cell.strong:
        text = f"**{text}** ★"
    return f"{text} {md_text(cell.sub)}".strip() if cell.sub else text


def _table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(md_text(h) for h in table.header) + " |"]
    lines.append("|" + "|".join("---" for _ in table.header) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return lines


def render_document_markdown(doc: Document) -> str:
    lines = [f"# {md_text(doc.title)}"]
    blocks = [("", doc.intro)] + [(s.title, s.blocks) for s in doc.sections]
    for title, section_blocks in blocks:
        if title:
            lines += ["", f"## {md_text(title)}"]
        for block in section_blocks:
            if isinstance(block, Figure):
                continue
            lines.append("")
            if isinstance(block, Heading):
                lines.append(f"### {md_text(block.text)}")
            elif isinstance(block, Paragraph):
                lines.append(_line(block.text))
            elif isinstance(block, Table):
                lines += _table(block)
    return "\n".join(lines) + "\n"


def render_markdown_report(
    summary: Summary,
    manifest: Mapping[str, Any] | None = None,
    *,
    agreement: Mapping[str, Any] | None = None,
    extra_runs: Sequence[ReportRun | tuple[str, Summary]] = (),
    label: str | None = None,
    examples: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The report as Markdown text.

    ``extra_runs`` (:class:`~fqeval.reports._document.ReportRun`, or ``(label, summary)``
    pairs) merge further runs into the leaderboard, a column per run and criterion, and into
    every other section under each run's name; ``agreement`` is :func:`fqeval.analysis.agreement_report`'s
    dict (default: the summary's own ``agreement`` key, if any); ``label`` names the first run
    (default: its judges).
    """
    doc = build_document(
        summary,
        manifest,
        agreement=agreement,
        extra_runs=extra_runs,
        label=label,
        examples=examples,
    )
    return render_document_markdown(doc)


def write_markdown_report(
    summary: Summary,
    manifest: Mapping[str, Any] | None,
    path: str | Path,
    **options: Any,
) -> Path:
    """Write :func:`render_markdown_report` to ``path`` (parents created); returns the path."""
    return write_text_file(path, render_markdown_report(summary, manifest, **options))
