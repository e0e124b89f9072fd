"""``fqeval data validate|stats``, and the data options every command that loads data shares."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Optional

import typer

from fqeval.cli._app import app
from fqeval.data import EvalData, data_stats, load_data
from fqeval.errors import UsageError

_DATA_HELP = "Check and describe FQ-Eval data.\n\nExample: fqeval data validate data/demo/demo.csv"
data_app = typer.Typer(help=_DATA_HELP, no_args_is_help=True, rich_markup_mode=None)
app.add_typer(data_app, name="data", help=_DATA_HELP)

_PATH_HELP = (
    "FQ-Eval.json, a flat CSV/TSV/JSONL/JSON/parquet of items, a directory (saved with "
    "datasets' save_to_disk, or holding one such file), or a Hub dataset (hf:owner/name)."
)
# Shared option types: commands that load data put these in their signatures and pass the
# values to load_data_from_options.
DataArgument = Annotated[str, typer.Argument(metavar="PATH", help=_PATH_HELP, show_default=False)]
DataOption = Annotated[str, typer.Option("--data", metavar="PATH", help=_PATH_HELP)]
SystemsOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional on 3.10
    typer.Option(
        "--systems",
        metavar="A,B,...",
        help=(
            "Comma list of systems, in this order (default: every candidate column); "
            "pairwise adds its --reference."
        ),
    ),
]
SystemFilesOption = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option(
        "--system",
        metavar="NAME=PATH",
        help=(
            "Add system NAME from a file keyed by question_id (and optionally criteria_name), "
            "text in column follow_up. Repeatable."
        ),
    ),
]
CriteriaOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--criteria",
        metavar="A,B,...",
        help="Comma list of criteria to keep: names or short keys like creative_leap (default: all).",
    ),
]
CriteriaFileOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--criteria-file",
        metavar="YAML",
        help="Criteria definitions replacing or adding to data/criteria.yaml.",
    ),
]
AllowMissingOption = Annotated[
    bool,
    typer.Option(
        "--allow-missing", help="Skip (and count) empty candidate texts instead of failing."
    ),
]
MetadataOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--metadata",
        metavar="JSON",
        help="FQ-Eval.json whose category, use case, intent and topic fill in CSV rows.",
    ),
]
LimitOption = Annotated[
    Optional[int],  # noqa: UP045
    typer.Option("--limit", min=1, metavar="N", help="Only the first N QA pairs."),
]


def load_data_from_options(
    data: str | Path,
    *,
    systems: str | None = None,
    system_files: Sequence[str] | None = None,
    criteria: str | None = None,
    criteria_file: str | Path | None = None,
    allow_missing: bool = False,
    metadata: str | Path | None = None,
    limit: int | None = None,
    reference: str | None = None,
) -> EvalData:
    """``load_data`` from raw option values: comma lists and ``NAME=PATH`` pairs parsed here.

    ``reference`` (pairwise's ``--reference``) is evaluated even when ``--systems`` leaves it
    out: every system is compared with it.
    """
    return load_data(
        data,
        systems=_comma_list(systems),
        extra_systems=parse_system_files(system_files or ()),
        metadata=metadata,
        criteria=_comma_list(criteria),
        criteria_file=criteria_file,
        allow_missing=allow_missing,
        limit=limit,
        keep_systems=(reference,) if reference else (),
    )


def parse_system_files(values: Sequence[str]) -> Mapping[str, str]:
    """``["NAME=PATH", ...]`` as ``{NAME: PATH}``; a malformed or repeated NAME is a UsageError."""
    parsed: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        name, path = name.strip(), path.strip()
        if not sep or not name or not path:
            raise UsageError(f"--system: expected NAME=PATH, got '{value}'")
        if name in parsed:
            raise UsageError(f"--system {name}: named twice")
        parsed[name] = path
    return parsed


def _comma_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


@data_app.command("validate")
def validate(
    path: DataArgument,
    systems: SystemsOption = None,
    system_files: SystemFilesOption = None,
    criteria: CriteriaOption = None,
    criteria_file: CriteriaFileOption = None,
    allow_missing: AllowMissingOption = False,
    metadata: MetadataOption = None,
) -> None:
    """Check data; print one "ok" line, or one error line (file, row, column) and exit 2.

    Example: fqeval data validate data/demo/demo.csv --systems final_fq,sys_a
    """
    loaded = load_data_from_options(
        path,
        systems=systems,
        system_files=system_files,
        criteria=criteria,
        criteria_file=criteria_file,
        allow_missing=allow_missing,
        metadata=metadata,
    )
    line = (
        f"ok: {len(loaded.qa_pairs)} QA pairs, {len(loaded.items)} items, "
        f"systems: {', '.join(loaded.systems)}"
    )
    if allow_missing:
        line += f"; {loaded.missing_candidates} empty candidate texts skipped"
    typer.echo(line)


@data_app.command("stats")
def stats(
    path: DataArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    systems: SystemsOption = None,
    system_files: SystemFilesOption = None,
    criteria: CriteriaOption = None,
    allow_missing: AllowMissingOption = False,
    metadata: MetadataOption = None,
) -> None:
    """Count QA pairs, items, criteria, systems, complexity levels and categories.

    Example: fqeval data stats data/demo/demo.csv --json
    """
    loaded = load_data_from_options(
        path,
        systems=systems,
        system_files=system_files,
        criteria=criteria,
        allow_missing=allow_missing,
        metadata=metadata,
    )
    counts = data_stats(loaded)
    if as_json:
        typer.echo(json.dumps(counts, indent=2, ensure_ascii=False))
    else:
        typer.echo(format_stats(counts))


def format_stats(counts: Mapping[str, object]) -> str:
    """The human-readable table of ``data_stats``: one ``label  value`` line per count."""
    lines = [
        ("source", f"{counts['source']} ({counts['format']})"),
        ("QA pairs", counts["qa_pairs"]),
        ("items", counts["items"]),
        ("sets", counts["sets"]),
        ("systems", ", ".join(_strings(counts["systems"]))),
        ("missing candidates", counts["missing_candidates"]),
        ("items with identical candidate texts", counts["items_with_identical_candidates"]),
    ]
    width = max(len(label) for label, _ in lines)
    out = [f"{label:<{width}}  {value}" for label, value in lines]
    for section in ("criteria", "candidates", "complexity", "categories"):
        block = counts[section]
        if not isinstance(block, Mapping) or not block:
            continue
        out.append(f"{section}:")
        inner = max(len(str(key)) for key in block)
        out.extend(f"  {key!s:<{inner}}  {value}" for key, value in block.items())
    return "\n".join(out)


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
