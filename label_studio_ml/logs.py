"""Logging set-up with a filter that keeps credentials out of every log line, tracebacks included."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

_SECRET_PATTERNS = (
    re.compile(r"(?i)\b(Authorization['\"]?\s*[:=]\s*['\"]?)(Basic|Token|Bearer)\s+[^\s'\",}]+"),
    re.compile(r"(?i)\b(Basic|Token|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(['\"]?(?:access_token|api_key|password|token)['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
)
# ``scheme://user:password@host``: the user-info part of a URL is a credential.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@'\"]+@")
#: Shorter values are not masked: replacing every "abc" in a log would garble it and hide nothing.
MIN_SECRET_LENGTH = 4


class SecretRegistry:
    """Secret values seen by this process (configured passwords, tokens from ``/setup``).

    Log handlers are process-wide, so is this registry; it only grows, and adding a value twice is
    harmless.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Mask ``value`` in every log line from now on."""
        if not value or len(value) < MIN_SECRET_LENGTH or value in self._values:
            return
        with self._lock:
            self._values = self._values | {value}

    @property
    def values(self) -> tuple[str, ...]:
        """Known secrets, longest first (a secret containing another is masked whole)."""
        return tuple(sorted(self._values, key=len, reverse=True))


_PROCESS_SECRETS = SecretRegistry()


def process_secrets() -> SecretRegistry:
    """The registry every redacting log filter of this process reads."""
    return _PROCESS_SECRETS


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with auth headers, token fields, URL credentials and the given secret values masked."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)} ***", text)
    text = _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)} ***", text)
    text = _SECRET_PATTERNS[2].sub(lambda m: f"{m.group(1)}***", text)
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}***@", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, traceback and stack with secrets masked."""

    def __init__(self, secrets: SecretRegistry | Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = secrets if isinstance(secrets, SecretRegistry) else SecretRegistry(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        known = self.secrets.values
        message = record.getMessage()
        cleaned = redact(message, known)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse ``exc_text`` when it is set, so the traceback is printed masked.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, known)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, known)
        return True


#: Loggers with handlers of their own (gunicorn's error and access logs) that must mask too.
_OTHER_LOGGERS = ("gunicorn.error", "gunicorn.access")
#: Libraries that log every HTTP request at INFO (httpx, under the Label Studio SDK: a line per
#: page of tasks, and a 404 for the page past the last one): kept to WARNING unless at DEBUG.
_CHATTY_LOGGERS = ("httpx",)


def configure_logging(level: str, secrets: Iterable[str] = ()) -> SecretRegistry:
    """Log to stderr at ``level``; every handler masks secrets. Returns the process's registry."""
    registry = process_secrets()
    for secret in secrets:
        registry.add(secret)
    root = logging.getLogger()
    if not any(isinstance(h, logging.StreamHandler) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")
        )
        root.addHandler(handler)
    root.setLevel(level)
    chatty = logging.NOTSET if root.getEffectiveLevel() <= logging.DEBUG else logging.WARNING
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(chatty)
    handlers = [*root.handlers, *(h for name in _OTHER_LOGGERS for h in logging.getLogger(name).handlers)]
    for handler in handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(registry))
    return registry
