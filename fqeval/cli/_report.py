"""``fqeval report`` (leaderboards from run directories) and ``fqeval check`` (the CI gate)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from fqeval.analysis._summary import json_safe
from fqeval.cli._app import app, fail
from fqeval.reports._check import (
    CheckResult,
    GateOptions,
    check_runs,
    load_gate_run,
    pass_fail_line,
)
from fqeval.reports._runs import load_runs, read_human_labels
from fqeval.reports._write import parse_formats, write_reports


@app.command(
    help=(
        "Write the leaderboard report of one or more run directories (Markdown, HTML, JSON) and "
        "the official FQ-Eval summary shapes. Several directories merge into one leaderboard, "
        "a column per run.\n\n"
        "Example: fqeval report reports/demo-nway --format md,html"
    )
)
def report(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            metavar="DIR...",
            help="Run directories (summary.json, judgments.jsonl, manifest.json).",
            show_default=False,
        ),
    ],
    formats: Annotated[
        str, typer.Option("--format", metavar="md,html,json", help="Formats to write.")
    ] = "md,html",
    out: Annotated[
        Optional[Path],  # noqa: UP045 - typer needs Optional on 3.10
        typer.Option(
            "--out", metavar="DIR", help="Where to write (default: the first run directory)."
        ),
    ] = None,
    human: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--human", metavar="PATH", help="Human labels (CSV/JSONL) to compare the judges with."
        ),
    ] = None,
) -> None:
    wanted = parse_formats(formats)
    runs = load_runs(run_dirs)
    labels = read_human_labels(human) if human else None
    written = write_reports(runs, wanted, out or runs[0].path, human=labels)
    for path in written:
        typer.echo(str(path))


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if metric in ("selection_rate", "win_rate") else f"{value:.3f}"


def _points(value: float | None, metric: str) -> str:
    """A drop (or an interval end) in the metric's units: points for rates."""
    if value is None:
        return "-"
    return f"{100 * value:+.1f}" if metric in ("selection_rate", "win_rate") else f"{value:+.3f}"


def _interval(ci: tuple[float, float] | None, metric: str) -> str:
    return "-" if ci is None else f"[{_points(ci[0], metric)}, {_points(ci[1], metric)}]"


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _print_check(result: CheckResult, show_all: bool) -> None:
    console = Console(soft_wrap=True)
    console.width = max(console.width, 160)  # CI logs are not terminals; keep rows on one line
    shown = [r for r in result.rows if show_all or r.decision == "fail" or (r.drop or 0.0) > 1e-12]
    verdict = "PASS" if result.passed else "FAIL"
    console.print(f"fqeval check: {verdict}. {result.method}; {result.family}.")
    for note in result.notes:
        console.print(f"note: {note}")
    if shown:
        rates = any(r.metric in ("selection_rate", "win_rate") for r in shown)
        table = Table(
            title=(
                f"max drop {result.max_drop:g}; drop = baseline - current"
                + (" (rates in points)" if rates else "")
                + "; MDE = drop detected with 80% power"
            )
        )
        columns = (
            "criterion", "system", "metric", "baseline", "current", "drop", "95% CI",
            "p raw", "p adj", "MDE", "test", "decision",
        )  # fmt: skip
        right = {"baseline", "current", "drop", "95% CI", "p raw", "p adj", "MDE"}
        for column in columns:
            table.add_column(column, justify="right" if column in right else "left")
        styles = {"fail": "bold red", "skip": "yellow"}
        for r in shown:
            decision = (
                r.decision if r.decision != "fail" or r.status == "fail" else "fail (missing)"
            )
            table.add_row(
                r.criterion,
                r.system,
                r.metric,
                _fmt(r.baseline, r.metric),
                _fmt(r.current, r.metric),
                _points(r.drop, r.metric),
                _interval(r.ci, r.metric),
                _p(r.p_raw),
                _p(r.p_adjusted),
                _points(r.mde, r.metric),
                r.test or "-",
                f"[{styles[r.decision]}]{decision}[/]" if r.decision in styles else decision,
            )
        console.print(table)
    for r in result.rows:
        if r.status in ("missing", "untested", "new") and r.reason:
            console.print(f"{r.decision}: {r.criterion} / {r.system}: {r.reason}")
    hidden = len(result.rows) - len(shown)
    if hidden:
        console.print(f"{hidden} cell(s) without a drop not listed (--all lists them).")
    console.print(pass_fail_line(result))


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@app.command(
    help=(
        "Regression gate: compare a current run with a baseline and exit 1 when a system's "
        "metric (selection rate, win rate, mean score, mean rank; per criterion and overall) "
        "dropped significantly more than --max-drop, or a baseline cell is missing. Runs "
        "given as directories (or summary.json files beside their judgments.jsonl) are "
        "compared QA pair by QA pair with a paired sign-flip test; otherwise the two "
        "summaries' intervals are used. Every cell tested is one family, Holm-corrected by "
        "default.\n\n"
        "Example: fqeval check runs/base runs/new --max-drop 0.05\n\n"
        "Example: fqeval check --baseline ci/base/summary.json --current new/summary.json "
        "--cells overall --json"
    )
)
def check(
    runs: Annotated[
        Optional[list[Path]],  # noqa: UP045 - typer needs Optional on 3.10
        typer.Argument(
            metavar="[BASELINE CURRENT]",
            help="Baseline and current run directories or summary.json files.",
            show_default=False,
        ),
    ] = None,
    baseline: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--baseline",
            metavar="SUMMARY.json",
            help="The accepted summary (or its run directory).",
            show_default=False,
        ),
    ] = None,
    current: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--current",
            metavar="SUMMARY.json",
            help="The summary to check (or its run directory).",
            show_default=False,
        ),
    ] = None,
    max_drop: Annotated[
        float,
        typer.Option(
            "--max-drop",
            metavar="X",
            help="Tolerated drop in the metric's units (rates 0-1, scores in points): a cell "
            "fails only when its drop is significantly larger than X.",
        ),
    ] = 0.0,
    alpha: Annotated[
        float,
        typer.Option(
            "--alpha", metavar="A", help="Family-wise significance level of the one-sided tests."
        ),
    ] = 0.05,
    correction: Annotated[
        str,
        typer.Option(
            "--correction",
            metavar="holm|bonferroni|bh|none",
            help="Multiple-testing correction over the cells tested.",
        ),
    ] = "holm",
    cells: Annotated[
        str,
        typer.Option(
            "--cells",
            metavar="all|overall|criteria",
            help="Which rows to test: per criterion and overall, overall only, criteria only.",
        ),
    ] = "all",
    systems: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--systems", metavar="a,b", help="Test only these systems."),
    ] = None,
    criteria: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--criteria", metavar="X,Y", help="Test only these criteria."),
    ] = None,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing", help="A system or cell missing from the current run does not fail."
        ),
    ] = False,
    unpaired: Annotated[
        bool,
        typer.Option(
            "--unpaired", help="Use the summaries' intervals even when judgments are there."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list cells without a drop.")
    ] = False,
) -> None:
    paths = list(runs or [])
    if paths and (baseline is not None or current is not None):
        raise fail("give BASELINE CURRENT or --baseline/--current, not both")
    if not paths:
        if baseline is None or current is None:
            raise fail(
                "needs a baseline and a current run (BASELINE CURRENT, or --baseline and --current)"
            )
        paths = [baseline, current]
    if len(paths) != 2:
        raise fail(f"needs exactly two runs (BASELINE CURRENT), got {len(paths)}")
    options = GateOptions(
        max_drop=max_drop,
        alpha=alpha,
        correction=correction.strip().lower(),
        cells=cells.strip().lower(),
        systems=_names(systems),
        criteria=_names(criteria),
        allow_missing=allow_missing,
        paired=not unpaired,
    )
    base_run, cur_run = load_gate_run(paths[0]), load_gate_run(paths[1])
    result = check_runs(base_run, cur_run, options)
    if as_json:
        typer.echo(json.dumps(json_safe(result.to_dict()), indent=2))
    else:
        _print_check(result, show_all)
    if not result.passed:
        raise typer.Exit(1)
