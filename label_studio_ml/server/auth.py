"""HTTP basic auth over every route, compared in constant time."""

from __future__ import annotations

import base64
import hmac

from label_studio_ml.config import Settings
from label_studio_ml.errors import Unauthorized


def basic_auth_header(user: str, password: str) -> str:
    """The ``Authorization`` header value for ``user``/``password``."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


def check_basic_auth(settings: Settings, authorization: str | None) -> None:
    """Raise ``Unauthorized`` unless ``authorization`` carries the configured credentials."""
    if not settings.basic_auth_enabled:
        return
    expected = basic_auth_header(settings.basic_auth_user or "", settings.basic_auth_pass or "")
    # compare_digest on bytes: constant time whatever the input, also for non-ASCII headers.
    if not hmac.compare_digest((authorization or "").encode(), expected.encode()):
        raise Unauthorized("valid basic auth credentials are required")
