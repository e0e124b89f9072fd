"""Run directories that are complete or untouched: where a run is written and how it is
moved into place (``--out``).

A run is written into a hidden sibling of its directory (``.<name>.partial-<pid>-<hex>``) and
published at the end by :func:`publish_run_dir`; :func:`check_out_dir` refuses an ``--out``
that a run must not replace; leftovers of killed runs are cleared by the next run.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
from pathlib import Path

from fqeval.errors import UsageError

#: what a run directory may hold; a directory with anything else is not replaced
RUN_FILES = frozenset(
    {"judgments.jsonl", "summary.json", "manifest.json", "report.md", "report.html", "report.json"}
)


def _is_run_file(path: Path) -> bool:
    name = path.name
    return path.is_file() and (
        name in RUN_FILES
        or (name.startswith("fqeval_official_summary") and name.endswith(".json"))
        or name.endswith(".json.tmp")
    )


def check_out_dir(path: str | Path) -> Path:
    """The absolute run directory for ``path`` (``--out``), or a :class:`UsageError`.

    ``path`` must not be a file, its nearest existing parent must be a writable directory,
    and an existing ``path`` may hold only a run's files: a run replaces its directory whole,
    so a directory with anything else in it (``--out .``, a home directory) is refused.
    """
    given = Path(path).expanduser()
    out = given.resolve()
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {given} is a file, not a directory")
    if out.parent == out:
        raise UsageError(f"--out: {given} is the root directory; name a run directory")
    ancestor = out.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"--out: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"--out: cannot write in {ancestor}")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if not _is_run_file(p))
        if foreign:
            raise UsageError(
                f"--out: {given} holds '{foreign[0]}', which is not a run's file; a run "
                "replaces its directory whole, so name a new directory or an earlier run's"
            )
    return out


def _sibling(out: Path, kind: str) -> Path:
    """``.<name>.<kind>-<pid>-<random>`` beside ``out`` (a name only; nothing is created)."""
    return out.parent / f".{out.name}.{kind}-{os.getpid()}-{os.urandom(4).hex()}"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but not ours to signal
        return True
    return True


def _clear_leftovers(out: Path) -> None:
    """Delete what dead runs into ``out`` left beside it: partial directories, and an earlier
    run moved aside by :func:`publish_run_dir` (put back instead when ``out`` is missing)."""
    prefix = f".{out.name}."
    for path in out.parent.iterdir():
        if not path.name.startswith(prefix) or not path.is_dir():
            continue
        kind, _, rest = path.name[len(prefix) :].partition("-")
        pid = rest.partition("-")[0]
        if kind not in ("partial", "old") or not pid.isdigit() or _alive(int(pid)):
            continue
        if kind == "old" and not out.exists():
            os.rename(path, out)
        else:
            shutil.rmtree(path, ignore_errors=True)


def make_partial_dir(out: Path) -> Path:
    """Create the hidden sibling of ``out`` that a run is written into (parents included),
    after deleting the leftovers of dead runs into ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(out)
    while True:
        partial = _sibling(out, "partial")
        try:
            partial.mkdir()  # honours the umask, unlike tempfile.mkdtemp
        except FileExistsError:
            continue
        return partial


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` where the
    platform, libc or filesystem cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    c_int, c_path = ctypes.c_int, ctypes.c_char_p
    renameat2.argtypes = (c_int, c_path, c_int, c_path, ctypes.c_uint)
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def publish_run_dir(partial: Path, out: Path) -> None:
    """Move the finished run directory ``partial`` onto ``out`` (its sibling).

    No ``out`` yet: one rename. An earlier run at ``out``: on Linux the two are swapped in one
    step and the old one (now at ``partial``) deleted. Where the swap is not available the old
    run is renamed aside (``.<name>.old-<pid>-...``), the new one renamed in and the old one
    deleted: a kill between those two renames leaves no ``out`` but the old run aside, and the
    next run into ``out`` puts it back before it starts.
    """
    if not out.exists():
        os.replace(partial, out)
        return
    if _exchange(partial, out):
        shutil.rmtree(partial, ignore_errors=True)
        return
    aside = _sibling(out, "old")
    os.rename(out, aside)
    try:
        os.rename(partial, out)
    except BaseException:
        os.rename(aside, out)
        raise
    shutil.rmtree(aside, ignore_errors=True)
