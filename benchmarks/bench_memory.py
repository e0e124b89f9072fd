"""Peak memory of a 100,000-judgment run.

Run from the repository root::

    python -m benchmarks.bench_memory                      # 100k judgments, instant judge
    python -m benchmarks.bench_memory --judge http --n 20000
    python -m benchmarks.bench_memory --pipeline           # the whole `fqeval run` pipeline

Synthetic FQ-Eval-shaped data (``n / 5`` rows x 5 systems) is judged in score mode with the
real score protocol; judgments stream to a fresh SQLite store and to a JSONL file, as a run
does. ``--judge instant`` answers in-process at once (the run takes about a minute, and the
HTTP client's memory does not grow with the number of judgments); ``--judge http`` uses the
fake judge process over loopback. RSS is sampled every 5% of the run, so the table shows
whether memory grows with the run (it must not: nothing may hold all judgments).
``--pipeline`` measures ``fqeval.runner.run_evaluation`` (engine + judgments.jsonl + summary +
report) with the heuristic judge instead of the engine alone. Target: peak RSS <= 400 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_throughput import (  # noqa: E402
    InstantJudge,
    fake_judge,
    machine_info,
    synthetic_data,
)
from fqeval.engine import (  # noqa: E402
    EngineOptions,
    Judgment,
    JudgmentStore,
    RunStats,
    run_judgments,
)
from fqeval.judges import Judge, make_judge  # noqa: E402
from fqeval.protocols import make_protocol  # noqa: E402


def rss_mb() -> float:
    """Current resident set size in MB (from /proc; falls back to the peak)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (ru_maxrss is KB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


class RssSampler:
    """A progress listener recording RSS every 5% of the judgments."""

    def __init__(self, total: int) -> None:
        self.every = max(1, total // 20)
        self.samples: list[tuple[int, float]] = []

    def start(self, total: int | None) -> None:
        self.samples.append((0, rss_mb()))

    def advance(self, judgment: Judgment, stats: RunStats) -> None:
        if stats.done % self.every == 0:
            self.samples.append((stats.done, rss_mb()))

    def finish(self, stats: RunStats) -> None:
        self.samples.append((stats.done, rss_mb()))


def engine_memory(n: int, judge: Judge, concurrency: int) -> tuple[list[tuple[int, float]], float]:
    data = synthetic_data(rows=n // 5)
    protocol = make_protocol("score")
    sampler = RssSampler(n)
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "judgments.jsonl", "w") as out:
        store = JudgmentStore(Path(tmp) / "store.sqlite")

        def write(judgment: Judgment) -> None:
            out.write(json.dumps(judgment.to_record(), ensure_ascii=False) + "\n")

        started = time.perf_counter()
        try:
            stats = asyncio.run(
                run_judgments(
                    protocol.tasks(data), protocol, [judge], store=store,
                    options=EngineOptions(concurrency=concurrency), on_judgment=write,
                    progress=sampler,
                )
            )  # fmt: skip
        finally:
            store.close()
        assert stats.done == n and stats.invalid == 0, stats.as_dict()
    return sampler.samples, time.perf_counter() - started


def pipeline_memory(
    n: int, base_url: str | None = None, concurrency: int = 64
) -> tuple[list[tuple[int, float]], float]:
    """The whole pipeline; the heuristic judge, or ``openai:bench-judge`` at ``base_url``."""
    from fqeval.runner import RunConfig, run_evaluation

    data = synthetic_data(rows=n // 5)
    sampler = RssSampler(n)
    with tempfile.TemporaryDirectory() as tmp:
        config = RunConfig(
            mode="score",
            judges=("openai:bench-judge",) if base_url else ("heuristic",),
            base_urls=(base_url,) if base_url else (),
            out_dir=Path(tmp) / "run",
            store_path=Path(tmp) / "store.sqlite",
            engine=EngineOptions(concurrency=concurrency),
            n_boot=200,
        )
        started = time.perf_counter()
        run_evaluation(config, data, progress=sampler)
    return sampler.samples, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=100_000, help="judgments (a multiple of 5)")
    parser.add_argument("--judge", choices=("instant", "http"), default="instant")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--pipeline", action="store_true", help="measure fqeval.runner instead")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)
    baseline = rss_mb()
    what: str
    if args.pipeline and args.judge == "http":
        with fake_judge(0.0) as url:
            samples, wall = pipeline_memory(args.n, url, args.concurrency)
        what = (
            "fqeval.runner.run_evaluation (engine + jsonl + summary + report), openai backend "
            "-> fake judge process (loopback HTTP)"
        )
    elif args.pipeline:
        samples, wall = pipeline_memory(args.n, None, args.concurrency)
        what = "fqeval.runner.run_evaluation, heuristic judge (engine + jsonl + summary + report)"
    elif args.judge == "http":
        with fake_judge(0.0) as url:
            judge = make_judge("openai:bench-judge", base_urls=[url])
            samples, wall = engine_memory(args.n, judge, args.concurrency)
        what = "engine, openai backend -> fake judge process (loopback HTTP)"
    else:
        samples, wall = engine_memory(args.n, InstantJudge(), args.concurrency)
        what = "engine, instant in-process judge"
    peak = peak_rss_mb()
    lines: list[Any] = [
        "# Memory of a long run",
        "",
        machine_info(),
        "",
        f"Run: {args.n:,} score judgments, synthetic data, {what}, concurrency "
        f"{args.concurrency}; store + JSONL streamed. Rerun: `python -m benchmarks.bench_memory"
        f"{' --pipeline' if args.pipeline else ''} --n {args.n}"
        f"{' --judge http' if args.judge == 'http' else ''}`.",
        "",
        "| judgments done | RSS (MB) |",
        "|---:|---:|",
    ]
    step = max(1, len(samples) // 6)
    for done, mb in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        lines.append(f"| {done:,} | {mb:.0f} |")
    lines += [
        "",
        f"RSS before the run (modules loaded): {baseline:.0f} MB; **peak RSS {peak:.0f} MB** "
        f"(target <= 400 MB); wall {wall:.1f} s ({args.n / wall:,.0f} judgments/s).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
