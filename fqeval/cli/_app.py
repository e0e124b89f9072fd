"""The root typer app and the error handling shared by every command."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any, Optional

import typer

from fqeval._version import __version__
from fqeval.errors import FqevalError

app = typer.Typer(
    name="fqeval",
    help=(
        "Judge follow-up questions with LLM judges, FQ-Eval style.\n\n"
        "Example: fqeval run nway --data data/demo/demo.csv --judge heuristic --out reports/demo"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"fqeval {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Show the version and exit.",
    ),
) -> None:
    """Judge follow-up questions with LLM judges, FQ-Eval style."""


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line to stderr and return an Exit to raise (``raise fail("...")``)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _register_commands() -> None:
    # Each module attaches its commands to ``app`` on import; the order sets --help's order.
    import importlib

    for module in ("_run", "_data", "_report", "_agreement", "_metrics", "_sanity"):
        try:
            importlib.import_module(f"fqeval.cli.{module}")
        except ModuleNotFoundError as err:  # a command group not written yet
            if err.name != f"fqeval.cli.{module}":
                raise


def _show_usage_error(err: Exception, show: Any) -> None:
    """One line for a bad option (``error: ... (see 'fqeval run nway --help')``); a command
    called without arguments still shows its help."""
    format_message = getattr(err, "format_message", None)
    if type(err).__name__ == "NoArgsIsHelpError" or not callable(format_message):
        show(file=sys.stderr)
        return
    message = " ".join(str(format_message()).split())
    ctx = getattr(err, "ctx", None)
    path = getattr(ctx, "command_path", None)
    hint = f" (see '{path} --help')" if path else ""
    typer.echo(f"error: {message}{hint}", err=True)


def _interrupted(err: KeyboardInterrupt) -> int:
    # fqeval.runner.RunInterrupted says how many judgments are stored and how to resume
    typer.echo(f"interrupted: {err}" if str(err) else "interrupted", err=True)
    return 130


@contextlib.contextmanager
def exit_on_interrupt() -> Iterator[None]:
    """Ctrl-C inside a command: one line on stderr, exit 130. (typer would turn the
    ``KeyboardInterrupt`` into a silent exit 130 before :func:`run_app` sees it.)"""
    try:
        yield
    except KeyboardInterrupt as err:
        raise typer.Exit(_interrupted(err)) from None


def run_app(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code; user errors become one stderr line."""
    _register_commands()
    try:
        result = app(args=argv, prog_name="fqeval", standalone_mode=False)
    except FqevalError as err:
        typer.echo(f"error: {err}", err=True)
        return err.exit_code
    except typer.Exit as err:
        return int(err.exit_code)
    except typer.Abort:
        typer.echo("interrupted", err=True)
        return 130
    except KeyboardInterrupt as err:
        return _interrupted(err)
    except Exception as err:
        # Usage errors of click (or of the copy of click that typer vendors) arrive here in
        # non-standalone mode; recognise them by behaviour rather than by class.
        show, code = getattr(err, "show", None), getattr(err, "exit_code", None)
        if callable(show) and isinstance(code, int):
            _show_usage_error(err, show)
            return code
        raise
    return result if isinstance(result, int) else 0
