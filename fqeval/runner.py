"""One evaluation run, end to end: data -> protocol tasks -> engine -> files -> summary -> report.

:func:`run_evaluation` is what ``fqeval run MODE`` calls, and what a Python user calls:

>>> from fqeval.data import load_data
>>> from fqeval.runner import RunConfig, run_evaluation
>>> data = load_data("data/demo/demo.csv")
>>> result = run_evaluation(RunConfig(mode="nway", judges=("heuristic",), out_dir="reports/demo"), data)

Files written into ``out_dir`` (the public contract of DESIGN.md): ``judgments.jsonl``,
``summary.json``, ``manifest.json`` and ``report.md`` (plus ``report.html`` when asked).

A run directory is complete or untouched:

- Every option, input and judge spec is checked first (:func:`prepare_run`); a bad one raises
  before anything is created under ``out_dir`` or in the store.
- The run is written into a hidden sibling, ``.<name>.partial-<pid>-<random>`` (its
  ``judgments.jsonl`` is line-buffered, so it follows the store closely), and moved onto
  ``out_dir`` only when every file is written (:func:`publish_run_dir`). A process killed on
  the way leaves the old ``out_dir`` as it was (or none, if there was none); the next run into
  the same ``out_dir`` deletes the leftovers of dead runs.
- A run that stops early (:class:`fqeval.errors.RunAbortedError`: cost cap, circuit breaker,
  quota or auth; or Ctrl-C) still writes and publishes its manifest, summary and report of what
  finished, with ``run.status = "stopped"`` and ``run.stop_reason``, and the report opens with
  a "Partial run" banner. A finished run has ``run.status = "complete"``.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fqeval._rundir import check_out_dir, make_partial_dir, publish_run_dir
from fqeval._version import __version__
from fqeval.data._records import EvalData
from fqeval.engine import (
    EngineOptions,
    JudgmentStore,
    PriceTable,
    RunStats,
    default_store_path,
    load_prices,
    run_judgments,
)
from fqeval.engine._judgment import Judgment
from fqeval.errors import RunAbortedError, UsageError
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
    """What a finished run produced.

    ``invalid`` counts every judgment that ended without a valid verdict, ``failures`` (part of
    ``invalid``) those whose call failed outright (not stored; a rerun asks them again).
    ``status`` is ``"complete"``, or ``"stopped"`` with ``stop_reason`` for a partial run.
    """

    out_dir: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]
    judgments: int
    invalid: int
    failures: int = 0
    status: str = "complete"
    stop_reason: str | None = None


#: ``run.stop_reason`` of a run stopped by Ctrl-C
INTERRUPTED = "interrupted (Ctrl-C)"


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; raised once its partial run directory is in place.

    ``str(err)`` is the line to show (how many judgments are stored and that a rerun resumes);
    ``result`` describes the partial run. A ``KeyboardInterrupt``, so code that catches that
    keeps working.
    """

    def __init__(self, message: str, result: RunResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class PreparedRun:
    """What :func:`prepare_run` checked and built; nothing of it touches the disk."""

    out_dir: Path  # absolute, symlinks resolved
    protocol: Protocol
    judges: list[Judge]
    prices: PriceTable


def build_judges(config: RunConfig, *, require_key: bool | None = None) -> list[Judge]:
    """Judges named by ``config.judges`` (a panel when several).

    ``require_key`` (default: not ``--replay-only``): whether an API judge needs its key; a run
    that makes no call (``--replay-only``, ``--dry-run``) needs none.
    """
    if require_key is None:
        require_key = not config.engine.replay_only
    return [
        make_judge(
            spec,
            base_urls=config.base_urls,
            api_key_env=config.api_key_env,
            request_timeout=config.engine.request_timeout,
            require_key=require_key,
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


def prepare_run(
    config: RunConfig, data: EvalData, *, require_key: bool | None = None
) -> PreparedRun:
    """Check everything a run needs and build its parts, creating nothing on disk.

    Checks, in order: ``n_boot`` (at least 1), the report formats, ``out_dir`` (not a file, its
    parent writable, and if it exists, holding nothing but a run's files: a run replaces it
    whole), the protocol against the data (the first task is built, which checks
    ``--reference`` and the prompts), the price table, the judge specs (for ``openai:``
    judges pure construction, no network) and that no judge is given twice. Raises
    :class:`fqeval.errors.FqevalError` (one line naming the option) on the first problem.
    """
    from fqeval.reports._write import parse_formats

    if config.n_boot < 1:
        raise UsageError(f"--bootstrap: needs at least 1 resample, got {config.n_boot}")
    if config.formats:
        parse_formats(",".join(config.formats))
    out_dir = check_out_dir(config.out_dir)
    protocol = build_protocol(config)
    next(iter(TaskStream(protocol, data)), None)
    prices = load_prices(config.prices_path)
    judges = build_judges(config, require_key=require_key)
    specs = [judge.spec for judge in judges]
    twice = next((spec for spec in specs if specs.count(spec) > 1), None)
    if twice is not None:
        raise UsageError(f"--judge: {twice} is given twice (a panel needs distinct judges)")
    return PreparedRun(out_dir, protocol, judges, prices)


def run_evaluation(
    config: RunConfig,
    data: EvalData,
    *,
    progress: Any = None,
    on_judgment: Callable[[Judgment], None] | None = None,
) -> RunResult:
    """Run ``config`` over ``data`` and write the run directory; see the module docstring.

    Nothing is created (run directory, store) until :func:`prepare_run` has passed. Raises
    :class:`fqeval.errors.RunAbortedError` when the engine stops early (circuit breaker, cost
    cap, quota or auth) and :class:`RunInterrupted` on Ctrl-C, both after the partial run
    directory (manifest, summary, report of what finished, ``run.status = "stopped"``) is in
    place and the store has committed every finished judgment.
    """
    plan = prepare_run(config, data)
    store = open_store(config)
    try:
        partial = make_partial_dir(plan.out_dir)
    except BaseException:
        if store is not None:
            store.close()
        raise
    try:
        judged = _judge(config, data, plan, store, partial, progress, on_judgment)
        result = _write_run(config, data, plan, store, partial, judged)
        publish_run_dir(partial, plan.out_dir)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if isinstance(judged.stop, RunAbortedError):
        raise judged.stop
    if judged.stop is not None:
        stored = result.judgments - result.failures
        where = (
            f"{stored} judgments are stored in {store.path}; rerun the same command to resume"
            if store is not None
            else f"{result.judgments} judgments finished (no store: a rerun starts over)"
        )
        raise RunInterrupted(where, result) from None
    return result


@dataclass
class _Judged:
    """How the engine part of a run ended: what finished, and why it stopped if it did."""

    started: str
    columns: JudgmentColumns
    invalid: int
    stats: RunStats | None
    stop: BaseException | None = None
    stop_reason: str | None = None


class _StatsTap:
    """A progress listener that keeps the engine's latest stats (the engine hands them to
    ``finish`` also when Ctrl-C cancels the run) and forwards every call to ``inner``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.stats: RunStats | None = None

    def start(self, total: int | None) -> None:
        if self.inner is not None:
            self.inner.start(total)

    def advance(self, judgment: Judgment, stats: RunStats) -> None:
        self.stats = stats
        if self.inner is not None:
            self.inner.advance(judgment, stats)

    def finish(self, stats: RunStats) -> None:
        self.stats = stats
        if self.inner is not None:
            self.inner.finish(stats)


def _judge(
    config: RunConfig,
    data: EvalData,
    plan: PreparedRun,
    store: JudgmentStore | None,
    run_dir: Path,
    progress: Any,
    on_judgment: Callable[[Judgment], None] | None,
) -> _Judged:
    """Judge every task, streaming ``judgments.jsonl`` into ``run_dir``; a stop is returned."""
    protocol, judges = plan.protocol, plan.judges
    tap = _StatsTap(progress)
    judged = _Judged(started=_now(), columns=JudgmentColumns(), invalid=0, stats=None)

    # line-buffered: the file is never more than one judgment behind the store
    with (run_dir / "judgments.jsonl").open("w", encoding="utf-8", buffering=1) as jsonl:

        def collect(judgment: Judgment) -> None:
            record = judgment.to_record()
            jsonl.write(json.dumps(record, ensure_ascii=False) + "\n")
            judged.invalid += not judgment.valid
            judged.columns.add(record)
            if on_judgment is not None:
                on_judgment(judgment)

        async def go() -> RunStats:
            try:
                return await run_judgments(
                    TaskStream(protocol, data),
                    protocol,
                    judges,
                    store=store,
                    options=config.engine,
                    on_judgment=collect,
                    progress=tap,
                    prices=plan.prices,
                )
            finally:
                for judge in judges:
                    await judge.aclose()

        try:
            judged.stats = asyncio.run(go())
        except RunAbortedError as err:
            stats = err.stats if isinstance(err.stats, RunStats) else tap.stats
            judged.stats, judged.stop, judged.stop_reason = stats, err, str(err)
        except (KeyboardInterrupt, asyncio.CancelledError) as err:
            judged.stats, judged.stop, judged.stop_reason = tap.stats, err, INTERRUPTED
        finally:
            if store is not None:
                store.close()
    return judged


def _run_status(judged: _Judged) -> dict[str, Any]:
    """The manifest's and summary's ``run`` block: the engine's stats plus status and reason."""
    stats = judged.stats
    block: dict[str, Any] = (
        stats.as_dict()
        if stats is not None
        else {"total": None, "done": judged.columns.count, "invalid": judged.invalid}
    )
    block["failures"] = stats.failures if stats is not None else 0
    block["status"] = "stopped" if judged.stop is not None else "complete"
    block["stop_reason"] = judged.stop_reason
    return block


def _write_run(
    config: RunConfig,
    data: EvalData,
    plan: PreparedRun,
    store: JudgmentStore | None,
    out_dir: Path,
    judged: _Judged,
) -> RunResult:
    """Write manifest, summary and reports of what ``judged`` finished into ``out_dir``."""
    protocol, judges, columns = plan.protocol, plan.judges, judged.columns
    started, invalid = judged.started, judged.invalid

    from fqeval.analysis import judgments_frame_from_columns, summarize
    from fqeval.reports._runs import RunDir
    from fqeval.reports._write import write_reports

    run_stats = _run_status(judged)
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
    # the run is labelled and located by where it will be published, not by its partial dir
    final = RunDir(Path(config.out_dir), plan.out_dir.name, summary, manifest, frame)
    write_reports([final], config.formats, out_dir)
    return RunResult(
        Path(config.out_dir),
        summary,
        manifest,
        len(frame),
        invalid,
        failures=int(run_stats["failures"]),
        status=str(run_stats["status"]),
        stop_reason=judged.stop_reason,
    )


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
