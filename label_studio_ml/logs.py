"""Logging set-up with a filter that keeps credentials out of every log line."""

from __future__ import annotations

import logging
import re

_SECRET_PATTERNS = (
    re.compile(r"(?i)\b(Authorization['\"]?\s*[:=]\s*['\"]?)(Basic|Token|Bearer)\s+[^\s'\",}]+"),
    re.compile(r"(?i)\b(Basic|Token|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(['\"]?(?:access_token|api_key|password|token)['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with auth headers, token fields and the given secret values masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)} ***", text)
    text = _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)} ***", text)
    return _SECRET_PATTERNS[2].sub(lambda m: f"{m.group(1)}***", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets masked."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str, secrets: tuple[str, ...] = ()) -> None:
    """Log to stderr at ``level``; every handler masks secrets."""
    root = logging.getLogger()
    if not any(isinstance(h, logging.StreamHandler) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")
        )
        root.addHandler(handler)
    root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(secrets))
