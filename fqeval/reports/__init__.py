"""Reports over ``summary.json``: Markdown and HTML leaderboards, official shapes, the CI gate."""

from fqeval.reports._check import (
    CheckResult,
    CheckRow,
    GateOptions,
    GateRun,
    check_runs,
    compare_summaries,
    load_gate_run,
)
from fqeval.reports._document import ReportRun
from fqeval.reports._format import format_p_value
from fqeval.reports._html import render_html_report, write_html_report
from fqeval.reports._leaderboard import Leaderboard, build_leaderboard
from fqeval.reports._markdown import render_markdown_report, write_markdown_report
from fqeval.reports._official import official_summary
from fqeval.reports._provenance import provenance_rows, scrub
from fqeval.reports._runs import RunDir, load_run, load_runs, read_human_labels, read_summary
from fqeval.reports._write import FORMATS, parse_formats, runs_agreement, write_reports

__all__ = [
    "FORMATS",
    "CheckResult",
    "CheckRow",
    "GateOptions",
    "GateRun",
    "Leaderboard",
    "ReportRun",
    "RunDir",
    "build_leaderboard",
    "check_runs",
    "compare_summaries",
    "format_p_value",
    "load_gate_run",
    "load_run",
    "load_runs",
    "official_summary",
    "parse_formats",
    "provenance_rows",
    "read_human_labels",
    "read_summary",
    "render_html_report",
    "render_markdown_report",
    "runs_agreement",
    "scrub",
    "write_html_report",
    "write_markdown_report",
    "write_reports",
]
