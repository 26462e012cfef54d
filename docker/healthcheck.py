"""Docker HEALTHCHECK: exit 0 when the backend's ``/health`` answers ``{"status": "UP"}``.

Standard library only (the slim image has no curl). Sends basic auth when the backend requires it,
since ``/health`` is protected like every other route.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping


def health_request(env: Mapping[str, str]) -> urllib.request.Request:
    """The ``GET /health`` request for the port and credentials in ``env``."""
    port = env.get("PORT", "").strip() or "9090"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/health")
    user, password = env.get("BASIC_AUTH_USER"), env.get("BASIC_AUTH_PASS")
    if user and password:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    return request


def check(env: Mapping[str, str], timeout_s: float = 5.0) -> tuple[bool, str]:
    """Whether the backend is healthy, and a one-line reason."""
    try:
        with urllib.request.urlopen(health_request(env), timeout=timeout_s) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return False, f"/health answered {exc.code}"
    except (OSError, ValueError) as exc:
        return False, f"/health unreachable or not JSON: {exc}"
    if body.get("status") != "UP":
        return False, f"/health body {body}"
    return True, "UP"


if __name__ == "__main__":
    healthy, reason = check(os.environ)
    print(reason)
    sys.exit(0 if healthy else 1)
