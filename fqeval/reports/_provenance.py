"""Provenance rows from ``manifest.json``: what ran, with which versions, data and judges.

Secrets never reach a report: any key that looks like a credential (``api_key``, ``token``,
``secret``, ``password``, ``authorization``) is dropped at every depth, and values that look
like bearer keys (``sk-...``) are masked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fqeval.reports._format import NONE, plain_value

_SECRET_KEY = re.compile(r"(api[_-]?key|token(?!s)|secret|password|authorization|bearer)", re.I)
_SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{8,})")

#: Manifest fields shown first, in this order, when present.
PREFERRED: tuple[str, ...] = (
    "command",
    "argv",
    "fqeval_version",
    "version",
    "versions",
    "python",
    "mode",
    "seed",
    "data",
    "data_path",
    "data_hash",
    "data_sha256",
    "prompt_hash",
    "prompts_hash",
    "judges",
    "judge_settings",
    "started_at",
    "finished_at",
    "store",
)


def scrub(value: Any) -> Any:
    """A copy of ``value`` with credential-like keys removed and key-like strings masked."""
    if isinstance(value, Mapping):
        return {k: scrub(v) for k, v in value.items() if not _SECRET_KEY.search(str(k))}
    if isinstance(value, (list, tuple)):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub("[redacted]", value)
    return value


def _flatten(key: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        if not value:
            rows.append((key, NONE))
        for sub, inner in value.items():
            _flatten(f"{key}.{sub}", inner, rows)
    elif isinstance(value, (list, tuple)) and any(
        isinstance(v, (Mapping, list, tuple)) for v in value
    ):
        for k, inner in enumerate(value):
            _flatten(key if len(value) == 1 else f"{key}[{k + 1}]", inner, rows)
    else:
        rows.append((key, plain_value(value)))


def provenance_rows(manifest: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """``(field, text)`` rows: preferred fields first, then the rest. Nested values become
    dotted fields (``engine.rpm``), one per row; booleans read ``yes``/``no`` and missing
    values ``—``."""
    if not manifest:
        return []
    clean = scrub(manifest)
    keys = [k for k in PREFERRED if k in clean] + [k for k in clean if k not in PREFERRED]
    rows: list[tuple[str, str]] = []
    for key in keys:
        value = clean[key]
        if key in ("argv", "command") and isinstance(value, (list, tuple)):
            rows.append((str(key), " ".join(str(v) for v in value)))
        else:
            _flatten(str(key), value, rows)
    return rows
