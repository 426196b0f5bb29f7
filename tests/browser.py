"""Headless Chromium for the tests, driven over the DevTools protocol through a pipe: no Python package, no
browser download, no network port. Debian's `chromium` (/usr/bin/chromium, or $ARCHCALC_CHROMIUM); tests that
need it skip when it is missing.

    from browser import chromium_page        # a pytest fixture is in conftest.py: `page`

    with chromium_page() as page:
        page.open(path)                       # a file:// page; every other request is refused and recorded
        page.evaluate("document.querySelectorAll('.node').length")
        page.click("#some-id")                # a real mouse click at the element's centre
        page.screenshot(tmp_path / "shot.png")
        assert not page.errors and not page.requests

`page.errors` holds console errors, uncaught exceptions and failed loads; `page.requests` every URL that is not
file:, data: or blob: (refused, so nothing leaves the machine).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any, Iterator

LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
TIMEOUT = 30.0


def chromium_path() -> str | None:
    """The Chromium binary: $ARCHCALC_CHROMIUM, Debian's /usr/bin/chromium, or one on PATH."""
    for candidate in (os.environ.get("ARCHCALC_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One headless Chromium process and its DevTools pipe (fd 3: commands in, fd 4: replies out)."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900):
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="archcalc-chromium-")
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def pipes_as_3_and_4() -> None:   # in the child, before exec
            read, write = os.dup(commands_read), os.dup(replies_write)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={self.profile}", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
             "--disable-features=Translate,MediaRouter,OptimizationHints", f"--window-size={width},{height}",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=pipes_as_3_and_4, close_fds=False)
        os.close(commands_read)
        os.close(replies_write)
        self._next = 0
        self._lock = threading.Lock()
        self._waiting: dict[int, queue.Queue] = {}
        self._listeners: dict[str, list[Any]] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # the protocol -------------------------------------------------------------------------------

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._replies, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                for waiting in list(self._waiting.values()):
                    waiting.put({"error": {"message": "Chromium closed its DevTools pipe"}})
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    waiting = self._waiting.pop(message["id"], None)
                    if waiting is not None:
                        waiting.put(message)
                else:
                    for listener in self._listeners.get(message.get("sessionId", ""), []):
                        listener(message["method"], message.get("params", {}))

    def post(self, method: str, params: dict | None = None, session: str | None = None) -> queue.Queue:
        with self._lock:
            self._next += 1
            number = self._next
            reply: queue.Queue = queue.Queue()
            self._waiting[number] = reply
            message = {"id": number, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            os.write(self._commands, json.dumps(message).encode() + b"\0")
        return reply

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = TIMEOUT) -> dict:
        try:
            message = self.post(method, params, session).get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"{method}: no reply from Chromium within {timeout} s") from None
        if "error" in message:
            raise BrowserError(f"{method}: {message['error'].get('message')}")
        return message.get("result", {})

    def new_page(self, timeout: float = TIMEOUT) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Page(self, session, target)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.post("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self._commands)
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """One tab: console errors, exceptions and refused requests are recorded from the start."""

    def __init__(self, browser: Chromium, session: str, target: str):
        self.browser, self.session, self.target = browser, session, target
        self.errors: list[str] = []
        self.requests: list[str] = []
        self._events: queue.Queue = queue.Queue()
        browser._listeners.setdefault(session, []).append(self._on_event)
        for method in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(method)
        self.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
        self.send("Emulation.setDeviceMetricsOverride", {"width": browser.width, "height": browser.height,
                                                         "deviceScaleFactor": 1, "mobile": False})

    def send(self, method: str, params: dict | None = None, timeout: float = TIMEOUT) -> dict:
        return self.browser.send(method, params, self.session, timeout)

    def _on_event(self, method: str, params: dict) -> None:
        if method == "Fetch.requestPaused":   # answered here, on the reader thread: the page waits for it
            url = params["request"]["url"]
            if url.startswith(LOCAL_SCHEMES):
                self.browser.post("Fetch.continueRequest", {"requestId": params["requestId"]}, self.session)
            else:
                self.requests.append(url)
                self.browser.post("Fetch.failRequest", {"requestId": params["requestId"],
                                                        "errorReason": "BlockedByClient"}, self.session)
            return
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(arg.get("value", arg.get("description", "")))
                                                      for arg in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append("exception: " + str(details.get("exception", {}).get("description")
                                                   or details.get("text")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
        self._events.put(method)

    def open(self, path: str | os.PathLike[str], timeout: float = TIMEOUT) -> float:
        """Load a file and wait for its load event; returns the seconds it took."""
        url = path if isinstance(path, str) and ":" in path[:8] else Path(path).resolve().as_uri()
        while not self._events.empty():
            self._events.get_nowait()
        start = time.perf_counter()
        result = self.send("Page.navigate", {"url": url}, timeout)
        if result.get("errorText"):
            raise BrowserError(f"cannot open {url}: {result['errorText']}")
        deadline = start + timeout
        while True:
            try:
                if self._events.get(timeout=max(0.01, deadline - time.perf_counter())) == "Page.loadEventFired":
                    return time.perf_counter() - start
            except queue.Empty:
                raise BrowserError(f"{url} did not finish loading within {timeout} s") from None

    def evaluate(self, expression: str, timeout: float = TIMEOUT) -> Any:
        """The value of a JavaScript expression (promises are awaited); a thrown error is BrowserError."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(str(details.get("exception", {}).get("description") or details.get("text")))
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = TIMEOUT) -> Any:
        """Poll until the expression is truthy; returns its value."""
        deadline = time.perf_counter() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.perf_counter() > deadline:
                raise BrowserError(f"still false after {timeout} s: {expression}")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A real mouse click (press and release) at the centre of the first element matching `selector`."""
        box = self.evaluate(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e) return null; e.scrollIntoView({{block: 'center', inline: 'center'}});
            const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")
        if box is None:
            raise BrowserError(f"no element matches {selector!r}")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                   "clickCount": 1})
        self.settle()

    def settle(self) -> None:
        """Wait for the next two animation frames: what a click set off has run and been drawn."""
        self.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))")

    def close(self) -> None:
        self.browser._listeners.pop(self.session, None)
        with contextlib.suppress(BrowserError):
            self.browser.send("Target.closeTarget", {"targetId": self.target})

    def screenshot(self, path: str | os.PathLike[str], full_page: bool = False, scale: float = 1) -> Path:
        """A PNG of the viewport (or the whole page, up to 16,384 px tall); `scale` < 1 makes a small one that
        `distinct_colors` and `inked_fraction` read quickly."""
        params: dict[str, Any] = {"format": "png"}
        if full_page or scale != 1:
            size = self.send("Page.getLayoutMetrics")["cssContentSize" if full_page else "cssLayoutViewport"]
            width = size.get("width", size.get("clientWidth"))
            height = size.get("height", size.get("clientHeight"))
            params.update(captureBeyondViewport=full_page, clip={"x": 0, "y": 0, "width": width,
                                                                 "height": min(height, 16384), "scale": scale})
        data = base64.b64decode(self.send("Page.captureScreenshot", params)["data"])
        target = Path(path)
        target.write_bytes(data)
        return target


@contextlib.contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator[Page]:
    """A page in a Chromium of its own, closed afterwards (tests use the `page` fixture of conftest.py)."""
    binary = chromium_path()
    if binary is None:
        raise BrowserError("Chromium not found (Debian: apt-get install chromium)")
    browser = Chromium(binary, width, height)
    try:
        yield browser.new_page()
    finally:
        browser.close()


def skip_reason() -> str | None:
    """Why browser tests cannot run here, or None."""
    return None if chromium_path() else "Chromium not installed (Debian: apt-get install chromium; or set ARCHCALC_CHROMIUM)"


# --- looking at a screenshot -----------------------------------------------------------------------

def png_pixels(path: str | os.PathLike[str]) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG, as Chromium writes them."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unsupported PNG (depth {depth}, colour {color})"
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for row in range(height):
        kind, line = raw[row * (stride + 1)], bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def distinct_colors(path: str | os.PathLike[str], step: int = 4) -> int:
    """How many distinct RGB colours a screenshot has (sampling every `step`-th pixel): 1 for a blank page."""
    width, height, rows = png_pixels(path)
    channels = len(rows[0]) // width
    seen = set()
    for row in rows[::step]:
        for i in range(0, len(row), channels * step):
            seen.add(row[i:i + 3])
    return len(seen)


def inked_fraction(path: str | os.PathLike[str], step: int = 4) -> tuple[int, int]:
    """(pixels that are not the background colour, pixels sampled): the background is the top-left pixel's."""
    width, height, rows = png_pixels(path)
    channels = len(rows[0]) // width
    background = rows[0][:3]
    inked = sampled = 0
    for row in rows[::step]:
        for i in range(0, len(row), channels * step):
            sampled += 1
            inked += row[i:i + 3] != background
    return inked, sampled


__all__ = ["BrowserError", "Chromium", "Page", "chromium_page", "chromium_path", "distinct_colors", "inked_fraction",
           "png_pixels", "skip_reason"]
