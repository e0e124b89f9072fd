"""Token prices and the cost of a judge's calls."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fqeval._resources import resource_dir
from fqeval.errors import DataError, UsageError

#: environment variable naming a user price file (read after the user config file)
PRICES_ENV = "FQEVAL_PRICES"


@dataclass(frozen=True)
class Price:
    """USD per one million tokens. ``cached_input`` is the price of prompt tokens the provider
    served from its prompt cache (``None``: same as ``input``)."""

    input: float = 0.0
    output: float = 0.0
    cached_input: float | None = None

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        """USD for one call's tokens.

        Formula: ``((prompt - cached) * input + cached * cached_input + completion * output)
        / 1e6``, with ``cached`` clipped to ``[0, prompt]``.
        """
        cached = min(max(cached_tokens, 0), prompt_tokens)
        cached_price = self.input if self.cached_input is None else self.cached_input
        return (
            (prompt_tokens - cached) * self.input
            + cached * cached_price
            + completion_tokens * self.output
        ) / 1e6


FREE = Price()


@dataclass(frozen=True)
class PriceTable:
    """Prices by model name, with the files they came from.

    :meth:`price` looks a model up exactly, then by the longest listed name that the model
    starts with followed by ``-`` (``gpt-4.1-2025-04-14`` -> ``gpt-4.1``), then falls back to
    free (``0``): local and unknown models cost nothing, and :meth:`known` says which.
    """

    models: Mapping[str, Price] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def lookup(self, model: str) -> Price | None:
        if model in self.models:
            return self.models[model]
        best = ""
        for name in self.models:
            if model.startswith(name + "-") and len(name) > len(best):
                best = name
        return self.models[best] if best else None

    def price(self, model: str) -> Price:
        return self.lookup(model) or FREE

    def known(self, model: str) -> bool:
        return self.lookup(model) is not None


def user_price_file() -> Path:
    """``$XDG_CONFIG_HOME/fqeval/prices.yaml`` (default ``~/.config/fqeval/prices.yaml``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "fqeval" / "prices.yaml"


def load_prices(path: str | Path | None = None) -> PriceTable:
    """The shipped ``data/prices.yaml`` overridden model by model by the user's files.

    Order (later wins): the shipped table, :func:`user_price_file` when it exists, the file in
    ``$FQEVAL_PRICES`` when set, then ``path`` (``--prices``). A named file that is missing is a
    :class:`UsageError`; a malformed one a :class:`DataError` naming the file and model.
    """
    files: list[tuple[Path, bool]] = [(resource_dir("data") / "prices.yaml", True)]
    user = user_price_file()
    if user.is_file():
        files.append((user, True))
    env = os.environ.get(PRICES_ENV)
    if env:
        files.append((Path(env).expanduser(), False))
    if path is not None:
        files.append((Path(path).expanduser(), False))
    models: dict[str, Price] = {}
    sources: list[str] = []
    for file, _shipped in files:
        if not file.is_file():
            option = (
                "--prices" if path is not None and file == Path(path).expanduser() else PRICES_ENV
            )
            raise UsageError(f"{option}: price file {file} does not exist")
        models.update(_read_price_file(file))
        sources.append(str(file))
    return PriceTable(models=models, sources=tuple(sources))


def _read_price_file(file: Path) -> dict[str, Price]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise DataError(f"{file}: cannot read price table ({err.strerror or err})") from None
    except UnicodeDecodeError as err:
        line = err.object.count(b"\n", 0, err.start) + 1
        raise DataError(
            f"{file}: line {line}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at "
            f"offset {err.start}); save it as UTF-8"
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise DataError(_yaml_error_line(file, err)) from None
    if document is None:
        document = {}
    models = document.get("models") if isinstance(document, dict) else None
    if not isinstance(models, dict):
        raise DataError(f"{file}: a price table needs a top-level 'models:' mapping")
    unknown = sorted(str(key) for key in document if key != "models")
    if unknown:
        raise DataError(
            f"{file}: unknown top-level key(s) {', '.join(unknown)} (only 'models:' is read)"
        )
    out: dict[str, Price] = {}
    for name, entry in models.items():
        if name is None or isinstance(name, (bool, dict, list)) or not str(name).strip():
            raise DataError(f"{file}: model name {name!r}: expected a model name")
        out[str(name)] = _read_price(file, str(name), entry)
    return out


def _yaml_error_line(file: Path, err: yaml.YAMLError) -> str:
    """One line for a YAML parser error: file, line and column (1-based), the problem."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or getattr(err, "context", None)
    problem = " ".join(str(problem or "").split()) or type(err).__name__
    where = f": line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{file}{where}: not valid YAML ({problem})"


def _read_price(file: Path, name: str, entry: Any) -> Price:
    if not isinstance(entry, dict):
        raise DataError(
            f"{file}: model '{name}': expected input/output prices like "
            f"{{input: 2.0, output: 8.0}}, got {entry!r}"
        )
    values: dict[str, float | None] = {}
    for field_name in ("input", "output", "cached_input"):
        value = entry.get(field_name)
        if value is None:
            values[field_name] = None
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise DataError(
                f"{file}: model '{name}', '{field_name}': expected a number >= 0 (USD per "
                f"million tokens), got {value!r}"
            )
        values[field_name] = float(value)
    unknown = set(entry) - {"input", "output", "cached_input"}
    if unknown:
        raise DataError(f"{file}: model '{name}': unknown field(s) {', '.join(sorted(unknown))}")
    return Price(
        input=values["input"] or 0.0,
        output=values["output"] or 0.0,
        cached_input=values["cached_input"],
    )
