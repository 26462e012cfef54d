"""Give Label Studio's auto-created webhook our basic-auth header.

Label Studio sends ML-API calls with the backend's credentials, but the project webhook it
creates for ``<backend>/webhook`` carries none, so with basic auth on annotation-triggered
training would silently never happen. ``/setup`` carries Label Studio's URL and a token, so we
fix the webhook ourselves, once per project, in the background.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import urlparse

from label_studio_ml.context import BackendContext
from label_studio_ml.errors import LabelStudioUnavailable
from label_studio_ml.server.auth import basic_auth_header
from label_studio_ml.state.project_key import label_studio_id
from label_studio_ml.studio.client import as_refusal

logger = logging.getLogger(__name__)

_DONE_KEY = "_webhook_auth_configured_for"
_in_flight: set[str] = set()
_in_flight_lock = threading.Lock()


def _same_endpoint(webhook_url: str, backend_root: str) -> bool:
    # A webhook URL is whatever a project member typed: one that does not parse is not ours.
    try:
        hook, root = urlparse(webhook_url), urlparse(backend_root)
        return (
            hook.path.rstrip("/").endswith("/webhook")
            and hook.hostname == root.hostname
            and (hook.port or 80) == (root.port or 80)
        )
    except ValueError:  # "Invalid IPv6 URL", a port that is not a number or out of range
        return False


def configure_webhook_auth(context: BackendContext, project: str, backend_root: str) -> int:
    """Make this project's webhooks that point at us carry our header; returns how many point at us."""
    settings = context.settings
    access = context.label_studio_for(project)
    if access is None or not settings.basic_auth_enabled:
        return 0
    header = basic_auth_header(settings.basic_auth_user or "", settings.basic_auth_pass or "")
    client = access.client()
    matching = 0
    for hook in client.webhooks.list(project=int(label_studio_id(project))):
        if not _same_endpoint(str(hook.url), backend_root):
            continue
        matching += 1
        headers = dict(hook.headers or {})
        if headers.get("Authorization") != header:
            headers["Authorization"] = header
            client.webhooks.update(hook.id, headers=headers, url=hook.url)
    return matching


def ensure_webhook_auth_async(context: BackendContext, project: str, backend_root: str) -> None:
    """Run ``configure_webhook_auth`` once per project and backend URL, off the request thread."""
    if not (context.settings.basic_auth_enabled and context.settings.auto_configure_webhook):
        return
    if context.state.get(project, _DONE_KEY) == backend_root:
        return
    with _in_flight_lock:
        if project in _in_flight:
            return
        _in_flight.add(project)

    def work() -> None:
        try:
            count = configure_webhook_auth(context, project, backend_root)
            # Label Studio may create the webhook after its first /setup: retry until one exists.
            if count:
                context.state.set(project, _DONE_KEY, backend_root)
                logger.info("project %s: basic auth set on %d Label Studio webhook(s)", project, count)
        except Exception as exc:  # Label Studio may be unreachable; retried on the next /setup
            refusal = as_refusal(exc, "setting the webhook's header")
            if refusal is None:
                # Ours (a refused redirect) explain themselves; the SDK's might carry a response body.
                reason = exc.message if isinstance(exc, LabelStudioUnavailable) else type(exc).__name__
                logger.warning("project %s: could not configure webhook auth: %s", project, reason)
            else:  # a default Label Studio refuses the legacy token /setup sends
                logger.warning(
                    "project %s: Label Studio refused the token for setting its webhook's basic-auth header "
                    "(%s): annotation webhooks will be refused; set LABEL_STUDIO_API_KEY to a personal "
                    "access token", project, refusal.reason,
                )  # fmt: skip
        finally:
            with _in_flight_lock:
                _in_flight.discard(project)

    context.threads.start(work, f"webhook-auth-{project}")
