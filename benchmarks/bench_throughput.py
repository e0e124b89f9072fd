"""Judge throughput, cached replay and resume cost of the engine.

Run from the repository root (the fake judge in ``tests/fakejudge`` is the server)::

    python -m benchmarks.bench_throughput                       # everything, ~3-5 minutes
    python -m benchmarks.bench_throughput --parts throughput --concurrency 64 --repeats 5
    python -m benchmarks.bench_throughput --out benchmarks/RESULTS-engine.md

Data: the sample CSV's 5,000 score judgments (5 systems x 1,000 rows) with the real score
protocol when ``--data`` or ``$FQEVAL_OFFICIAL_DIR/sample_data_raw.csv`` exists; otherwise
synthetic FQ-Eval-shaped data of the same size (the table says which).

1. **Throughput.** A fake judge process answering after a fixed latency ``L``; the engine
   (openai backend, store, judgments streamed to a JSONL file) at concurrency ``C`` against
   the ideal ``C / L`` and against a raw client posting the same bodies over keep-alive
   connections with nothing but asyncio streams (the practical ceiling on this machine; a bare
   ``httpx`` client measured slower than fqeval at C >= 64 here, its pool being the
   bottleneck). ``N = min(5000, 40 * C)`` judgments per point (about
   4 ideal seconds), fresh store each time, median over ``--repeats``. The client's CPU per
   judgment (``process_time``) covers everything in our process: rendering prompts, the SDK
   and HTTP, parsing, the store; "harness CPU" repeats the run with an instant in-process
   judge, isolating our own code (render, key, store, parse, JSONL).
2. **Cached replay.** The 5,000 judgments again from the store: wall time and requests (0).
3. **Resume.** A child process runs the 5,000 with faults (``--fault-rate``) and is killed
   with SIGKILL once half the judgments are stored; a second run finishes. Requests sent in
   total vs judgments plus the extra requests the faults caused (retries and re-asks); the
   difference is what the kill cost (calls in flight, at most ``C``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from fqeval.data import EvalData, load_data  # noqa: E402
from fqeval.data._records import CRITERIA_ORDER, Criterion, Item, QAPair  # noqa: E402
from fqeval.engine import (  # noqa: E402
    EngineOptions,
    Judgment,
    JudgmentStore,
    RunStats,
    run_judgments,
)
from fqeval.judges import Judge, JudgeReply, JudgeRequest, make_judge  # noqa: E402
from fqeval.protocols import Protocol, make_protocol  # noqa: E402

SYSTEMS = ("final_fq", "my_fq1", "my_fq2", "my_fq3", "my_fq4")
#: requests the server saw for these faults came on top of the first attempts
EXTRA_REQUEST_FAULTS = (
    "429", "500", "503", "drop", "stall", "garbage", "empty", "bad_label", "out_of_range",
    "missing_key",
)  # fmt: skip


# ----------------------------------------------------------------------------- machine info


def machine_info() -> str:
    """Markdown about the machine (benchmarks/_machine.py when present) and its load now."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    try:
        from benchmarks._machine import machine_markdown

        return f"{machine_markdown(['fqeval', 'openai', 'httpx'])}\n- Load average: {load}"
    except ImportError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"Machine: {cpu}, {os.cpu_count()} CPUs (load {load}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


# ----------------------------------------------------------------------------- the judge process


@contextmanager
def fake_judge(latency: float, *extra: str) -> Iterator[str]:
    """A fake judge process (``tests/fakejudge``); yields its base URL."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "url"
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakejudge", "--port-file", str(port_file),
             "--latency", str(latency), "--policy", "hash", *extra],
            cwd=REPO_ROOT, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not (port_file.exists() and port_file.read_text().strip()):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the fake judge did not start")
                time.sleep(0.05)
            yield port_file.read_text().strip()
        finally:
            process.terminate()
            process.wait(timeout=30)


def server_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=30) as response:
        return json.load(response)


def reset_server(url: str) -> None:
    request = urllib.request.Request(
        url.removesuffix("/v1") + "/stats/reset", data=b'{"faults": true}', method="POST"
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


# ----------------------------------------------------------------------------- data


def synthetic_data(rows: int = 1000, systems: Sequence[str] = SYSTEMS) -> EvalData:
    """FQ-Eval-shaped data: ``rows`` (QA pair, criterion) items with one follow-up per system,
    texts of realistic length (question ~80, answer ~900, follow-up ~90 characters)."""
    criteria = [Criterion(name, f"Definition of {name}. " * 6) for name in CRITERIA_ORDER]
    items = []
    for row in range(rows):
        qa = QAPair(
            question_id=f"q_{row // 5:04d}",
            question=f"How should I plan question {row} about a topic I am learning?",
            answer=("An answer sentence with some practical detail. " * 18).strip(),
            complexity="low" if row % 2 else "high",
            category="Learning & Education",
        )
        candidates = {
            system: f"Could you show me {system} angle number {row} on this, with an example?"
            for system in systems
        }
        items.append(Item(qa=qa, criterion=criteria[row % 5], candidates=candidates))
    return EvalData(items=tuple(items), systems=tuple(systems), source="synthetic")


def benchmark_data(path: str | None) -> tuple[EvalData, str]:
    official = os.environ.get("FQEVAL_OFFICIAL_DIR")
    candidate = path or (str(Path(official) / "sample_data_raw.csv") if official else None)
    if candidate and Path(candidate).is_file():
        return load_data(candidate), f"{Path(candidate).name} (score protocol)"
    return synthetic_data(), "synthetic FQ-Eval-shaped data (score protocol)"


# ----------------------------------------------------------------------------- runs


class SleepJudge(Judge):
    """An in-process judge that answers after ``latency`` seconds (no HTTP): the engine's
    scheduling ceiling, free of any server's limits."""

    spec = family = model = "sleep"

    def __init__(self, latency: float) -> None:
        self.latency = latency

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        await asyncio.sleep(self.latency)
        return JudgeReply(text='{"score": 3, "reason": "fine"}', prompt_tokens=1)


class InstantJudge(Judge):
    """An in-process judge that answers at once: isolates our own per-judgment cost."""

    spec = family = model = "instant"

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        return JudgeReply(text='{"score": 3, "reason": "fine"}', prompt_tokens=1)


def engine_run(
    data: EvalData,
    protocol: Protocol,
    judge: Judge,
    store_path: Path | None,
    options: EngineOptions,
    limit: int | None = None,
) -> tuple[float, float, RunStats]:
    """Run the engine like the pipeline does (tasks rendered lazily, JSONL streamed);
    returns (wall seconds, CPU seconds of this process, stats)."""
    tasks = protocol.tasks(data)
    if limit is not None:
        tasks = (t for i, t in zip(range(limit), tasks, strict=False))
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "judgments.jsonl", "w") as out:
        store = JudgmentStore(store_path) if store_path is not None else None

        def write(judgment: Judgment) -> None:
            out.write(json.dumps(judgment.to_record(), ensure_ascii=False) + "\n")

        wall, cpu = time.perf_counter(), time.process_time()
        try:
            stats = asyncio.run(
                run_judgments(tasks, protocol, [judge], store=store, options=options,
                              on_judgment=write)
            )  # fmt: skip
        finally:
            if store is not None:
                store.close()
        return time.perf_counter() - wall, time.process_time() - cpu, stats


async def _raw_baseline(url: str, bodies: list[bytes], concurrency: int) -> None:
    """``concurrency`` keep-alive connections, each posting bodies and reading the replies with
    nothing but asyncio streams: the least a client can do per request."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path.rstrip("/") + "/chat/completions"
    queue = iter(bodies)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for body in queue:
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    "Authorization: Bearer sk-bench\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                )
                writer.write(head.encode() + body)
                headers = await reader.readuntil(b"\r\n\r\n")
                if not headers.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(headers.split(b"\r\n", 1)[0].decode())
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in headers.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                reply = json.loads(await reader.readexactly(length))
                reply["choices"][0]["message"]["content"]
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def raw_baseline(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for posting every body."""
    started, cpu = time.perf_counter(), time.process_time()
    asyncio.run(_raw_baseline(url, bodies, concurrency))
    return time.perf_counter() - started, time.process_time() - cpu


async def _httpx_baseline(url: str, bodies: list[bytes], concurrency: int) -> None:
    """The same bodies through a bare ``httpx.AsyncClient`` (the HTTP stack under the openai
    SDK), ``concurrency`` requests in flight."""
    import httpx

    queue = iter(bodies)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            for body in queue:
                response = await client.post("/chat/completions", content=body, headers=headers)
                response.raise_for_status()
                response.json()["choices"][0]["message"]["content"]

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def httpx_baseline(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for posting every body with bare httpx."""
    started, cpu = time.perf_counter(), time.process_time()
    asyncio.run(_httpx_baseline(url, bodies, concurrency))
    return time.perf_counter() - started, time.process_time() - cpu


def request_bodies(data: EvalData, protocol: Protocol, n: int, model: str) -> list[bytes]:
    bodies = []
    for task, _ in zip(protocol.tasks(data), range(n), strict=False):
        sampling = protocol.sampling()
        bodies.append(
            json.dumps(
                {
                    "model": model,
                    "messages": [m.as_dict() for m in task.messages],
                    "temperature": sampling.temperature,
                    "max_tokens": sampling.max_tokens,
                    "response_format": {
                        "type": "json_schema",
                        "json_schema": {
                            "name": task.mode,
                            "schema": dict(task.schema),
                            "strict": True,
                        },
                    },
                }
            ).encode()
        )
    return bodies


# ----------------------------------------------------------------------------- the three parts


def part_throughput(
    data: EvalData, latency: float, levels: Sequence[int], repeats: int
) -> list[str]:
    protocol = make_protocol("score")
    rows = [
        "| C | N | ideal C/L (j/s) | in-process judge (j/s) | / ideal | HTTP: fqeval (j/s) "
        "| / ideal | HTTP: raw client (j/s) | fqeval / raw | HTTP: bare httpx (j/s) "
        "| fqeval / httpx | CPU ms/judgment fqeval | CPU ms/request raw | CPU ms/request httpx |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with fake_judge(latency) as url, tempfile.TemporaryDirectory() as tmp:
        judge = make_judge("openai:bench-judge", base_urls=[url], request_timeout=60)
        for level in levels:
            n = min(5000, 40 * level, len(data.items) * len(data.systems))
            bodies = request_bodies(data, protocol, n, "bench-judge")
            ours, base, cpu, base_cpu, local = [], [], [], [], []
            bare, bare_cpu = [], []
            for repeat in range(repeats):
                options = EngineOptions(concurrency=level)
                store = Path(tmp) / f"sleep-c{level}-{repeat}.sqlite"
                wall, _, _ = engine_run(
                    data, protocol, SleepJudge(latency), store, options, limit=n
                )
                local.append(n / wall)
                store = Path(tmp) / f"c{level}-{repeat}.sqlite"
                options = EngineOptions(concurrency=level, request_timeout=60)
                wall, used, stats = engine_run(data, protocol, judge, store, options, limit=n)
                assert stats.invalid == 0, stats.as_dict()
                ours.append(n / wall)
                cpu.append(1000 * used / n)
                base_wall, base_used = raw_baseline(url, bodies, level)
                base.append(n / base_wall)
                base_cpu.append(1000 * base_used / n)
                bare_wall, bare_used = httpx_baseline(url, bodies, level)
                bare.append(n / bare_wall)
                bare_cpu.append(1000 * bare_used / n)
            ideal = level / latency
            rate, ceiling = statistics.median(ours), statistics.median(base)
            inproc = statistics.median(local)
            rows.append(
                f"| {level} | {n} | {ideal:,.0f} | {inproc:,.0f} | {inproc / ideal:.2f} | "
                f"{rate:,.0f} | {rate / ideal:.2f} | "
                f"{ceiling:,.0f} | {rate / ceiling:.2f} | {statistics.median(bare):,.0f} | "
                f"{rate / statistics.median(bare):.2f} | {statistics.median(cpu):.2f} | "
                f"{statistics.median(base_cpu):.2f} | {statistics.median(bare_cpu):.2f} |"
            )
    # our own code alone: an instant in-process judge, fresh store, JSONL
    with tempfile.TemporaryDirectory() as tmp:
        own = []
        n = len(data.items) * len(data.systems)
        for repeat in range(repeats):
            store = Path(tmp) / f"instant-{repeat}.sqlite"
            _, used, _ = engine_run(
                data, protocol, InstantJudge(), store, EngineOptions(concurrency=64)
            )
            own.append(1000 * used / n)
    rows.append("")
    rows.append(
        "In-process judge: the engine (store, JSONL, real prompts and parser) with a judge that "
        "sleeps L and answers, no HTTP: the scheduling ceiling. HTTP columns: the fake judge "
        "process (tests/fakejudge) over loopback, driven by fqeval (openai SDK) and by a raw "
        "client (asyncio streams, keep-alive, no HTTP library) that shows what the server and "
        "the machine allow, and by a bare httpx.AsyncClient (the HTTP stack the openai SDK "
        "sits on, so the ceiling of any SDK-based client). Where fqeval trails the raw client, "
        "the client's CPU is the limit: compare the CPU columns."
    )
    rows.append("")
    rows.append(
        f"Harness CPU per judgment (render + key + store + parse + JSONL, instant in-process "
        f"judge, {n:,} judgments): **{statistics.median(own):.3f} ms** (target < 1 ms)."
    )
    return rows


def part_replay(data: EvalData, repeats: int) -> list[str]:
    protocol = make_protocol("score")
    n = len(data.items) * len(data.systems)
    with fake_judge(0.0) as url, tempfile.TemporaryDirectory() as tmp:
        judge = make_judge("openai:bench-judge", base_urls=[url])
        store = Path(tmp) / "replay.sqlite"
        first, _, _ = engine_run(data, protocol, judge, store, EngineOptions(concurrency=64))
        sent = server_stats(url)["requests"]
        walls = []
        for _ in range(repeats):
            wall, _, stats = engine_run(data, protocol, judge, store, EngineOptions())
            assert stats.judges[judge.spec].cache_hits == n
            walls.append(wall)
        replay_requests = server_stats(url)["requests"] - sent
    return [
        "| judgments | first run (s, latency 0) | cached replay (s, median) | requests during replays |",
        "|---:|---:|---:|---:|",
        f"| {n:,} | {first:.2f} | {statistics.median(walls):.2f} | {replay_requests} |",
        "",
        "Target: replay <= 3 s for 5,000 judgments with 0 requests.",
    ]


def _resume_child(args: argparse.Namespace) -> int:
    data, _ = benchmark_data(args.data)
    judge = make_judge("openai:bench-judge", base_urls=[args.url], request_timeout=5)
    options = EngineOptions(concurrency=args.child_concurrency, request_timeout=5,
                            backoff_base=0.05, backoff_max=0.5)  # fmt: skip
    engine_run(data, make_protocol("score"), judge, Path(args.store), options)
    return 0


def _stored(store: Path) -> int:
    try:
        db = sqlite3.connect(store)
        try:
            return int(db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def part_resume(
    data_arg: str | None, data: EvalData, fault_rate: float, concurrency: int
) -> list[str]:
    n = len(data.items) * len(data.systems)
    plan = ["--fault-rate", str(fault_rate), "--seed", "11", "--retry-after", "0.05",
            "--max-faults-per-key", "2"]  # fmt: skip
    with fake_judge(0.02, *plan) as url, tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "resume.sqlite"
        command = [sys.executable, "-m", "benchmarks.bench_throughput", "--resume-child",
                   "--url", url, "--store", str(store),
                   "--child-concurrency", str(concurrency)]  # fmt: skip
        if data_arg:
            command += ["--data", data_arg]
        child = subprocess.Popen(command, cwd=REPO_ROOT)
        while _stored(store) < n // 2:
            if child.poll() is not None:
                raise RuntimeError("the run finished before it could be killed")
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        at_kill = _stored(store)
        second = subprocess.run(command, cwd=REPO_ROOT, check=True)
        assert second.returncode == 0
        stats = server_stats(url)
        third_before = stats["requests"]
        subprocess.run(command, cwd=REPO_ROOT, check=True)
        third = server_stats(url)["requests"] - third_before
    faults = sum(stats["by_fault"].get(kind, 0) for kind in EXTRA_REQUEST_FAULTS)
    # identical prompts (two systems with the same text) are asked once per run
    distinct = len(
        {tuple(m.content for m in t.messages) for t in make_protocol("score").tasks(data)}
    )
    extra = stats["requests"] - distinct - faults
    twice = sum(1 for count in stats["completed_keys"].values() if count > 1)
    return [
        "| judgments | distinct prompts | stored at kill | requests | requests the faults "
        "caused | other extra requests | prompts answered twice | third run requests |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {n:,} | {distinct:,} | {at_kill:,} | {stats['requests']:,} | {faults:,} | {extra} "
        f"| {twice} | {third} |",
        "",
        f"Fault rate {fault_rate} spread over every fault kind but stalls (seed 11, at most 2 per "
        f"judgment), latency 20 ms, concurrency {concurrency}. Target: requests = distinct prompts "
        "+ fault-caused requests; only calls in flight at the kill (at most C) may be paid "
        'twice ("other extra" and "answered twice" count them).',
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--data", help="sample CSV (default: $FQEVAL_OFFICIAL_DIR/sample_data_raw.csv)"
    )
    parser.add_argument("--parts", default="throughput,replay,resume")
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", default="1,8,64,256")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    parser.add_argument("--resume-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--child-concurrency", type=int, default=16, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.resume_child:
        return _resume_child(args)
    data, described = benchmark_data(args.data)
    parts = {p.strip() for p in args.parts.split(",")}
    lines = [
        "# Engine benchmarks",
        "",
        machine_info(),
        "",
        f"Data: {described}. Rerun: `python -m benchmarks.bench_throughput`.",
    ]
    if "throughput" in parts:
        levels = [int(c) for c in args.concurrency.split(",")]
        lines += [
            "",
            f"## Throughput (L = {args.latency * 1000:.0f} ms, median of {args.repeats})",
            "",
        ]
        lines += part_throughput(data, args.latency, levels, args.repeats)
    if "replay" in parts:
        lines += ["", f"## Cached replay (median of {args.repeats})", ""]
        lines += part_replay(data, args.repeats)
    if "resume" in parts:
        lines += ["", "## Resume after SIGKILL at 50%", ""]
        lines += part_resume(args.data, data, args.fault_rate, 16)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
