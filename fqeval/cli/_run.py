"""``fqeval run nway|pairwise|score|rank``: judge candidates and write a run directory.

The four commands share one implementation (:func:`_run`); each exposes only the options that
mean something for its mode (typer reads the per-mode ``__signature__`` built below).
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from pathlib import Path
from typing import Any, Optional

import typer

from fqeval.cli._app import app, exit_on_interrupt
from fqeval.cli._data import (
    AllowMissingOption,
    CriteriaFileOption,
    CriteriaOption,
    DataOption,
    LimitOption,
    MetadataOption,
    SystemFilesOption,
    SystemsOption,
)
from fqeval.cli._judge_options import (
    ApiKeyEnvOption,
    BaseUrlOption,
    ConcurrencyOption,
    RequestTimeoutOption,
)
from fqeval.reports._write import parse_formats

if typing.TYPE_CHECKING:
    from fqeval.runner import RunResult

run_app = typer.Typer(
    help="Judge follow-up questions: n-way selection, pairwise, 1-5 scoring or ranking.",
    no_args_is_help=True,
)
app.add_typer(run_app, name="run")

_MODE_HELP = {
    "nway": (
        "n-way selection: the judge picks the best of the anonymised candidates of each item "
        "(QA pair x criterion); reports each system's selection rate.\n\n"
        "Example: fqeval run nway --data data/demo/demo.csv --judge heuristic --out reports/demo-nway"
    ),
    "pairwise": (
        "Pairwise: each system against a reference follow-up, judged in both orders; a win needs "
        "both orders to agree, disagreement is a tie (half a win).\n\n"
        "Example: fqeval run pairwise --data data/demo/demo.csv --reference final_fq --judge heuristic"
    ),
    "score": (
        "1-5 scoring: the judge scores every follow-up on its own; reports mean scores with CIs "
        "and the score distribution.\n\n"
        "Example: fqeval run score --data data/demo/demo.csv --judge heuristic --out reports/demo-score"
    ),
    "rank": (
        "Ranking: the judge orders all candidates best to worst; reports mean ranks and where the "
        "benchmark follow-up lands (MRR, NDCG).\n\n"
        "Example: fqeval run rank --data data/demo/demo.csv --judge heuristic"
    ),
}

# Options that only some modes show.
_MODE_ONLY = {
    "permutations": {"nway", "rank"},
    "reference": {"pairwise"},
    "logprobs": {"score"},
}


def _run(
    mode: str,
    data: DataOption,
    systems: SystemsOption = None,
    system_files: SystemFilesOption = None,
    criteria: CriteriaOption = None,
    criteria_file: CriteriaFileOption = None,
    metadata: MetadataOption = None,
    allow_missing: AllowMissingOption = False,
    limit: LimitOption = None,
    judge: list[str] = typer.Option(
        ["heuristic"],
        "--judge",
        metavar="SPEC",
        help="heuristic | openai:MODEL | vllm:MODEL. Repeat for a panel.",
    ),
    base_url: BaseUrlOption = [],  # noqa: B006 - typer copies defaults
    api_key_env: ApiKeyEnvOption = "OPENAI_API_KEY",
    out: Path | None = typer.Option(
        None,
        "--out",
        metavar="DIR",
        help="Run directory (default reports/<mode>-<data>-<judge>/).",
    ),
    seed: int = typer.Option(
        42, "--seed", metavar="N", help="Seed of the candidate shuffles and the bootstrap."
    ),
    permutations: str = typer.Option(
        "none",
        "--permutations",
        metavar="none|latin|K",
        help=(
            "none | latin (every candidate in every slot) | K seeded orders, capped at each "
            "item's number of distinct orders (n! for n distinct texts)."
        ),
    ),
    reference: str = typer.Option(
        "final_fq",
        "--reference",
        metavar="SYSTEM",
        help="The system every other one is compared with (kept even if --systems omits it).",
    ),
    logprobs: bool = typer.Option(
        False,
        "--logprobs",
        help="Also report the logprob-weighted expected score where the judge returns logprobs.",
    ),
    prompts: Path | None = typer.Option(
        None,
        "--prompts",
        metavar="DIR",
        help="Directory of prompt templates overriding the shipped ones.",
    ),
    prompt_style: str = typer.Option(
        "fqeval-harness",
        "--prompt-style",
        metavar="STYLE",
        help="fqeval-harness (our jinja2 templates) | fqeval (official FQ-Eval prompt files in --prompts).",
    ),
    concurrency: ConcurrencyOption = 16,
    rpm: Optional[float] = typer.Option(  # noqa: UP045
        None, "--rpm", metavar="N", help="Requests-per-minute limit."
    ),
    tpm: Optional[float] = typer.Option(  # noqa: UP045
        None, "--tpm", metavar="N", help="Tokens-per-minute limit."
    ),
    max_retries: int = typer.Option(
        6,
        "--max-retries",
        min=0,
        metavar="N",
        help="Retries of a failed call (429, 5xx, timeouts, dropped connections).",
    ),
    max_reasks: int = typer.Option(
        2, "--max-reasks", min=0, metavar="N", help="Re-asks of a reply that does not validate."
    ),
    request_timeout: RequestTimeoutOption = 60.0,
    store: Path | None = typer.Option(
        None,
        "--store",
        metavar="PATH",
        help="Judgment store (SQLite); default under the user cache dir.",
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Do not reuse stored judgments (new ones are still stored)."
    ),
    retry_invalid: bool = typer.Option(
        False, "--retry-invalid", help="Re-judge only the stored judgments that were invalid."
    ),
    replay_only: bool = typer.Option(
        False,
        "--replay-only",
        help="Make no judge call: judgments come from --store only; a missing one ends invalid.",
    ),
    max_cost: float | None = typer.Option(
        None,
        "--max-cost",
        metavar="USD",
        help="Stop cleanly once the estimated cost reaches this many USD.",
    ),
    prices: Path | None = typer.Option(
        None, "--prices", metavar="YAML", help="YAML price table overriding the shipped one."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print calls, token and cost estimates; make no call."
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any judgment ends invalid."),
    fmt: str = typer.Option(
        "md",
        "--format",
        metavar="FORMATS",
        help="Reports to write: md, html, json, comma-separated.",
    ),
    bootstrap: int = typer.Option(
        1000, "--bootstrap", metavar="N", help="Bootstrap resamples for the CIs (at least 1)."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bar or leaderboard on the console."
    ),
) -> None:
    from fqeval.cli._data import load_data_from_options
    from fqeval.engine import EngineOptions
    from fqeval.runner import RunConfig, run_evaluation

    loaded = load_data_from_options(
        data,
        systems=systems,
        system_files=system_files,
        criteria=criteria,
        criteria_file=criteria_file,
        metadata=metadata,
        allow_missing=allow_missing,
        limit=limit,
        reference=reference if mode == "pairwise" else None,
    )
    formats = tuple(parse_formats(fmt))
    check_engine_numbers(request_timeout=request_timeout, rpm=rpm, tpm=tpm, max_cost=max_cost)
    out_dir = out or Path("reports") / _default_run_name(mode, data, judge)
    options = EngineOptions(
        concurrency=concurrency,
        max_reasks=max_reasks,
        max_retries=max_retries,
        request_timeout=request_timeout,
        rpm=rpm,
        tpm=tpm,
        use_cache=not no_cache,
        retry_invalid=retry_invalid,
        replay_only=replay_only,
        max_cost=max_cost,
    )
    config = RunConfig(
        mode=mode,
        judges=tuple(judge),
        out_dir=out_dir,
        seed=seed,
        permutations=permutations,
        reference=reference,
        logprobs=logprobs,
        prompts_dir=prompts,
        prompt_style=prompt_style,
        base_urls=tuple(base_url),
        api_key_env=api_key_env,
        engine=options,
        store_path=store,
        n_boot=bootstrap,
        formats=formats,
        prices_path=prices,
        command=tuple(["fqeval", *sys.argv[1:]]),
        data_files=tuple(str(p) for p in (data, metadata) if p is not None and Path(p).exists()),
    )
    if dry_run:
        _dry_run(config, loaded)
        return
    from fqeval.cli._progress import RichProgress

    progress = RichProgress(enabled=False if quiet else None)
    result = run_evaluation(config, loaded, progress=progress)
    if not quiet:
        from fqeval.cli._console import print_run_result

        print_run_result(result)
    exit_on_failures(result, strict=strict)


def check_engine_numbers(
    *,
    request_timeout: float,
    rpm: float | None = None,
    tpm: float | None = None,
    max_cost: float | None = None,
) -> None:
    """The numeric engine options typer's ranges cannot express, as one-line usage errors."""
    from fqeval.errors import UsageError

    if not request_timeout > 0:
        raise UsageError(f"--request-timeout: expected seconds > 0, got {request_timeout:g}")
    for name, value in (("--rpm", rpm), ("--tpm", tpm)):
        if value is not None and not value > 0:
            raise UsageError(f"{name}: expected a limit > 0, got {value:g}")
    if max_cost is not None and not max_cost >= 0:
        raise UsageError(f"--max-cost: expected USD >= 0, got {max_cost:g}")


def exit_on_failures(result: RunResult, *, strict: bool = False) -> None:
    """Exit 1 with one line when calls failed outright (or, with ``strict``, replies ended
    invalid); a run that stopped early never gets here (its error carries exit code 1)."""
    message = None
    if result.failures:
        message = (
            f"{result.failures} judgment(s) failed to get a reply (call failed); they are not "
            "stored, a rerun asks them again"
        )
    if strict and result.invalid > result.failures:
        also = f"{result.invalid - result.failures} judgment(s) ended invalid (--strict)"
        message = f"{message}; {also}" if message else also
    if message:
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1)


def _dry_run(config: Any, data: Any) -> None:
    from fqeval.engine import estimate_run
    from fqeval.runner import open_store, prepare_run

    # the same checks as a real run, before the store file is created
    plan = prepare_run(config, data, require_key=False)  # a dry run makes no call
    store = open_store(config)
    try:
        estimate = estimate_run(
            plan.protocol.tasks(data),
            plan.protocol,
            plan.judges,
            store=store,
            options=config.engine,
            prices=plan.prices,
        )
    finally:
        if store is not None:
            store.close()
    typer.echo(estimate.describe() if hasattr(estimate, "describe") else str(estimate))


def _default_run_name(mode: str, data: str | Path, judges: list[str]) -> str:
    stem = Path(str(data)).stem or "data"
    judge = "+".join(judges) if len(judges) <= 2 else f"{judges[0]}+{len(judges) - 1}more"
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", f"{mode}-{stem}-{judge}").strip("-")


def _register(mode: str) -> None:
    signature = inspect.signature(_run)
    # resolve the string annotations of __future__, keeping Annotated's typer metadata
    hints = typing.get_type_hints(_run, include_extras=True)
    params = [
        p.replace(annotation=hints[name])
        for name, p in signature.parameters.items()
        if name != "mode" and (name not in _MODE_ONLY or mode in _MODE_ONLY[name])
    ]

    def command(**kwargs: Any) -> None:
        full = {name: p.default for name, p in signature.parameters.items() if name != "mode"}
        # typer passes only the options this mode shows; the rest keep inert defaults
        for name in _MODE_ONLY:
            if name not in kwargs:
                default = full[name]
                kwargs[name] = getattr(default, "default", default)
        with exit_on_interrupt():
            _run(mode, **kwargs)

    command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = _MODE_HELP[mode]
    command.__name__ = mode
    run_app.command(name=mode, help=_MODE_HELP[mode])(command)


for _mode in ("nway", "pairwise", "score", "rank"):
    _register(_mode)
