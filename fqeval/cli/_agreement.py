"""``fqeval agreement``: how much do the judges (and humans) agree?"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from fqeval.cli._app import app
from fqeval.errors import UsageError
from fqeval.reports._document import Document, agreement_section
from fqeval.reports._format import TINY_P as _TINY_P
from fqeval.reports._format import format_p_value
from fqeval.reports._markdown import render_document_markdown
from fqeval.reports._runs import RunDir, load_runs, read_human_labels
from fqeval.reports._write import runs_agreement


@app.command(
    help=(
        "Judge agreement for a panel run (several judges in one judgments.jsonl) or several run "
        "directories: Pearson (p, Fisher-z CI), Spearman, Kendall tau-b, exact and adjacent "
        "agreement, quadratic kappa and Krippendorff's alpha for scores; same-winner share and "
        "Fleiss' kappa for n-way.\n\n"
        "Example: fqeval agreement reports/judge-a reports/judge-b --json"
    )
)
def agreement(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            metavar="DIR", help="Run directories with judgments.jsonl.", show_default=False
        ),
    ],
    human: Annotated[
        Optional[Path],  # noqa: UP045 - typer needs Optional on 3.10
        typer.Option(
            "--human",
            metavar="PATH",
            help="Human labels, CSV or JSONL: question_id, criterion, system, score or winner.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print per judge pair {overall, by_criterion} as JSON.")
    ] = False,
) -> None:
    runs = load_runs(run_dirs)
    if all(r.judgments is None for r in runs):
        raise UsageError("agreement needs judgments.jsonl in the run directories")
    _check_one_mode(runs)
    labels = read_human_labels(human) if human else None
    result: dict[str, Any] | None = runs_agreement(runs, labels)
    if result is None:
        raise UsageError(
            "agreement needs at least two judges (a panel run, several run directories, or --human)"
        )
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    section = agreement_section(_with_p_values_as_text(result))
    if section is None:
        typer.echo("no judge pair shares an item")
        return
    section.title = "Judge pairs, pooled over criteria"
    judges = len(result.get("judges", []))
    title = f"Judge agreement: {result.get('mode')} run, {judges} judge{'' if judges == 1 else 's'}"
    text = render_document_markdown(Document(title, [], [section]))
    # The Markdown renderer escapes '<' for HTML viewers; a terminal shows the text as is.
    text = text.replace(f"&lt;{_TINY_P[1:]}", _TINY_P)
    Console(soft_wrap=True).print(text, markup=False, highlight=False)


def _check_one_mode(runs: Sequence[RunDir]) -> None:
    """Judgments of different modes have no agreement: say so, naming the runs (as ``check``
    does for summaries of different modes)."""
    seen: dict[str, str] = {}  # mode -> the first run of that mode
    for run in runs:
        modes = [str(run.summary.get("mode") or "")]
        if run.judgments is not None and "mode" in run.judgments:
            modes = [str(m) for m in dict.fromkeys(run.judgments["mode"]) if m]
        for mode in modes:
            seen.setdefault(mode, run.label)
    if len(seen) > 1:
        (first, a), (second, b) = list(seen.items())[:2]
        raise UsageError(
            f"cannot compare a '{first}' run ({a}) with a '{second}' run ({b}): agreement "
            "needs runs of one mode"
        )


def _with_p_values_as_text(result: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``result`` whose Pearson p-values are display strings (the table prints
    strings as they are)."""

    def fix(block: Any) -> Any:
        if not isinstance(block, dict):
            return block
        overall = block.get("overall")
        if not isinstance(overall, dict):
            return block
        pearson = overall.get("pearson")
        if not isinstance(pearson, dict) or "p" not in pearson:
            return block
        return {
            **block,
            "overall": {**overall, "pearson": {**pearson, "p": format_p_value(pearson["p"])}},
        }

    return {
        **result,
        "pairs": [fix(pair) for pair in result.get("pairs", [])],
        "human": [fix(pair) for pair in result.get("human", [])],
    }
