"""A real headless browser for page tests: Debian's Chromium, driven from its command line.

``chromium()`` finds it; on a machine without it where the tests run as root with ``apt-get``
(CI), it installs Debian's ``chromium`` package once (no browser download from elsewhere). Where
neither works the test is skipped with the command that would make it run. Chromium loads the page
as a browser does (no script is needed: the status page has none) and prints the DOM it built
(``--dump-dom``) or saves a screenshot.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome")
#: Where page tests keep their screenshots (not in git): ``TEST_ARTIFACTS`` or ``./test-artifacts``.
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run")


def _found() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def _install() -> None:
    """``apt-get install chromium`` once per machine (a lock serialises concurrent sessions)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with open(Path(tempfile.gettempdir()) / "lsml-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _found():
            return
        installed = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env,
                                   capture_output=True, timeout=1200)  # fmt: skip
        if installed.returncode != 0:  # a fresh image may have no package lists yet
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
            subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env,
                           capture_output=True, timeout=1200)  # fmt: skip


def chromium() -> str:
    """The path of a Chromium, installed from Debian's packages if need be; else the test is skipped."""
    if _found() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        _install()
    found = _found()
    if found is None:
        pytest.skip("no Chromium for the browser tests: `sudo apt-get install chromium` (Debian's package)")
    return found


def dump_dom(browser: str, url: str) -> str:
    """The DOM Chromium builds from ``url``, serialised."""
    done = subprocess.run([browser, *_FLAGS, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(browser: str, url: str, name: str, size: tuple[int, int] = (1280, 1000)) -> Path:
    """A PNG of ``url`` as Chromium draws it, kept under ``ARTIFACTS``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    window = f"--window-size={size[0]},{size[1]}"
    done = subprocess.run([browser, *_FLAGS, window, f"--screenshot={path}", url],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and path.stat().st_size > 0, done.stderr[-2000:]
    return path
