"""Preflight for ``--dry-run``: how many calls a run needs and what they may cost."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fqeval.engine._key import cache_key
from fqeval.engine._options import EngineOptions
from fqeval.engine._prices import PriceTable
from fqeval.engine._runner import estimate_prompt_tokens, key_request, read_row, store_answers
from fqeval.engine._store import JudgmentStore
from fqeval.judges._base import Judge
from fqeval.protocols._base import Protocol, Task

#: output tokens of a typical judgment reply (a short JSON object with a one-sentence reason)
TYPICAL_OUTPUT_TOKENS = 80


@dataclass
class JudgeEstimate:
    """What one judge of the panel would be asked: exactly the calls the engine makes.

    The engine asks each distinct question once per run: a question is its store key
    (:func:`fqeval.engine.cache_key` of :func:`key_request`), so tasks whose rendered prompt,
    schema and sampling are identical (e.g. two systems proposing the same text in score mode)
    share one call. Hence:

    - ``judgments``: tasks (one judgment each, as ``judgments.jsonl`` will list them);
    - ``distinct_prompts``: distinct store keys among them; ``duplicates`` =
      ``judgments - distinct_prompts`` (answered by the one call of their prompt);
    - ``cache_hits``: distinct prompts the store answers (a row exists and ``use_cache`` is on;
      with ``retry_invalid`` only a row that parses as valid under the current parser);
    - ``calls`` = ``distinct_prompts - cache_hits``, or 0 with ``replay_only`` (then
      ``missing`` prompts end invalid). First attempts only: retries and re-asks come on top
      and cannot be known in advance.

    ``prompt_tokens`` is the ``ceil(chars / 4)`` estimate of those calls' messages;
    ``completion_tokens`` assumes a typical reply of :data:`TYPICAL_OUTPUT_TOKENS` tokens,
    ``completion_tokens_max`` the ``max_tokens`` cap. ``cost`` and ``cost_max`` price them;
    ``priced`` is false for models missing from the price table (cost 0).
    """

    judge: str
    model: str
    judgments: int = 0
    distinct_prompts: int = 0
    cache_hits: int = 0
    calls: int = 0
    missing: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    completion_tokens_max: int = 0
    cost: float = 0.0
    cost_max: float = 0.0
    priced: bool = False

    @property
    def duplicates(self) -> int:
        return self.judgments - self.distinct_prompts

    def as_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "model": self.model,
            "judgments": self.judgments,
            "distinct_prompts": self.distinct_prompts,
            "duplicates": self.duplicates,
            "cache_hits": self.cache_hits,
            "calls": self.calls,
            "missing": self.missing,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "completion_tokens_max": self.completion_tokens_max,
            "cost_usd": round(self.cost, 6),
            "cost_max_usd": round(self.cost_max, 6),
            "priced": self.priced,
        }


@dataclass
class RunEstimate:
    """The estimate of a whole run, one :class:`JudgeEstimate` per judge spec."""

    judges: dict[str, JudgeEstimate] = field(default_factory=dict)
    replay_only: bool = False

    @property
    def calls(self) -> int:
        return sum(e.calls for e in self.judges.values())

    @property
    def cost(self) -> float:
        return sum(e.cost for e in self.judges.values())

    @property
    def cost_max(self) -> float:
        return sum(e.cost_max for e in self.judges.values())

    def describe(self) -> str:
        """A plain-text table for ``--dry-run``: one line per judge, then the totals."""
        header = (
            "judge",
            "judgments",
            "prompts",
            "duplicates",
            "stored",
            "calls",
            "prompt tok",
            "output tok (max)",
            "cost USD (max)",
        )
        rows = [header]
        for e in self.judges.values():
            cost = f"{e.cost:.4f} ({e.cost_max:.4f})" if e.priced else "0 (not in price table)"
            rows.append(
                (
                    e.judge,
                    f"{e.judgments:,}",
                    f"{e.distinct_prompts:,}",
                    f"{e.duplicates:,}",
                    f"{e.cache_hits:,}",
                    f"{e.calls:,}",
                    f"~{e.prompt_tokens:,}",
                    f"~{e.completion_tokens:,} ({e.completion_tokens_max:,})",
                    cost,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in rows
        ]
        lines.append(
            "prompts: distinct questions (identical prompts are asked once per run); "
            "stored: prompts the judgment store answers; calls = prompts - stored"
        )
        if self.replay_only:
            missing = sum(e.missing for e in self.judges.values())
            lines.append(
                f"--replay-only: no calls; {missing:,} prompt(s) not in the store would end invalid"
            )
        lines.append(
            f"total: {self.calls:,} calls, estimated ${self.cost:.4f} (at most ${self.cost_max:.4f} "
            "if every reply used max_tokens); retries and re-asks come on top"
        )
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "cost_usd": round(self.cost, 6),
            "cost_max_usd": round(self.cost_max, 6),
            "replay_only": self.replay_only,
            "judges": {spec: e.as_dict() for spec, e in self.judges.items()},
        }


def estimate_run(
    tasks: Iterable[Task],
    protocol: Protocol,
    judges: Sequence[Judge],
    *,
    store: JudgmentStore | None,
    options: EngineOptions,
    prices: PriceTable,
) -> RunEstimate:
    """Count the calls a run would make, with token and cost estimates; makes no call.

    Counts what :func:`run_judgments` asks with the same ``options``: one call per distinct
    store key per judge, less the keys the store answers (see :class:`JudgeEstimate`); none
    with ``replay_only``. Holds one key per distinct prompt and judge, never the tasks.
    """
    sampling = protocol.sampling()
    estimate = RunEstimate(replay_only=options.replay_only)
    for judge in judges:
        estimate.judges[judge.spec] = JudgeEstimate(
            judge=judge.spec, model=judge.model, priced=prices.known(judge.model)
        )
    seen: dict[str, set[str]] = {judge.spec: set() for judge in judges}
    for task in tasks:
        request = key_request(task, protocol)
        prompt: int | None = None
        for judge in judges:
            entry = estimate.judges[judge.spec]
            entry.judgments += 1
            key = cache_key(judge, request)
            if key in seen[judge.spec]:
                continue  # the same question again: answered by its one call (or store row)
            seen[judge.spec].add(key)
            entry.distinct_prompts += 1
            if _is_hit(store, options, protocol, task, key):
                entry.cache_hits += 1
                continue
            if options.replay_only:
                entry.missing += 1
                continue
            if prompt is None:
                prompt = estimate_prompt_tokens(task.messages)
            price = prices.price(judge.model)
            entry.calls += 1
            entry.prompt_tokens += prompt
            entry.completion_tokens += TYPICAL_OUTPUT_TOKENS
            entry.completion_tokens_max += sampling.max_tokens
            entry.cost += price.cost(prompt, TYPICAL_OUTPUT_TOKENS)
            entry.cost_max += price.cost(prompt, sampling.max_tokens)
    return estimate


def _is_hit(
    store: JudgmentStore | None,
    options: EngineOptions,
    protocol: Protocol,
    task: Task,
    key: str,
) -> bool:
    """Whether the engine takes ``key`` from the store (its rule: :func:`store_answers`)."""
    if store is None or not options.use_cache:
        return False
    row = store.get(key)
    if row is None:
        return False
    verdict, _ = read_row(protocol, task, row)
    return store_answers(verdict is not None, options)
