"""A headless Chromium driven over the DevTools protocol, for pages that need a login and scripts.

``tests/support/browser.py`` runs Chromium from its command line, which cannot log in nor wait for a
single-page app (Label Studio's editor) to draw. Here Chromium listens for the DevTools protocol on
a WebSocket (spoken with the standard library: the tests need no WebSocket package): cookies are set,
the page is opened, a script is polled until the page has drawn, and a screenshot is taken.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import struct
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tests.support.browser import ARTIFACTS, chromium
from tests.support.processes import ManagedProcess


class DevToolsPage:
    """One page target: ``call`` a protocol method, ``evaluate`` a script, ``screenshot`` it."""

    def __init__(self, ws_url: str) -> None:
        where = urlparse(ws_url)
        self.sock = socket.create_connection((where.hostname, where.port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {where.path} HTTP/1.1\r\nHost: {where.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.calls = 0

    def _send(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        size = len(payload)
        if size < 126:
            header = struct.pack("!BB", 0x81, 0x80 | size)  # a text frame, masked as a client's must be
        elif size < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        self.sock.sendall(header + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload)))

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            assert chunk, "DevTools closed the connection"
            data += chunk
        return data

    def _receive(self) -> str:
        message = b""
        while True:
            first, second = self._exactly(2)
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", self._exactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", self._exactly(8))
            message += self._exactly(size)
            if first & 0x80:  # the last fragment
                return message.decode()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Call ``method``; its result (events received meanwhile are dropped)."""
        self.calls += 1
        self._send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            reply = json.loads(self._receive())
            if reply.get("id") == self.calls:
                assert "error" not in reply, reply
                return reply.get("result", {})

    def evaluate(self, script: str) -> Any:
        """The value of a JavaScript expression in the page."""
        return self.call("Runtime.evaluate", expression=script, returnByValue=True)["result"].get("value")

    def wait_for(self, script: str, timeout_s: float, what: str) -> Any:
        """Poll ``script`` until it returns something truthy."""
        deadline = time.monotonic() + timeout_s
        while not (value := self.evaluate(script)):
            assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
            time.sleep(0.5)
        return value

    def screenshot(self, name: str) -> Path:
        """A PNG of the page as drawn, kept under ``test-artifacts/``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path


@contextmanager
def devtools_page(
    cookies: dict[str, str], origin: str, size: tuple[int, int] = (1400, 1000)
) -> Iterator[DevToolsPage]:
    """A fresh headless Chromium with ``cookies`` set for ``origin``; its one page."""
    # ``stop`` waits out the browser's helper processes, which write into the profile until they
    # are gone; what is left after that is not worth failing a test for.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        argv = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={profile}",
                "about:blank"]  # fmt: skip
        browser = ManagedProcess("chromium", argv, os.environ, Path(profile) / "chromium.log")
        browser.start()
        try:
            log = browser.log_path
            browser.wait_until(lambda: _devtools_port(log) is not None, 60, "listening for DevTools")
            port = _devtools_port(log)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
            with urllib.request.urlopen(request, timeout=30) as answer:
                page = DevToolsPage(json.load(answer)["webSocketDebuggerUrl"])
            metrics = {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False}
            page.call("Emulation.setDeviceMetricsOverride", **metrics)
            for name, value in cookies.items():
                page.call("Network.setCookie", name=name, value=value, url=origin)
            yield page
        finally:
            browser.stop()


def _devtools_port(log: Path) -> str | None:
    """The port of "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/..." in the log."""
    found = re.search(r"ws://127\.0\.0\.1:(\d+)/", log.read_text(errors="replace")) if log.exists() else None
    return found[1] if found else None
