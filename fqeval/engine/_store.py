"""The judgment store: one SQLite row per finished judgment, so reruns are free and a killed run
resumes without paying twice.

The database runs in WAL mode in autocommit: every :meth:`JudgmentStore.put` is its own
committed transaction before it returns, so a SIGKILL at any moment loses at most the calls in
flight. ``synchronous=NORMAL`` keeps a commit cheap (no fsync per row); a committed row survives
the process being killed, only a power loss can take back the last rows.

Rows hold the judge's raw reply text (and logprobs, and the server's ``finish_reason``), never a
parsed verdict: the current parser re-derives verdicts from them, so a parser fix costs no
calls. Besides replies, a row may record a deterministic refusal (``error``: a prompt longer
than the context, or the same server error twice in a row for the same request), so a rerun
does not pay to hear it again. A call that failed otherwise (connection refused, retries
exhausted, quota) is not stored, so the next run tries it again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from fqeval.errors import UsageError
from fqeval.judges._base import TokenLogprob

STORE_FORMAT = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS judgments (
    key TEXT PRIMARY KEY,
    judge TEXT NOT NULL,
    model TEXT NOT NULL,
    raw TEXT NOT NULL,
    logprobs TEXT,
    valid INTEGER NOT NULL,
    invalid_reason TEXT,
    attempts INTEGER NOT NULL,
    reasks INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL,
    latency_s REAL NOT NULL,
    created_at REAL NOT NULL,
    finish_reason TEXT,
    error TEXT
);
"""

#: columns added after the first release of format 1, with their SQL types: stores made before
#: get them with ``ALTER TABLE`` on open (old rows read as NULL)
_ADDED_COLUMNS = (("finish_reason", "TEXT"), ("error", "TEXT"))

_COLUMNS = (
    "key, judge, model, raw, logprobs, valid, invalid_reason, attempts, reasks, "
    "prompt_tokens, completion_tokens, cached_tokens, latency_s, created_at, finish_reason, error"
)


@dataclass(frozen=True)
class StoredJudgment:
    """One stored row. ``valid`` and ``invalid_reason`` are what the parser of the run that
    stored it said; readers re-parse ``raw`` with the current parser."""

    key: str
    judge: str
    model: str
    raw: str
    logprobs: tuple[TokenLogprob, ...] | None
    valid: bool
    invalid_reason: str | None
    attempts: int
    reasks: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    latency_s: float
    finish_reason: str | None = None
    #: set when the row records a deterministic refusal instead of a reply (``raw`` is empty)
    error: str | None = None


def default_store_path() -> Path:
    """Where the store lives without ``--store``.

    ``$FQEVAL_CACHE_DIR/judgments.sqlite`` when that variable is set, else
    ``$XDG_CACHE_HOME/fqeval/judgments.sqlite``, else ``~/.cache/fqeval/judgments.sqlite``
    (``%LOCALAPPDATA%\\fqeval\\judgments.sqlite`` on Windows).
    """
    override = os.environ.get("FQEVAL_CACHE_DIR")
    if override:
        return Path(override).expanduser() / "judgments.sqlite"
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "fqeval" / "judgments.sqlite"
    local = os.environ.get("LOCALAPPDATA")
    if os.name == "nt" and local:
        return Path(local) / "fqeval" / "judgments.sqlite"
    return Path.home() / ".cache" / "fqeval" / "judgments.sqlite"


def encode_logprobs(logprobs: tuple[TokenLogprob, ...] | None) -> str | None:
    if logprobs is None:
        return None
    return json.dumps(
        [[t.token, t.logprob, [list(alt) for alt in t.top]] for t in logprobs],
        ensure_ascii=False,
    )


def decode_logprobs(text: str | None) -> tuple[TokenLogprob, ...] | None:
    if text is None:
        return None
    return tuple(
        TokenLogprob(token, float(logprob), tuple((str(a), float(b)) for a, b in top))
        for token, logprob, top in json.loads(text)
    )


class JudgmentStore:
    """A SQLite judgment store at ``path`` (created with its parent directories if missing).

    Use one store per process; SQLite's locking makes concurrent runs on one file safe (each
    row is written whole), though they may pay twice for a judgment both start at once.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit (isolation_level=None): every statement commits on its own
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            present = {r[1] for r in self._db.execute("PRAGMA table_info(judgments)")}
            for name, sql_type in _ADDED_COLUMNS:
                if name not in present:
                    self._db.execute(f"ALTER TABLE judgments ADD COLUMN {name} {sql_type}")
            row = self._db.execute("SELECT value FROM meta WHERE name='format'").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT OR IGNORE INTO meta(name, value) VALUES ('format', ?)",
                    (str(STORE_FORMAT),),
                )
            elif row[0] != str(STORE_FORMAT):
                raise UsageError(
                    f"--store: {self.path} has judgment-store format {row[0]}, "
                    f"this fqeval reads format {STORE_FORMAT}; use another --store path"
                )
        except (sqlite3.DatabaseError, OSError) as err:
            raise UsageError(
                f"--store: cannot open {self.path} as a judgment store ({err})"
            ) from err

    def get(self, key: str) -> StoredJudgment | None:
        """The stored judgment for ``key``, or ``None``."""
        row = self._db.execute(f"SELECT {_COLUMNS} FROM judgments WHERE key=?", (key,)).fetchone()
        if row is None:
            return None
        return StoredJudgment(
            key=row[0],
            judge=row[1],
            model=row[2],
            raw=row[3],
            logprobs=decode_logprobs(row[4]),
            valid=bool(row[5]),
            invalid_reason=row[6],
            attempts=row[7],
            reasks=row[8],
            prompt_tokens=row[9],
            completion_tokens=row[10],
            cached_tokens=row[11],
            latency_s=row[12],
            finish_reason=row[14],
            error=row[15],
        )

    def __contains__(self, key: object) -> bool:
        return (
            self._db.execute("SELECT 1 FROM judgments WHERE key=?", (key,)).fetchone() is not None
        )

    def put(self, row: StoredJudgment) -> None:
        """Insert or replace the row for ``row.key``; committed when this returns."""
        self._db.execute(
            f"INSERT OR REPLACE INTO judgments ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.key,
                row.judge,
                row.model,
                row.raw,
                encode_logprobs(row.logprobs),
                int(row.valid),
                row.invalid_reason,
                row.attempts,
                row.reasks,
                row.prompt_tokens,
                row.completion_tokens,
                row.cached_tokens,
                row.latency_s,
                time.time(),
                row.finish_reason,
                row.error,
            ),
        )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0])

    def close(self) -> None:
        """Close the database (every row is already committed)."""
        self._db.close()

    def __enter__(self) -> JudgmentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
