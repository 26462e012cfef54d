"""Long-running child processes for end-to-end tests: start in their own process group, wait until
an HTTP endpoint answers, stop the whole group by PID (never by name)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import requests

_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, max_chars: int = 4000) -> str:
    """The end of a log file, for error messages that must say why a process did not come up."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "<no log>"
    return text[-max_chars:]


class ManagedProcess:
    """A child process in its own session (so its group holds gunicorn workers and the like too).

    Output goes to ``log_path``; ``stop()`` signals the whole group and always reaps the leader.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The leader's PID (also the process group id), or None before start."""
        return self.popen.pid if self.popen else None

    def start(self) -> None:
        """Spawn the process; its output is appended to the log file."""
        if self.running():
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() reaches every child
                preexec_fn=_die_with_parent,
            )

    def running(self) -> bool:
        """True while the leader process has not exited."""
        return self.popen is not None and self.popen.poll() is None

    def stop(self, grace_s: float = 15.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``grace_s``; returns the exit code."""
        if self.popen is None:
            return None
        pgid = self.popen.pid  # start_new_session made the leader's PID the group id
        _signal_group(pgid, signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            code = self.popen.wait(timeout=10)
        # Children that outlived the leader (e.g. orphaned workers) still carry the group id, and
        # until they are gone they may write into folders the caller removes next (a browser's
        # storage helpers into its profile).
        _signal_group(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while group_running(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return code

    def wait_until(self, ready: Callable[[], bool], timeout_s: float, what: str) -> float:
        """Poll ``ready`` until it is true; fail early with the log if the process dies.

        Returns the seconds waited.
        """
        started = time.monotonic()
        while True:
            if ready():
                return time.monotonic() - started
            if not self.running():
                code = self.popen.returncode if self.popen else None
                raise RuntimeError(
                    f"{self.name} exited with code {code} before {what}; log tail:\n{log_tail(self.log_path)}"
                )
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(
                    f"{self.name} not {what} after {timeout_s:.0f} s; log tail:\n{log_tail(self.log_path)}"
                )
            time.sleep(0.25)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the test process dies without running teardown
    (killed, or interrupted twice), so no server outlives the test run. Linux ties this to the
    spawning *thread*: start servers from the thread that lives as long as they should."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def group_running(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (a zombie with no thread left does not)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)"
            state, group, threads = fields[0], int(fields[2]), int(fields[17])
            if group == pgid and (state != "Z" or threads > 1):
                return True
    return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already gone
        os.killpg(pgid, sig)


def http_ok(
    url: str, expect_json: Mapping[str, object] | None = None, auth: tuple[str, str] | None = None
) -> bool:
    """True when ``url`` answers 200 (and, if given, a JSON body containing ``expect_json``)."""
    try:
        response = requests.get(url, timeout=2, auth=auth)
    except requests.RequestException:
        return False
    if response.status_code != 200:
        return False
    if expect_json is None:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and all(body.get(key) == value for key, value in expect_json.items())


def every_worker_healthy(url: str, workers: int, auth: tuple[str, str] | None = None) -> bool:
    """True when ``workers`` gunicorn workers all answer ``/health`` 200, as far as a client can
    tell: several answers in a row, each on a new connection (the workers take turns accepting),
    and none 503. One 200 alone says only that one worker finished loading."""
    return all(http_ok(f"{url}/health", auth=auth) for _ in range(1 if workers <= 1 else 4 * workers + 4))
