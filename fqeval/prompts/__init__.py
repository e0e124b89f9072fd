"""Judge prompts: jinja2 templates (ours) and FQ-Eval-style placeholder files."""

from fqeval.prompts._env import (
    PROMPT_STYLES,
    FqevalPromptSet,
    PromptSet,
    candidates_json,
    conversation_json,
    criterion_key,
)

__all__ = [
    "PROMPT_STYLES",
    "FqevalPromptSet",
    "PromptSet",
    "candidates_json",
    "conversation_json",
    "criterion_key",
]
