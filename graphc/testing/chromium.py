"""Drive a headless Chromium from Python with the standard library alone (for the viewer's tests and the
docs' screenshots): the DevTools protocol over `--remote-debugging-pipe` (fds 3 and 4, one
NUL-terminated JSON message each way), so no browser download, no websocket and no driver package.

    with Browser() as b:                      # None-safe: `find_chromium()` says whether one is installed
        b.open("file:///tmp/g.html", 1400, 900)
        b.eval("document.title")
        b.screenshot("shot.png")
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Any


def find_chromium() -> str | None:
    """The Chromium on PATH (Debian's `chromium`), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _high(fd: int) -> int:
    """`fd` moved to a number above 4 (the pipe numbers Chromium expects)."""
    if fd > 4:
        return fd
    high = _high(os.dup(fd))
    os.close(fd)
    return high


class Browser:
    """One headless Chromium with one page; `requests` lists every URL the page asked for."""

    def __init__(self, program: str | None = None, timeout: float = 60.0):
        program = program or find_chromium()
        if program is None:
            raise RuntimeError("no Chromium on PATH (Debian/Ubuntu: apt-get install chromium)")
        self.timeout = timeout
        self.profile = tempfile.TemporaryDirectory(prefix="graphc-chromium-")
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()
        # Keep our pipe ends above 4 so the child can put its ends at 3 and 4 without clobbering them.
        to_browser, self._write, self._read, from_browser = (_high(fd) for fd in (to_browser, self._write,
                                                                                  self._read, from_browser))

        def fds() -> None:  # the child's fd 3 reads commands, fd 4 writes replies
            os.dup2(to_browser, 3)
            os.dup2(from_browser, 4)

        self.proc = subprocess.Popen(
            [program, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
             f"--user-data-dir={self.profile.name}", "about:blank"],
            pass_fds=(3, 4, to_browser, from_browser), preexec_fn=fds, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []
        self.requests: list[str] = []
        self.session: str | None = None

    # -- the protocol ------------------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, session: bool = True) -> dict:
        """Call `method` and wait for its result (events that arrive meanwhile are kept in `events`)."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._event(reply)

    def _event(self, message: dict) -> None:
        self.events.append(message)
        if message.get("method") == "Network.requestWillBeSent":
            self.requests.append(message["params"]["request"]["url"])

    def _next(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def wait_event(self, method: str) -> dict:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            message = self._next()
            if message.get("method") == method:
                return message
            self._event(message)

    # -- the page ----------------------------------------------------------------------------------
    def _navigate(self, url: str) -> None:
        """Go to `url` and wait for its load event (not one left over from an earlier page)."""
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def open(self, url: str, width: int = 1400, height: int = 900) -> float:
        """Load `url` in a page of `width` x `height` CSS pixels; the seconds until its load event."""
        if self.session is None:
            target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
            self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                     session=False)["sessionId"]
            for domain in ("Page", "Network", "Runtime"):
                self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        if url.partition("#")[0] != "about:blank":  # a new document, even when only the #fragment differs
            self._navigate("about:blank")
        self.requests.clear()
        start = time.perf_counter()
        self._navigate(url)
        return time.perf_counter() - start

    def eval(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaiting a promise); page errors raise."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"].get("exception", {}).get("description")
            raise RuntimeError(f"{expression[:80]}: {details}")
        return result["result"].get("value")

    def click(self, x: float, y: float, count: int = 1) -> None:
        """A real mouse click (`count=2`: a double click) at page coordinates."""
        for n in range(1, count + 1):
            for kind in ("mousePressed", "mouseReleased"):
                self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": n})

    def type(self, text: str) -> None:
        """Type `text` into the focused element."""
        self.send("Input.insertText", {"text": text})

    def screenshot(self, path: str | os.PathLike) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._write)
        os.close(self._read)
        self.profile.cleanup()

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
