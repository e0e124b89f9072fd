"""In-process vLLM judge vs ``vllm serve`` + fqeval's openai backend.

For a machine with a GPU and vLLM (``pip install 'fqeval[vllm]'``); it cannot run on CPU-only
machines. Run from the repository root::

    python -m benchmarks.gpu_vllm --model Qwen/Qwen2.5-7B-Instruct
    python -m benchmarks.gpu_vllm --model Qwen/Qwen2.5-7B-Instruct --n 5000 \\
        --data $FQEVAL_OFFICIAL_DIR/sample_data_raw.csv --concurrency 256 --out gpu.md

Both variants judge the same prompts (score mode, the real score protocol: the shared rubric
comes first in every prompt, so the prefix cache can reuse it) with temperature 0, the reply
schema as structured output, and a fresh judgment store. Each variant runs in its own child
process so GPU memory is released in between:

- ``inprocess``: ``--judge vllm:MODEL`` (one ``LLM.chat`` per batch of ``--batch-size``);
- ``server``: ``vllm serve MODEL`` started here on ``--port``, then ``--judge openai:MODEL
  --base-url http://127.0.0.1:PORT/v1`` at ``--concurrency``.

Reported per variant: wall time (model loading excluded), prompts/s, output tokens/s, the
prefix-cache hit rate (cached prompt tokens / prompt tokens, from the replies' usage; for the
server, from ``/metrics`` counters when usage does not report cached tokens) and invalid
judgments. Extra vLLM engine arguments go after ``--``, e.g. ``-- --max-model-len 8192``
(they are given to both ``LLM(...)`` and ``vllm serve``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

RESULT_PREFIX = "GPU_VLLM_RESULT "


def _engine_kwargs(extra: list[str]) -> dict[str, Any]:
    """``--max-model-len 8192 --enforce-eager`` -> ``{"max_model_len": 8192, "enforce_eager": True}``."""
    kwargs: dict[str, Any] = {}
    i = 0
    while i < len(extra):
        name = extra[i].lstrip("-").replace("-", "_")
        if i + 1 < len(extra) and not extra[i + 1].startswith("--"):
            value: Any = extra[i + 1]
            for cast in (int, float):
                try:
                    value = cast(value)
                    break
                except ValueError:
                    continue
            i += 2
        else:
            value = True
            i += 1
        kwargs[name] = value
    return kwargs


def _tasks(args: argparse.Namespace) -> tuple[Any, Any]:
    from benchmarks.bench_throughput import benchmark_data
    from fqeval.protocols import make_protocol

    data, _ = benchmark_data(args.data)
    protocol = make_protocol("score")
    tasks = [t for t, _ in zip(protocol.tasks(data), range(args.n), strict=False)]
    return tasks, protocol


def _run(tasks: list[Any], protocol: Any, judge: Any, options: Any) -> dict[str, Any]:
    from fqeval.engine import JudgmentStore, run_judgments

    with tempfile.TemporaryDirectory() as tmp:
        store = JudgmentStore(Path(tmp) / "store.sqlite")
        started = time.perf_counter()
        try:
            stats = asyncio.run(
                run_judgments(tasks, protocol, [judge], store=store, options=options,
                              on_judgment=lambda _j: None)
            )  # fmt: skip
        finally:
            store.close()
        wall = time.perf_counter() - started
    s = stats.judges[judge.spec]
    return {
        "prompts": len(tasks),
        "wall_s": wall,
        "calls": s.calls,
        "invalid": s.invalid,
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "cached_tokens": s.cached_tokens,
        "latency_p50_s": s.latency_p50,
    }


def _child_inprocess(args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    from fqeval.engine import EngineOptions
    from fqeval.judges import make_judge

    tasks, protocol = _tasks(args)
    kwargs = {"enable_prefix_caching": True, **_engine_kwargs(extra)}
    judge = make_judge(f"vllm:{args.model}", **kwargs)
    loading = time.perf_counter()
    judge.load()  # type: ignore[attr-defined]  # the model loads outside the timed run
    result = _run(tasks, protocol, judge, EngineOptions(batch_size=args.batch_size))
    result["load_s"] = time.perf_counter() - loading - result["wall_s"]
    return result


def _metrics(port: int) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(
            r"^(vllm:[a-z_]*prefix_cache_[a-z_]+?)(?:_total)?(?:\{[^}]*\})? ([0-9.eE+-]+)$", line
        )
        if match:
            out[match.group(1)] = out.get(match.group(1), 0.0) + float(match.group(2))
    return out


def _child_server(args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    from fqeval.engine import EngineOptions
    from fqeval.judges import make_judge

    vllm = shutil.which("vllm")
    command = (
        [vllm, "serve"]
        if vllm
        else [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model"]
    )
    command += [args.model, "--port", str(args.port), "--enable-prefix-caching",
                "--enable-prompt-tokens-details", *extra]  # fmt: skip
    log = open(Path(tempfile.gettempdir()) / f"vllm-serve-{args.port}.log", "w")  # noqa: SIM115
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{args.port}/v1"
    try:
        loading = time.perf_counter()
        deadline = loading + args.server_timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"vllm serve exited with {server.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(base_url + "/models", timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"vllm serve did not come up; see {log.name}") from None
                time.sleep(2)
        load_s = time.perf_counter() - loading
        tasks, protocol = _tasks(args)
        judge = make_judge(f"openai:{args.model}", base_urls=[base_url], request_timeout=600)
        before = _metrics(args.port)
        result = _run(
            tasks, protocol, judge, EngineOptions(concurrency=args.concurrency, request_timeout=600)
        )
        after = _metrics(args.port)
        result["load_s"] = load_s
        result["metrics_delta"] = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
        return result
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _hit_rate(result: dict[str, Any]) -> float | None:
    if result["prompt_tokens"] and result["cached_tokens"]:
        return float(result["cached_tokens"]) / float(result["prompt_tokens"])
    delta = result.get("metrics_delta") or {}
    hits = next((v for k, v in delta.items() if k.endswith("prefix_cache_hits")), None)
    queries = next((v for k, v in delta.items() if k.endswith("prefix_cache_queries")), None)
    if hits is not None and queries:
        return hits / queries
    return 0.0 if result["prompt_tokens"] else None


def _gpu_name() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        return "; ".join(line.strip() for line in out.stdout.splitlines() if line.strip())
    except (OSError, subprocess.SubprocessError):
        return "unknown GPU"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--model", required=True, help="Hugging Face id or local path")
    parser.add_argument(
        "--data",
        help="sample CSV (default: $FQEVAL_OFFICIAL_DIR/sample_data_raw.csv, else synthetic)",
    )
    parser.add_argument("--n", type=int, default=1000, help="prompts to judge")
    parser.add_argument("--batch-size", type=int, default=512, help="in-process batch size")
    parser.add_argument(
        "--concurrency", type=int, default=256, help="requests in flight to the server"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--server-timeout", type=float, default=1200, help="seconds to wait for vllm serve"
    )
    parser.add_argument("--variants", default="inprocess,server")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", choices=("inprocess", "server"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        run = _child_inprocess if args.child == "inprocess" else _child_server
        print(RESULT_PREFIX + json.dumps(run(args, extra)), flush=True)
        return 0

    from benchmarks.bench_throughput import machine_info

    rows = [
        "| variant | prompts | load (s) | wall (s) | prompts/s | output tokens/s | prefix-cache hit rate | invalid |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
        command = [sys.executable, "-m", "benchmarks.gpu_vllm", *argv, "--child", variant]
        if extra:
            command += ["--", *extra]
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, env=os.environ.copy()
        )
        line = next((x for x in done.stdout.splitlines() if x.startswith(RESULT_PREFIX)), None)
        if done.returncode != 0 or line is None:
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            rows.append(f"| {variant} | failed (exit {done.returncode}) | | | | | | |")
            continue
        r = json.loads(line[len(RESULT_PREFIX) :])
        rate = _hit_rate(r)
        label = (
            "in-process `vllm:`"
            if variant == "inprocess"
            else f"`vllm serve` + `openai:` (C={args.concurrency})"
        )
        rows.append(
            f"| {label} | {r['prompts']:,} | {r['load_s']:.0f} | {r['wall_s']:.1f} | "
            f"{r['prompts'] / r['wall_s']:,.1f} | {r['completion_tokens'] / r['wall_s']:,.0f} | "
            f"{'n/a' if rate is None else f'{rate:.1%}'} | {r['invalid']} |"
        )
    text = "\n".join(
        [
            "# vLLM: in-process vs server",
            "",
            machine_info(),
            "",
            "",
            f"GPU: {_gpu_name()}. Model: `{args.model}`; score mode, temperature 0, structured "
            f"output. Rerun: `python -m benchmarks.gpu_vllm --model {args.model} --n {args.n}`.",
            "",
            *rows,
        ]
    )
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
