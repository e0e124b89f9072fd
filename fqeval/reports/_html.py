"""The HTML report: one self-contained file (inline CSS and SVG; no scripts, fonts or network).

Rendered with jinja2 and ``autoescape=True``, so every text from the data (candidate texts,
system and judge names, reasons) is escaped; only the SVG built by
:mod:`fqeval.reports._svg` (which escapes its own text) is inserted as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from fqeval.reports._document import (
    Document,
    Figure,
    Heading,
    Paragraph,
    ReportRun,
    Table,
    build_document,
    write_text_file,
)

Summary = Mapping[str, Any]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1d1f23;background:#fff}
h1{font-size:1.6rem;margin-bottom:.3rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
h3{font-size:1.02rem;margin:1.2rem 0 .3rem}h1,h2,h3,p{overflow-wrap:anywhere}
.tw{overflow-x:auto;max-width:100%;margin:.6rem 0}.tw>table{margin:0}
.tw tr>:first-child{position:sticky;left:0}.tw td:first-child{background:#fff}
table{border-collapse:collapse;margin:.6rem 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d8dbe0;padding:.3rem .55rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f3f4f6}td.best{background:#e8f5e9}td .ci{color:#667;font-size:.85em;margin-left:.3rem;white-space:nowrap}
strong .star{color:#b8860b}figure{margin:.8rem 0;max-width:100%}figcaption{color:#555;font-size:.9em}
figure svg{display:block;max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#333}svg .ax{fill:#555}svg .in{fill:#111}
svg .grid{stroke:#e4e6ea;stroke-width:1}svg .wh{stroke:#222;stroke-width:1.2}
svg .axis{stroke:#888;stroke-width:1}svg .uni{stroke:#c00;stroke-dasharray:4 3;stroke-width:1.2}
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ doc.title }}</title><style>{{ css }}</style></head>
<body>
<h1>{{ doc.title }}</h1>
{% for block in doc.intro %}{{ render(block) }}{% endfor %}
{% for section in doc.sections %}<section><h2>{{ section.title }}</h2>
{% for block in section.blocks %}{{ render(block) }}
{% endfor %}</section>
{% endfor %}
</body></html>
"""

_BLOCK = jinja2.Environment(autoescape=True).from_string(
    """{% if kind == "p" %}<p>{{ block.text }}</p>{% elif kind == "h" %}<h3>{{ block.text }}</h3>{% elif kind == "table" %}<div class="tw"><table><thead><tr>{% for h in block.header %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in block.rows %}<tr>{% for c in row %}<td{% if c.strong %} class="best"{% endif %}>{% if c.strong %}<strong>{{ c.text }} <span class="star">★</span></strong>{% else %}{{ c.text }}{% endif %}{% if c.sub %}<span class="ci">{{ c.sub }}</span>{% endif %}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></div>{% elif kind == "figure" %}<figure>{{ svg }}<figcaption>{{ block.caption }}</figcaption></figure>{% endif %}"""
)


def _render_block(block: object) -> Markup:
    if isinstance(block, Paragraph):
        return Markup(_BLOCK.render(kind="p", block=block))
    if isinstance(block, Heading):
        return Markup(_BLOCK.render(kind="h", block=block))
    if isinstance(block, Table):
        return Markup(_BLOCK.render(kind="table", block=block))
    if isinstance(block, Figure):
        if not block.svg:
            return Markup("")
        # The SVG escapes its own text (fqeval.reports._svg), so it is inserted as markup.
        return Markup(_BLOCK.render(kind="figure", block=block, svg=Markup(block.svg)))
    return Markup("")


def render_document_html(doc: Document) -> str:
    env = jinja2.Environment(autoescape=True)
    return env.from_string(_TEMPLATE).render(doc=doc, css=Markup(_CSS), render=_render_block)


def render_html_report(
    summary: Summary,
    manifest: Mapping[str, Any] | None = None,
    *,
    agreement: Mapping[str, Any] | None = None,
    extra_runs: Sequence[ReportRun | tuple[str, Summary]] = (),
    label: str | None = None,
    examples: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The report as one self-contained HTML page (same content as the Markdown, plus charts)."""
    doc = build_document(
        summary,
        manifest,
        agreement=agreement,
        extra_runs=extra_runs,
        label=label,
        examples=examples,
    )
    return render_document_html(doc)


def write_html_report(
    summary: Summary,
    manifest: Mapping[str, Any] | None,
    path: str | Path,
    **options: Any,
) -> Path:
    """Write :func:`render_html_report` to ``path`` (parents created); returns the path."""
    return write_text_file(path, render_html_report(summary, manifest, **options))
