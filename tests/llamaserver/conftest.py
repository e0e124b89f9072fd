"""A real llama.cpp ``llama-server`` on 127.0.0.1, behind a counting reverse proxy.

``FQEVAL_LLAMA_SERVER_DIR`` names the directory holding the ``llama-server`` binary and the tiny
random-weight model ``tiny-fq.gguf`` (``../shared/llama-server`` in CI, see its README). The
tests skip only when the variable is unset (``.ci/run`` sets it and fails on such skips), and
fail when it is set but the binary or the model is missing.

llama-server's ``/metrics`` has no per-request counter (only token and decode totals, and
gauges), and it restarts from zero with the process, so requests are counted by
:class:`CountingProxy`: a small threaded HTTP proxy on 127.0.0.1 that forwards every request
to the server and records it (path, body, status, reply). Its address stays the same when the
server behind it is killed and restarted. When the server is down it drops the connection
without a reply, as a dead server would.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CliResult, cli, read_run  # noqa: F401 - shared fixtures

ENV_VAR = "FQEVAL_LLAMA_SERVER_DIR"
HOST = "127.0.0.1"
MODEL_NAME = "tiny-fq"
HEALTH_TIMEOUT_S = 30.0


def _die_with_parent() -> Any:
    """A ``preexec_fn`` that has Linux send SIGTERM to the server if pytest dies first (so a
    crashed test session leaves no server behind); ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return preexec


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """One ``llama-server`` subprocess on 127.0.0.1 that can be stopped, killed and restarted
    (on the same port)."""

    def __init__(self, directory: Path, log_dir: Path, model: str = "tiny-fq.gguf") -> None:
        self.binary = directory / "llama-server"
        self.model = directory / model
        self.log_dir = log_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "-m",
            str(self.model),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "-c",
            "16384",
            "-np",
            "4",
            "-t",
            "2",
            "-a",
            MODEL_NAME,
        ]

    def start(self) -> None:
        """Start and wait for ``GET /health`` == ``{"status": "ok"}`` (fails after 30 s).

        A restart keeps the port; only the first start moves to another free port if the one
        picked was taken in the meantime."""
        assert not self.running, "llama-server is already running"
        tries = 3 if self.starts == 0 else 1
        for _ in range(tries):
            self.starts += 1
            log_path = self.log_dir / f"llama-server-{self.starts}.log"
            with log_path.open("wb") as log:
                self.proc = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent(),  # dies with the thread that started it
                )
            if self._wait_healthy():
                return
            exited = not self.running
            self.stop()
            if not exited:
                break  # up but never healthy: another port will not help
            if tries > 1:
                self.port = free_port()
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        pytest.fail(f"llama-server did not become healthy on {HOST}:{self.port}:\n{tail}")

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        url = f"http://{HOST}:{self.port}/health"
        while time.monotonic() < deadline:
            if not self.running:
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if json.loads(resp.read()) == {"status": "ok"}:
                        return True
            except (urllib.error.URLError, OSError, ValueError):
                pass  # not listening yet, or 503 while the model loads
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Terminate by PID, then kill if it does not exit within 10 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._reap()

    def kill(self) -> None:
        """SIGKILL by PID: the server dies with requests in flight."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self._reap()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _reap(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        self.proc = None


@dataclass
class Exchange:
    """One request the proxy received and what became of it."""

    method: str
    path: str
    body: bytes
    status: int | None = None  # None: the server was down or dropped the connection
    reply: bytes = b""
    error: str | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def request_json(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}

    def reply_json(self) -> dict[str, Any]:
        return json.loads(self.reply) if self.reply else {}


_DROP_REQUEST = {"host", "connection", "content-length", "accept-encoding", "keep-alive"}
_DROP_REPLY = {"connection", "content-length", "transfer-encoding", "keep-alive"}


class CountingProxy:
    """Threaded reverse proxy on 127.0.0.1 in front of ``server``; records every request."""

    def __init__(self, server: LlamaServer) -> None:
        self.server = server
        self._lock = threading.Condition()
        self._exchanges: list[Exchange] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                exchange = Exchange(self.command, self.path, body)
                proxy._record(exchange)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _DROP_REQUEST}
                conn = http.client.HTTPConnection(HOST, proxy.server.port, timeout=600)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    reply = resp.read()
                    reply_headers = resp.getheaders()
                except (OSError, http.client.HTTPException) as err:
                    # server down or died mid-request: drop the connection, no reply at all
                    exchange.error = f"{type(err).__name__}: {err}"
                    self.close_connection = True
                    return
                finally:
                    conn.close()
                proxy._answered(exchange, resp.status, reply)
                self.send_response(resp.status)
                for key, value in reply_headers:
                    if key.lower() not in _DROP_REPLY:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self._httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def _answered(self, exchange: Exchange, status: int, reply: bytes) -> None:
        with self._lock:
            exchange.status, exchange.reply = status, reply
            self._lock.notify_all()

    def wait_answered(self, n: int, timeout: float) -> bool:
        """Block until ``n`` chat requests got a 200 reply from the server (``False`` on
        timeout)."""
        with self._lock:
            return self._lock.wait_for(
                lambda: sum(1 for e in self._chat() if e.status == 200) >= n, timeout
            )

    def _chat(self) -> list[Exchange]:
        return [e for e in self._exchanges if e.path.rstrip("/").endswith("/chat/completions")]

    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def chat(self) -> list[Exchange]:
        """The chat-completion requests (the judgments paid for)."""
        with self._lock:
            return self._chat()

    def reset(self) -> None:
        with self._lock:
            self._exchanges.clear()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def llama_server_dir() -> Path:
    value = os.environ.get(ENV_VAR)
    if not value:
        pytest.skip(f"{ENV_VAR} is unset: llama.cpp llama-server not available")
    path = Path(value).resolve()
    binary, model = path / "llama-server", path / "tiny-fq.gguf"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"{ENV_VAR}={value} has no executable llama-server")
    if not model.is_file():
        pytest.fail(f"{ENV_VAR}={value} has no tiny-fq.gguf")
    return path


@pytest.fixture(scope="session")
def llama_server(
    llama_server_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    """The session's llama-server (tiny-fq.gguf); ``.base_url`` is ``http://127.0.0.1:PORT/v1``.

    It can be stopped, killed and restarted (same port); :func:`llama` restarts it for the
    next test if a test left it down.
    """
    server = LlamaServer(llama_server_dir, tmp_path_factory.mktemp("llama-server"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llama(llama_server: LlamaServer) -> LlamaServer:
    """The session's server, running (restarted if an earlier test left it down)."""
    if not llama_server.running:
        llama_server.start()
    return llama_server


@pytest.fixture
def proxy(llama: LlamaServer) -> Iterator[CountingProxy]:
    """A fresh counting proxy in front of the running server (zero requests so far)."""
    counting = CountingProxy(llama)
    try:
        yield counting
    finally:
        counting.close()


@pytest.fixture(autouse=True)
def judge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # llama-server runs without --api-key: any key is accepted; no user endpoint leaks in
    monkeypatch.setenv("OPENAI_API_KEY", "sk-llama-server-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


Cli = Callable[..., CliResult]

