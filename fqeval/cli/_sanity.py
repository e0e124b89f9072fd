"""``fqeval sanity``: the criterion-discrimination test of a judge, before a paid run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from fqeval.cli._app import app, exit_on_interrupt
from fqeval.cli._judge_options import (
    ApiKeyEnvOption,
    BaseUrlOption,
    ConcurrencyOption,
    RequestTimeoutOption,
)


def _default_data() -> Path:
    official = os.environ.get("FQEVAL_OFFICIAL_DIR")
    if official and (Path(official) / "FQ-Eval.json").is_file():
        return Path(official) / "FQ-Eval.json"
    from fqeval._resources import resource_dir

    return resource_dir("data") / "demo" / "demo.csv"


@app.command()
def sanity(
    judge: list[str] = typer.Option(
        ["heuristic"],
        "--judge",
        metavar="SPEC",
        help="heuristic | openai:MODEL | vllm:MODEL. Repeat to test several.",
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        metavar="PATH",
        help="Data with one benchmark follow-up per criterion (default: $FQEVAL_OFFICIAL_DIR/FQ-Eval.json, else the demo data).",
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, metavar="N", help="Only the first N QA pairs (a cheap first look)."
    ),
    base_url: BaseUrlOption = [],  # noqa: B006 - typer copies defaults
    api_key_env: ApiKeyEnvOption = "OPENAI_API_KEY",
    concurrency: ConcurrencyOption = 16,
    request_timeout: RequestTimeoutOption = 60.0,
    store: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--store", metavar="PATH", help="Judgment store (SQLite)."
    ),
    out: Path | None = typer.Option(
        None, "--out", metavar="DIR", help="Run directory (default reports/sanity-<judge>/)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the rates as JSON."),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bar on the console (the rates still print)."
    ),
) -> None:
    """Does the judge understand the criteria? For each QA pair and criterion c it sees the five
    gold follow-ups (one written for each criterion) and must pick the one written for c.
    Reports the hit rate per criterion with a 95% Wilson CI (chance = 20%).

    Example: fqeval sanity --judge openai:gpt-4.1-mini --limit 20
    """
    from fqeval.cli._data import load_data_from_options
    from fqeval.cli._progress import RichProgress
    from fqeval.cli._run import check_engine_numbers, exit_on_failures
    from fqeval.engine import EngineOptions
    from fqeval.runner import RunConfig, run_evaluation
    from fqeval.sanity import discrimination_rates, gold_discrimination_data

    check_engine_numbers(request_timeout=request_timeout)
    source = data or _default_data()
    loaded = gold_discrimination_data(load_data_from_options(source, limit=limit))
    records: list[dict] = []
    name = "+".join(j.replace(":", "-").replace("/", "-") for j in judge)
    config = RunConfig(
        mode="nway",
        judges=tuple(judge),
        out_dir=out or Path("reports") / f"sanity-{name}",
        base_urls=tuple(base_url),
        api_key_env=api_key_env,
        engine=EngineOptions(concurrency=concurrency, request_timeout=request_timeout),
        store_path=store,
        command=("fqeval", "sanity", *judge),
        data_files=(str(source),),
    )
    # checked before anything is written; a stopped run raises after writing its partial dir
    with exit_on_interrupt():
        run = run_evaluation(
            config,
            loaded,
            progress=RichProgress(enabled=False if quiet or as_json else None),
            on_judgment=lambda j: records.append(j.to_record()),
        )
    by_judge: dict[str, list[dict]] = {}
    for record in records:
        by_judge.setdefault(record["judge"], []).append(record)
    result = {spec: discrimination_rates(rows) for spec, rows in by_judge.items()}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        for spec, rates in result.items():
            typer.echo(f"Criterion discrimination of {spec} (chance {rates['chance']:.0%}):")
            for crit, row in {**rates["criteria"], "overall": rates["overall"]}.items():
                rate = "n/a" if row["rate"] is None else f"{row['rate']:.1%}"
                ci = "" if not row["ci"] else f"  [{row['ci'][0]:.1%}, {row['ci'][1]:.1%}]"
                typer.echo(f"  {crit:<22} {rate:>6}{ci}  n={row['n']} invalid={row['invalid']}")
    exit_on_failures(run)
