"""A finished judgment: one task judged by one judge, valid or invalid with its reason.

``Judgment.to_record()`` is the line written to ``judgments.jsonl`` and the row the analysis
reads. Its fields (stable; add, never rename):

===================  ==========================================================================
question_id          the QA pair
criterion            criterion name
mode                 ``nway`` | ``pairwise`` | ``score`` | ``rank``
variant              which task of the item (permutation ``p0``..; ``SYSTEM:ab``/``SYSTEM:ba``
                     for pairwise; the system for score)
judge                judge spec (``openai:gpt-4.1``, ``heuristic``)
complexity, category QA-pair metadata, for breakdowns (may be empty)
shown                ``[{"label", "system", "systems", "text"}]`` in the order shown
valid                bool
invalid_reason       why it is invalid (``None`` when valid)
reason               the judge's own reason text
winner_label         nway/pairwise: the label picked
winner_slot          0-based position of ``winner_label`` in ``shown``
winner_systems       the systems behind the winning text (a shared text lists several)
winner_system        ``winner_systems[0]`` or ``None``
score                score mode: 1-5
expected_score       score mode with logprobs: sum p(s)*s over 1-5
expected_score_mass  score mode with logprobs: probability the digits 1-5 carried at the score
                     token
expected_score_note  why ``expected_score`` is ``None`` (no_logprobs | score_token_not_found |
                     score_token_not_a_digit | low_digit_mass)
ranking              rank mode: labels best first
ranking_systems      rank mode: systems of each ranked label (list of lists)
raw                  the judge's last raw reply text
attempts             calls made for this judgment (retries and re-asks included; 0 if cached)
reasks               re-asks made
prompt_tokens, completion_tokens, cached_tokens   summed over attempts
latency_s            summed call latency
cached               true when it came from the judgment store without a call
reused               true when an identical prompt was answered earlier in this run (no call
                     of its own: attempts and tokens are 0, the answer is re-parsed for it)
cache_key            the store key
===================  ==========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fqeval.protocols._base import Task, Verdict


@dataclass(frozen=True)
class Judgment:
    """One task judged by one judge; ``verdict`` is ``None`` exactly when invalid."""

    task: Task
    judge: str
    verdict: Verdict | None
    invalid_reason: str | None
    raw: str
    attempts: int = 1
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    latency_s: float = 0.0
    cached: bool = False
    cache_key: str = ""
    reused: bool = False

    @property
    def valid(self) -> bool:
        return self.verdict is not None

    def to_record(self) -> dict[str, Any]:
        """The ``judgments.jsonl`` line (see the module docstring for the fields)."""
        task, verdict = self.task, self.verdict
        qa = task.item.qa
        winner_label = verdict.winner_label if verdict else None
        winner_slot: int | None = None
        winner_systems: list[str] = []
        if winner_label is not None:
            for slot, shown in enumerate(task.shown):
                if shown.label == winner_label:
                    winner_slot, winner_systems = slot, list(shown.systems)
                    break
        ranking = list(verdict.ranking) if verdict and verdict.ranking is not None else None
        ranking_systems = None
        if ranking is not None:
            by_label = {s.label: list(s.systems) for s in task.shown}
            ranking_systems = [by_label.get(label, []) for label in ranking]
        return {
            "question_id": qa.question_id,
            "criterion": task.item.criterion.name,
            "mode": task.mode,
            "variant": task.variant,
            "judge": self.judge,
            "complexity": qa.complexity,
            "category": qa.category,
            "shown": [
                {"label": s.label, "system": s.system, "systems": list(s.systems), "text": s.text}
                for s in task.shown
            ],
            "valid": self.valid,
            "invalid_reason": self.invalid_reason,
            "reason": verdict.reason if verdict else None,
            "winner_label": winner_label,
            "winner_slot": winner_slot,
            "winner_systems": winner_systems,
            "winner_system": winner_systems[0] if winner_systems else None,
            "score": verdict.score if verdict else None,
            "expected_score": verdict.expected_score if verdict else None,
            "expected_score_mass": verdict.expected_score_mass if verdict else None,
            "expected_score_note": verdict.expected_score_note if verdict else None,
            "ranking": ranking,
            "ranking_systems": ranking_systems,
            "raw": self.raw,
            "attempts": self.attempts,
            "reasks": self.reasks,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "latency_s": round(self.latency_s, 6),
            "cached": self.cached,
            "reused": self.reused,
            "cache_key": self.cache_key,
        }
