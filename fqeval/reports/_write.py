"""``fqeval report``'s library side: write the chosen report formats for one or more runs."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fqeval.analysis._agreement_report import agreement_report
from fqeval.analysis._summary import json_safe
from fqeval.errors import UsageError
from fqeval.reports._document import ReportRun
from fqeval.reports._html import write_html_report
from fqeval.reports._markdown import write_markdown_report
from fqeval.reports._official import official_summary
from fqeval.reports._runs import RunDir, combined_judgments

FORMATS: tuple[str, ...] = ("md", "html", "json")
OFFICIAL = "fqeval_official_summary.json"


def parse_formats(text: str) -> list[str]:
    """``"md,html"`` -> ``["md", "html"]``; :class:`UsageError` for an unknown format."""
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(
            f"--format: unknown format {', '.join(unknown) or '(none)'}; use {','.join(FORMATS)}"
        )
    return list(dict.fromkeys(formats))


def runs_agreement(
    runs: Sequence[RunDir], human: pd.DataFrame | None = None
) -> dict[str, Any] | None:
    """Agreement between every two judges across ``runs`` (one mode), with human labels if given."""
    frame = combined_judgments(runs)
    if frame is None:
        if human is not None:
            raise UsageError("--human needs runs with judgments.jsonl")
        return None
    modes = [m for m in dict.fromkeys(frame["mode"]) if m]
    if len(modes) != 1:
        if human is not None:
            raise UsageError(f"agreement needs runs of one mode, got {', '.join(modes)}")
        return None
    judges = list(dict.fromkeys(frame["judge"]))
    if len(judges) < 2 and human is None:
        return None
    report: dict[str, Any] = json_safe(
        agreement_report(frame, mode=modes[0], judges=judges, human=human)
    )
    return report


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "run"


def example_records(frame: pd.DataFrame | None, limit: int = 400) -> list[dict[str, Any]]:
    """Judgment rows for the report's Examples section: a valid one per criterion comes from
    the first rows, invalid ones from anywhere in the run."""
    if frame is None or frame.empty:
        return []
    head = frame.head(limit)
    rows = head.to_dict("records")
    if "valid" in frame.columns:
        invalid = frame[~frame["valid"].astype(bool)].head(3)
        rows += [r for r in invalid.to_dict("records") if not any(r is x for x in rows)]
    return [{str(k): v for k, v in row.items()} for row in rows]


def write_reports(
    runs: Sequence[RunDir],
    formats: Sequence[str],
    out_dir: Path,
    *,
    human: pd.DataFrame | None = None,
) -> list[Path]:
    """Write ``report.md`` / ``report.html`` / ``report.json`` and the official shapes.

    Several runs merge: the leaderboard gets a column per run and criterion, and every other
    section shows each run under its name (partial runs flagged). The official
    summary (``fqeval_official_summary.json``; one ``fqeval_official_summary_<label>.json``
    per further run) is written for n-way and score runs that have judgments.
    """
    if not runs:
        raise UsageError("no run directory given")
    out_dir.mkdir(parents=True, exist_ok=True)
    first, rest = runs[0], runs[1:]
    agreement = runs_agreement(runs, human)
    options: dict[str, Any] = {
        "agreement": agreement,
        "extra_runs": [
            ReportRun(r.label, r.summary, r.manifest, example_records(r.judgments)) for r in rest
        ],
        "label": first.label if rest else None,
        "examples": example_records(first.judgments),
    }
    written: list[Path] = []
    if "md" in formats:
        written.append(
            write_markdown_report(first.summary, first.manifest, out_dir / "report.md", **options)
        )
    if "html" in formats:
        written.append(
            write_html_report(first.summary, first.manifest, out_dir / "report.html", **options)
        )
    if "json" in formats:
        payload = {
            "runs": [{"label": r.label, "dir": str(r.path), "summary": r.summary} for r in runs],
            "agreement": agreement,
        }
        path = out_dir / "report.json"
        path.write_text(
            json.dumps(json_safe(payload), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        written.append(path)
    for k, run in enumerate(runs):
        if run.judgments is None:
            continue
        official = official_summary(
            run.judgments, str(run.summary.get("mode")), run.summary.get("systems") or ()
        )
        if official is None:
            continue
        name = OFFICIAL if k == 0 else f"fqeval_official_summary_{_slug(run.label)}.json"
        path = out_dir / name
        path.write_text(
            json.dumps(json_safe(official), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        written.append(path)
    return written
