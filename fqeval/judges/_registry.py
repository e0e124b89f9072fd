"""Judge specs -> judge objects: ``heuristic``, ``openai:MODEL``, ``vllm:MODEL``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fqeval.errors import UsageError
from fqeval.judges._base import Judge

SPEC_HELP = "use heuristic, openai:MODEL or vllm:MODEL"


def make_judge(
    spec: str,
    *,
    base_urls: Sequence[str] = (),
    api_key_env: str = "OPENAI_API_KEY",
    request_timeout: float = 60.0,
    require_key: bool = True,
    **options: Any,
) -> Judge:
    """Build the judge named by ``spec``.

    ``base_urls``, ``api_key_env``, ``request_timeout`` and ``require_key`` concern ``openai:``
    judges (``require_key=False``: no call will be made, as in ``--replay-only`` and
    ``--dry-run``, so a missing key is not an error);
    ``options`` go to the backend's constructor (``vllm:`` takes engine arguments such as
    ``tensor_parallel_size``; ``openai:`` takes ``use_schema``; ``heuristic`` takes none and
    ignores them). A bad spec is a
    :class:`UsageError` naming ``--judge``.
    """
    kind, sep, model = spec.strip().partition(":")
    if kind == "heuristic" and not sep:
        from fqeval.judges._heuristic import HeuristicJudge

        return HeuristicJudge()
    if kind == "openai" and model:
        from fqeval.judges._openai import OpenAIJudge

        return OpenAIJudge(
            model,
            base_urls=base_urls,
            api_key_env=api_key_env,
            request_timeout=request_timeout,
            require_key=require_key,
            spec=spec.strip(),
            **options,
        )
    if kind == "vllm" and model:
        from fqeval.judges._vllm import VLLMJudge

        return VLLMJudge(model, spec=spec.strip(), **options)
    raise UsageError(f"--judge: unknown judge spec '{spec}' ({SPEC_HELP})")
