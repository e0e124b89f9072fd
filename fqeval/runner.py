"""One evaluation run, end to end: data -> protocol tasks -> engine -> files -> summary -> report.

:func:`run_evaluation` is what ``fqeval run MODE`` calls, and what a Python user calls:

>>> from fqeval.data import load_data
>>> from fqeval.runner import RunConfig, run_evaluation
>>> data = load_data("data/demo/demo.csv")
>>> result = run_evaluation(RunConfig(mode="nway", judges=("heuristic",), out_dir="reports/demo"), data)

Files written into ``out_dir`` (the public contract of DESIGN.md): ``judgments.jsonl`` (streamed
as judgments finish, so a killed run leaves what it finished), ``summary.json``,
``manifest.json`` and ``report.md`` (plus ``report.html`` when asked).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fqeval._version import __version__
from fqeval.data._records import EvalData
from fqeval.engine import (
    EngineOptions,
    JudgmentStore,
    default_store_path,
    load_prices,
    run_judgments,
)
from fqeval.engine._judgment import Judgment
from fqeval.judges import Judge, make_judge
from fqeval.protocols import Protocol, TaskStream, make_protocol

#: record fields the analysis and the reports read; the in-memory copy keeps only these
#: (``judgments.jsonl`` on disk has everything) so a 100k-judgment run stays small
_ANALYSIS_FIELDS = (
    "question_id",
    "criterion",
    "mode",
    "variant",
    "judge",
    "complexity",
    "category",
    "valid",
    "invalid_reason",
    "winner_label",
    "winner_slot",
    "winner_systems",
    "score",
    "expected_score",
    "ranking",
    "ranking_systems",
)


#: judgments whose reason the in-memory table keeps (the report's examples come from these)
_EXAMPLE_ROWS = 400


class JudgmentColumns:
    """The analysis view of a run's judgments, kept column by column.

    One list per field instead of one dict per judgment, and shared objects for what recurs:
    strings are interned and identical ``shown`` entries (the same candidate under the same
    label, as in score mode) are one dict. ``judgments.jsonl`` on disk keeps everything; here
    the judge's reason is kept (clipped) for the first judgments only and the raw reply only
    for invalid ones, which is what the report's examples quote.
    """

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {
            name: [] for name in (*_ANALYSIS_FIELDS, "shown", "reason", "raw")
        }
        self._shown: dict[tuple[str, tuple[str, ...], str], dict[str, Any]] = {}
        self.count = 0

    def _entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        key = (entry["label"], tuple(entry["systems"]), entry["text"])
        shared = self._shown.get(key)
        if shared is None:
            shared = self._shown[key] = {
                "label": sys.intern(key[0]),
                "systems": [sys.intern(x) for x in key[1]],
                "text": sys.intern(key[2]),
            }
        return shared

    def add(self, record: dict[str, Any]) -> None:
        columns = self.columns
        for name in _ANALYSIS_FIELDS:
            value = record.get(name)
            columns[name].append(sys.intern(value) if isinstance(value, str) else value)
        columns["shown"].append([self._entry(e) for e in record.get("shown") or []])
        # the report quotes reasons of a few early judgments only; keep just those
        reason = record.get("reason") if self.count < _EXAMPLE_ROWS else None
        columns["reason"].append(reason[:300] if isinstance(reason, str) else reason)
        raw = record.get("raw") if not record.get("valid") else None
        columns["raw"].append(raw[:500] if isinstance(raw, str) else raw)
        self.count += 1


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs besides the data. Defaults are the documented CLI defaults."""

    mode: str
    judges: tuple[str, ...] = ("heuristic",)
    out_dir: str | Path = "reports/run"
    seed: int = 42
    permutations: str = "none"
    reference: str = "final_fq"
    logprobs: bool = False
    prompts_dir: str | Path | None = None
    prompt_style: str = "fqeval-harness"
    base_urls: tuple[str, ...] = ()
    api_key_env: str = "OPENAI_API_KEY"
    engine: EngineOptions = field(default_factory=EngineOptions)
    #: ``None``: the default store under the user cache dir; ``False``: no store at all
    store_path: str | Path | bool | None = None
    n_boot: int = 1000
    formats: tuple[str, ...] = ("md",)
    #: a price table overriding the shipped one (``--prices``)
    prices_path: str | Path | None = None
    command: tuple[str, ...] = ()
    data_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """What a finished run produced."""

    out_dir: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]
    judgments: int
    invalid: int


def build_judges(config: RunConfig) -> list[Judge]:
    """Judges named by ``config.judges`` (a panel when several)."""
    return [
        make_judge(
            spec,
            base_urls=config.base_urls,
            api_key_env=config.api_key_env,
            request_timeout=config.engine.request_timeout,
        )
        for spec in config.judges
    ]


def build_protocol(config: RunConfig) -> Protocol:
    return make_protocol(
        config.mode,
        prompts_dir=config.prompts_dir,
        prompt_style=config.prompt_style,
        seed=config.seed,
        permutations=config.permutations,
        reference=config.reference,
        logprobs=config.logprobs,
    )


def open_store(config: RunConfig) -> JudgmentStore | None:
    if config.store_path is False:
        return None
    path = (
        default_store_path() if config.store_path in (None, True) else Path(str(config.store_path))
    )
    return JudgmentStore(path)


def run_evaluation(
    config: RunConfig,
    data: EvalData,
    *,
    progress: Any = None,
    on_judgment: Callable[[Judgment], None] | None = None,
) -> RunResult:
    """Run ``config`` over ``data`` and write the run directory; see the module docstring.

    Raises :class:`fqeval.errors.RunAbortedError` (after writing what finished) when the engine
    stops early (circuit breaker, cost cap); ``KeyboardInterrupt`` propagates after the store
    has committed every finished judgment.
    """
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    protocol = build_protocol(config)
    judges = build_judges(config)
    store = open_store(config)
    started = _now()
    columns = JudgmentColumns()
    invalid = 0

    jsonl_path = out_dir / "judgments.jsonl"
    with jsonl_path.open("w", encoding="utf-8") as jsonl:

        def collect(judgment: Judgment) -> None:
            nonlocal invalid
            record = judgment.to_record()
            jsonl.write(json.dumps(record, ensure_ascii=False) + "\n")
            invalid += not judgment.valid
            columns.add(record)
            if on_judgment is not None:
                on_judgment(judgment)

        async def go() -> Any:
            try:
                return await run_judgments(
                    TaskStream(protocol, data),
                    protocol,
                    judges,
                    store=store,
                    options=config.engine,
                    on_judgment=collect,
                    progress=progress,
                    prices=load_prices(config.prices_path),
                )
            finally:
                for judge in judges:
                    await judge.aclose()

        try:
            stats = asyncio.run(go())
        finally:
            jsonl.flush()
            if store is not None:
                store.close()

    from fqeval.analysis import judgments_frame_from_columns, summarize
    from fqeval.reports._runs import RunDir
    from fqeval.reports._write import write_reports

    run_stats = stats.as_dict() if hasattr(stats, "as_dict") else {}
    manifest = build_manifest(config, data, protocol, judges, store, started, run_stats)
    frame = judgments_frame_from_columns(columns.columns)
    columns.columns.clear()  # the frame holds what it needs
    summary = summarize(
        frame,
        mode=config.mode,
        judges=[j.spec for j in judges],
        systems=list(data.systems),
        criteria=list(data.criteria),
        seed=config.seed,
        n_boot=config.n_boot,
        reference=config.reference if config.mode == "pairwise" else None,
        extra={
            "data": {
                "source": data.source,
                "qa_pairs": len(data.qa_pairs),
                "items": len(data.items),
                "missing_candidates": data.missing_candidates,
            },
            "run": run_stats,
            **protocol.summary_notes(data),
        },
    )
    _write_json(out_dir / "manifest.json", manifest, config.api_key_env)
    _write_json(out_dir / "summary.json", summary, config.api_key_env)
    # the reports read the in-memory table rather than re-reading judgments.jsonl
    write_reports(
        [RunDir(out_dir, out_dir.resolve().name, summary, manifest, frame)], config.formats, out_dir
    )
    return RunResult(out_dir, summary, manifest, len(frame), invalid)


def build_manifest(
    config: RunConfig,
    data: EvalData,
    protocol: Protocol,
    judges: Sequence[Judge],
    store: JudgmentStore | None,
    started: str,
    run_stats: dict[str, Any],
) -> dict[str, Any]:
    """Provenance of a run: command, versions, seed, data and prompt hashes, judge settings.

    Never holds an API key: judges' ``settings()`` exclude it, and the written file is scrubbed
    of the key's value as a second line of defence.
    """
    prompts = getattr(protocol, "prompts", None)
    return {
        "schema_version": 1,
        "fqeval_version": __version__,
        "command": list(config.command),
        "started_at": started,
        "finished_at": _now(),
        "mode": config.mode,
        "seed": config.seed,
        "permutations": config.permutations,
        "reference": config.reference if config.mode == "pairwise" else None,
        "logprobs": config.logprobs,
        "prompt_style": config.prompt_style,
        "prompts": {
            "dir": str(config.prompts_dir) if config.prompts_dir else "(shipped)",
            "sha256": prompts.fingerprint() if prompts is not None else None,
        },
        "data": {
            "source": data.source,
            "files": {path: file_sha256(path) for path in config.data_files},
            "systems": list(data.systems),
            "criteria": list(data.criteria),
            "qa_pairs": len(data.qa_pairs),
            "items": len(data.items),
            "missing_candidates": data.missing_candidates,
        },
        "judges": [judge.settings() for judge in judges],
        "engine": asdict(config.engine),
        "store": str(store.path) if store is not None and hasattr(store, "path") else None,
        "run": run_stats,
        "environment": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "packages": _package_versions(),
        },
    }


def file_sha256(path: str | Path) -> str | None:
    """sha256 of a file, or of every file under a directory (sorted); ``None`` if absent."""
    target = Path(path)
    digest = hashlib.sha256()
    if target.is_file():
        files = [target]
    elif target.is_dir():
        files = sorted(p for p in target.rglob("*") if p.is_file())
    else:
        return None
    for file in files:
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _package_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in ("openai", "pandas", "numpy", "scipy", "jinja2", "typer", "datasets", "vllm"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _write_json(path: Path, payload: dict[str, Any], api_key_env: str) -> None:
    text = json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False)
    text = scrub_secret(text, api_key_env)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def scrub_secret(text: str, api_key_env: str = "OPENAI_API_KEY") -> str:
    """Replace the API key's value, should it appear anywhere, with ``***``."""
    for name in {api_key_env, "OPENAI_API_KEY"}:
        secret = os.environ.get(name, "")
        if len(secret) >= 8:
            text = text.replace(secret, "***")
    return text


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
