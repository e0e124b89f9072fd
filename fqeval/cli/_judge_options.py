"""Options that every command calling a judge shares (``run *``, ``sanity``), declared once."""

from __future__ import annotations

from typing import Annotated

import typer

BaseUrlOption = Annotated[
    list[str],
    typer.Option(
        "--base-url",
        metavar="URL",
        help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL). Repeat to load-balance replicas.",
    ),
]
ApiKeyEnvOption = Annotated[
    str,
    typer.Option("--api-key-env", metavar="VAR", help="Environment variable holding the API key."),
]
ConcurrencyOption = Annotated[
    int, typer.Option("--concurrency", min=1, metavar="N", help="Judge calls in flight.")
]
RequestTimeoutOption = Annotated[
    float,
    typer.Option(
        "--request-timeout",
        metavar="SECONDS",
        help="Seconds before a stalled call is abandoned and retried.",
    ),
]
