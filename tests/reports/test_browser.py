"""The merged HTML report in a real headless browser (Debian's ``chromium``).

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages on file descriptors 3 and 4, each ended by a NUL byte), so no client library
(selenium, a websocket package) is needed. The page is opened at 1400 x 900, screenshotted,
and measured: nothing may stick out of the window sideways (wide tables scroll inside their
own box, charts scale to fit) and every chart legend must be on screen.

Outside CI (``CI`` unset) the test is skipped when chromium is missing; in CI it fails, since
``.ci/run`` installs it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from fqeval.cli._app import run_app
from tests.conftest import REPO_ROOT

WIDTH, HEIGHT = 1400, 900
DEMO = REPO_ROOT / "data" / "demo" / "demo.csv"


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_chromium() -> str:
    binary = chromium_binary()
    if binary is None:
        if _in_ci():
            pytest.fail("CI: chromium is missing (.ci/run installs chromium and chromium-driver)")
        pytest.skip(
            "chromium not installed (apt-get install chromium chromium-driver); "
            "this browser check runs whenever it is, and always in CI"
        )
    return binary


class Browser:
    """A headless chromium with one page, spoken to over the DevTools pipe."""

    def __init__(self, binary: str, profile: Path, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds() -> None:  # in the child: its fd 3 reads commands, fd 4 writes replies
            r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",  # CI containers run as root
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                f"--window-size={WIDTH},{HEIGHT}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=wire_fds,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        os.set_blocking(self._from_child, False)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            try:
                chunk = os.read(self._from_child, 1 << 20)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        data: dict[str, Any] = json.loads(message)
        return data

    def call(self, method: str, *, session: bool = False, **params: Any) -> dict[str, Any]:
        self._id += 1
        request: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            request["sessionId"] = self.session
        os.write(self._to_child, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._events.append(reply)

    def open(self, url: str) -> None:
        self._events = []
        self.call("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            self._events.append(self._read(deadline))

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", session=True, **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


#: What the test measures in the page: the document's width against the window's, and each
#: chart legend's box (scrolled to vertically; never sideways) against the window.
MEASURE = """
(() => {
  const root = document.documentElement;
  const legends = [];
  for (const legend of document.querySelectorAll("svg .legend")) {
    const docTop = legend.getBoundingClientRect().top + window.scrollY;
    window.scrollTo(0, Math.max(0, docTop - 40));
    const r = legend.getBoundingClientRect();
    legends.push({left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                  width: r.width, height: r.height, scrollX: window.scrollX});
  }
  window.scrollTo(0, 0);
  const boxes = [...document.querySelectorAll(".tw")].map(b => ({
    client: b.clientWidth, scroll: b.scrollWidth, right: b.getBoundingClientRect().right}));
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
          innerWidth: window.innerWidth, innerHeight: window.innerHeight,
          bodyWidth: document.body.scrollWidth, legends, boxes,
          svgs: [...document.querySelectorAll("figure svg")].map(s => s.getBoundingClientRect().right)};
})()
"""


def _run(out: Path, store: Path, *extra: str) -> Path:
    code = run_app(
        [
            "run",
            "nway",
            "--data",
            str(DEMO),
            "--judge",
            "heuristic",
            "--out",
            str(out),
            "--store",
            str(store),
            "-q",
            "--format",
            "md",
            "--bootstrap",
            "50",
            *extra,
        ]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def merged_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``fqeval report A B`` of two n-way runs: a 13-column leaderboard (5 criteria and
    Overall per run) and its chart."""
    base = tmp_path_factory.mktemp("browser")
    store = base / "judgments.sqlite"
    a = _run(base / "run-a", store)
    b = _run(base / "run-b", store, "--seed", "7")
    out = base / "merged"
    assert run_app(["report", str(a), str(b), "--out", str(out), "--format", "md,html"]) == 0
    return out / "report.html"


def test_merged_report_fits_a_1400px_window(merged_html: Path, tmp_path: Path) -> None:
    binary = require_chromium()
    browser = Browser(binary, tmp_path / "profile")
    try:
        browser.open(merged_html.as_uri())
        shot = browser.screenshot(tmp_path / "merged-1400x900.png")
        page = browser.screenshot(tmp_path / "merged-full.png", full_page=True)
        m = browser.evaluate(MEASURE)
    finally:
        browser.close()
    assert png_size(shot) == (WIDTH, HEIGHT)
    assert png_size(page)[0] <= WIDTH, "the full page is no wider than the window"
    assert m["innerWidth"] == WIDTH
    assert m["scrollWidth"] <= WIDTH and m["scrollWidth"] <= m["clientWidth"], m
    assert m["boxes"], "tables sit in scroll boxes"
    wide = [b for b in m["boxes"] if b["scroll"] > b["client"]]
    assert wide, "the 13-column leaderboard is wider than the page and scrolls in its box"
    assert all(b["right"] <= WIDTH for b in m["boxes"]), m["boxes"]
    assert all(right <= WIDTH for right in m["svgs"]), "charts scale to fit"
    assert m["legends"], "the leaderboard chart has a legend"
    for legend in m["legends"]:
        assert legend["width"] > 0 and legend["height"] > 0, legend
        assert legend["scrollX"] == 0
        assert legend["left"] >= 0 and legend["right"] <= WIDTH, legend
        assert legend["top"] >= 0 and legend["bottom"] <= HEIGHT, legend


def test_missing_chromium_skips_only_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.reports.test_browser as here

    monkeypatch.setattr(here, "chromium_binary", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium not installed"):
        here.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI: chromium is missing"):
        here.require_chromium()
