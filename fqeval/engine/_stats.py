"""Per-judge accounting of a run: calls, cache hits, retries, re-asks, tokens, latency, cost."""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fqeval.engine._prices import FREE, Price


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks.

    Formula: with ``v`` sorted and ``h = (n - 1) * q / 100``,
    ``v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)])`` (numpy's default).
    ``None`` for no values; the value itself for one.
    """
    if not values:
        return None
    ordered = sorted(values)
    h = (len(ordered) - 1) * q / 100.0
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


@dataclass
class JudgeStats:
    """Accounting for one judge.

    ``judgments`` = ``valid + invalid``: one per (task, judge), cached or not. ``calls`` counts
    requests sent (first attempts, retries and re-asks); ``retries`` the re-sends after a failed
    call; ``reasks`` the re-sends after a reply that did not validate; ``failures`` the
    judgments whose call failed for good (counted in ``invalid`` too). Tokens and latency cover
    calls made in this run (cached judgments cost nothing now). ``cost`` is estimated from the
    price table; ``priced`` is false when the model is not in it (cost 0).
    """

    judge: str
    model: str
    price: Price = FREE
    priced: bool = False
    judgments: int = 0
    valid: int = 0
    invalid: int = 0
    failures: int = 0
    cache_hits: int = 0
    #: judgments answered by an identical prompt asked earlier in this run (no call)
    reused: int = 0
    calls: int = 0
    retries: int = 0
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost: float = 0.0
    schema_fallback: bool = False
    #: one 8-byte double per call (a list of floats would take 32 bytes each)
    latencies: array[float] = field(default_factory=lambda: array("d"), repr=False)

    def add_tokens(self, prompt: int, completion: int, cached: int) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.cached_tokens += cached
        self.cost += self.price.cost(prompt, completion, cached)

    @property
    def latency_p50(self) -> float | None:
        """Median latency (s) of the calls that returned a reply."""
        return percentile(self.latencies, 50)

    @property
    def latency_p95(self) -> float | None:
        """95th-percentile latency (s) of the calls that returned a reply."""
        return percentile(self.latencies, 95)

    def as_dict(self) -> dict[str, Any]:
        p50, p95 = self.latency_p50, self.latency_p95
        return {
            "judge": self.judge,
            "model": self.model,
            "judgments": self.judgments,
            "valid": self.valid,
            "invalid": self.invalid,
            "failures": self.failures,
            "cache_hits": self.cache_hits,
            "reused": self.reused,
            "calls": self.calls,
            "retries": self.retries,
            "reasks": self.reasks,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "latency_p50_s": None if p50 is None else round(p50, 4),
            "latency_p95_s": None if p95 is None else round(p95, 4),
            "cost_usd": round(self.cost, 6),
            "priced": self.priced,
            "schema_fallback": self.schema_fallback,
        }


@dataclass
class RunStats:
    """Accounting of a run, one :class:`JudgeStats` per judge spec (in the judges' order)."""

    judges: dict[str, JudgeStats] = field(default_factory=dict)
    total: int | None = None
    aborted: str | None = None

    @property
    def done(self) -> int:
        return sum(s.judgments for s in self.judges.values())

    @property
    def invalid(self) -> int:
        return sum(s.invalid for s in self.judges.values())

    @property
    def failures(self) -> int:
        return sum(s.failures for s in self.judges.values())

    @property
    def cost(self) -> float:
        return sum(s.cost for s in self.judges.values())

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.judges.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "done": self.done,
            "invalid": self.invalid,
            "calls": self.calls,
            "cost_usd": round(self.cost, 6),
            "aborted": self.aborted,
            "judges": {spec: s.as_dict() for spec, s in self.judges.items()},
        }
