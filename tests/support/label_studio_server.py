"""A real Label Studio 1.23.2 for end-to-end tests, on loopback, with a fresh data directory.

Label Studio lives in its own virtual environment (it pins Django and friends that must not meet the
project's dependencies). The environment is installed once per machine and cached; ``LS_VENV``
points at another one (e.g. one installed by hand) instead.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.processes import ManagedProcess, free_port, http_ok

LS_VERSION = "1.23.2"
DEFAULT_VENV = Path.home() / ".cache" / "lsml-test" / f"ls-venv-{LS_VERSION}"
_MARKER = ".lsml-installed"  # written last: a venv without it is a half-finished install
_INSTALL_TIMEOUT_S = 1800

# Variables Label Studio reads as fallbacks for its own settings (get_env tries NAME,
# LABEL_STUDIO_NAME and HEARTEX_NAME), so a stray one from the developer's shell changes its behaviour.
_FALLBACK_NAMES = ("HOST", "PORT", "USERNAME", "PASSWORD", "USER_TOKEN")
# What a child needs from the parent's environment; everything else (proxies included, which would
# swallow loopback calls to the backend) stays out.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")
#: Label Studio's feature flag for checking predictions against the label config (read from the env).
PREDICTION_VALIDATION_FLAG = "fflag_feat_utc_210_prediction_validation_15082025"


def venv_path() -> Path:
    """The Label Studio virtual environment to use: ``$LS_VENV`` or the per-machine cache."""
    override = os.environ.get("LS_VENV")
    return Path(override).expanduser() if override else DEFAULT_VENV


def _installed_version(venv: Path) -> str | None:
    python = venv / "bin" / "python"
    if not (python.exists() and (venv / "bin" / "label-studio").exists()):
        return None
    # Not `label-studio --version`: on 1.23.2 it prints the version and then starts a server.
    probe = "import importlib.metadata as m; print(m.version('label-studio'))"
    try:
        out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _usable(venv: Path, trust_unmarked: bool) -> bool:
    if not trust_unmarked and not (venv / _MARKER).exists():
        return False
    return _installed_version(venv) == LS_VERSION


def ensure_label_studio_venv(venv: Path | None = None) -> Path:
    """Return a virtual environment with ``label-studio==1.23.2``, installing it if needed.

    A file lock serialises concurrent installers on one machine; the second one finds the finished
    environment and reuses it. An explicit ``LS_VENV`` is trusted without the install marker.
    """
    explicit = venv is not None or "LS_VENV" in os.environ
    venv = venv or venv_path()
    if _usable(venv, trust_unmarked=explicit):
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _usable(venv, trust_unmarked=explicit):
                return venv  # another process finished the install while we waited
            _install(venv)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return venv


def _install(venv: Path) -> None:
    if venv.exists():
        shutil.rmtree(venv)  # a half-finished install from an interrupted run
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    result = subprocess.run(
        [*pip, "install", f"label-studio=={LS_VERSION}"],
        capture_output=True,
        text=True,
        timeout=_INSTALL_TIMEOUT_S,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip install label-studio=={LS_VERSION} failed:\n{result.stderr[-4000:]}")
    if _installed_version(venv) != LS_VERSION:
        raise RuntimeError(f"label-studio {LS_VERSION} not importable in {venv} after install")
    (venv / _MARKER).write_text(LS_VERSION + "\n")


def label_studio_env(data_dir: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Label Studio must run with to call backends on loopback, and nothing stray."""
    source = os.environ if base is None else base
    env = {name: source[name] for name in _INHERITED if name in source}
    for name in _FALLBACK_NAMES:
        env.pop(name, None)
    env.update(
        {
            # Both are needed: either one alone still answers 403 for a loopback backend URL.
            "LABEL_STUDIO_ML_BLOCK_LOCAL_IP": "false",
            "LABEL_STUDIO_SSRF_PROTECTION_ENABLED": "false",
            "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
            "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
            "LABEL_STUDIO_SENTRY_DSN": "",
            "LABEL_STUDIO_FRONTEND_SENTRY_DSN": "",
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
            # Validate predictions against the label config (off by default in 1.23.2): a batch
            # from /predict with one invalid prediction is then refused whole, so tests see it.
            PREDICTION_VALIDATION_FLAG: "true",
            # Fixed so that a restart keeps sessions and signed tokens valid.
            "SECRET_KEY": "lsml-e2e-not-a-secret",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class LabelStudioServer:
    """One Label Studio process on 127.0.0.1 with a known user, started as users start it.

    Legacy API tokens are off, as in a default install (``legacy_tokens=True`` starts it with
    ``--enable-legacy-api-token``; ``set_legacy_tokens`` switches the organization's setting at run
    time). ``token`` is the user's legacy token (what ``/setup`` sends backends, refused while legacy
    tokens are off); ``personal_access_token()`` is the one a user creates in Account & Settings.
    ``start()`` waits for ``/health``; ``restart()`` keeps the data directory and port.
    """

    data_dir: Path
    port: int = field(default_factory=free_port)
    username: str = "e2e@example.com"
    password: str = "e2e-password-1"
    token: str = "e2e0123456789abcdef0123456789abcdef01234"
    venv: Path | None = None
    legacy_tokens: bool = False
    startup_timeout_s: float = 240.0
    process: ManagedProcess | None = None
    timings: dict[str, float] = field(default_factory=dict)
    _personal_token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Base URL, also Label Studio's own idea of its host (sent to backends in /setup)."""
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        """The `label-studio start` command line."""
        assert self.venv is not None
        return [
            str(self.venv / "bin" / "label-studio"),
            "start",
            "--internal-host", "127.0.0.1",
            "--port", str(self.port),
            "--host", self.url,
            "--no-browser",
            "--data-dir", str(self.data_dir),
            "--username", self.username,
            "--password", self.password,
            "--user-token", self.token,
            *(["--enable-legacy-api-token"] if self.legacy_tokens else []),
        ]  # fmt: skip

    def start(self) -> float:
        """Install if needed, start, wait for health; returns the seconds until healthy."""
        if self.venv is None:
            began = time.monotonic()
            self.venv = ensure_label_studio_venv()
            self.timings["venv_s"] = time.monotonic() - began
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            "label-studio", self.argv(), label_studio_env(self.data_dir), self.data_dir / "label-studio.log"
        )
        self.process.start()
        try:
            # Label Studio silently moves to the next port when ours is taken, so health must
            # answer on exactly this port.
            waited = self.process.wait_until(
                lambda: http_ok(f"{self.url}/health", {"status": "UP"}), self.startup_timeout_s, "healthy"
            )
        except BaseException:
            self.stop()
            raise
        self.timings.setdefault("first_start_s", waited)
        self.timings["last_start_s"] = waited
        return waited

    def personal_access_token(self) -> str:
        """The user's personal access token (a JWT refresh token), created once through the web login
        as a person does in Account & Settings; Label Studio keeps one per user."""
        if self._personal_token is None:
            session = self._web_session()
            # One per user (a second POST is 409): this object keeps it across restarts.
            response = session.post(f"{self.url}/api/token/", headers=self._csrf(session), timeout=30)
            response.raise_for_status()
            self._personal_token = str(response.json()["token"])
        return self._personal_token

    def set_legacy_tokens(self, enabled: bool) -> None:
        """Switch the organization's "legacy API tokens" setting (``POST /api/jwt/settings``)."""
        session = self._web_session()
        response = session.post(
            f"{self.url}/api/jwt/settings",
            json={"api_tokens_enabled": True, "legacy_api_tokens_enabled": enabled},
            headers=self._csrf(session),
            timeout=30,
        )
        response.raise_for_status()

    def sign_up(self, email: str, password: str) -> requests.Session:
        """Another person signing up through the web form (they join the organization, as on a
        default install); their logged-in session. The API takes it with ``csrf_headers``."""
        session = requests.Session()
        session.get(f"{self.url}/user/signup/", timeout=30).raise_for_status()
        form = {"email": email, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]}
        session.post(f"{self.url}/user/signup/", data=form, headers={"Referer": f"{self.url}/user/signup/"},
                     allow_redirects=False, timeout=30)  # fmt: skip
        if "sessionid" not in session.cookies:
            raise RuntimeError(f"signing up {email} to Label Studio failed")
        return session

    def csrf_headers(self, session: requests.Session) -> dict[str, str]:
        """What a web session's API calls that change something must carry."""
        return self._csrf(session)

    def _web_session(self) -> requests.Session:
        """A browser-like session logged in with the user's email and password."""
        session = requests.Session()
        session.get(f"{self.url}/user/login/", timeout=30).raise_for_status()
        form = {"email": self.username, "password": self.password,
                "csrfmiddlewaretoken": session.cookies["csrftoken"]}  # fmt: skip
        response = session.post(
            f"{self.url}/user/login/", data=form, headers={"Referer": f"{self.url}/user/login/"},
            allow_redirects=False, timeout=30,
        )  # fmt: skip
        if "sessionid" not in session.cookies:
            raise RuntimeError(f"logging in to Label Studio failed ({response.status_code})")
        return session

    def _csrf(self, session: requests.Session) -> dict[str, str]:
        return {"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{self.url}/"}

    def stop(self) -> None:
        """Stop the process group (idempotent)."""
        if self.process is not None:
            self.process.stop()
            self.process = None

    def restart(self) -> float:
        """Stop and start again on the same port and data; returns seconds until healthy."""
        self.stop()
        return self.start()

    def __enter__(self) -> LabelStudioServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
