"""Redirects are never a way for our credentials to leave the pinned Label Studio.

The SDK's client follows no redirect at all (``no_redirect_client``): Label Studio's API answers
none, and with a 307/308 httpx would send the same method and body (the webhook ``PATCH`` carries
our basic-auth header; a token refresh, the refresh token) wherever it points. Task data follows
Label Studio's own redirects only as ``LabelStudioAccess._next_url`` allows, through
``redirect_target``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlparse

from label_studio_ml.errors import DataAccessDenied, LabelStudioUnavailable

if TYPE_CHECKING:
    import httpx


def no_redirect_client(timeout_s: float) -> httpx.Client:
    """An httpx client for the SDK that never follows a redirect: one is ``LabelStudioUnavailable``."""
    import httpx

    hooks = {"response": [_refuse_redirect]}
    return httpx.Client(timeout=timeout_s, follow_redirects=False, event_hooks=hooks)


def _refuse_redirect(response: httpx.Response) -> None:
    """The SDK client's response hook: a redirect is ``LabelStudioUnavailable``, never followed.

    All redirects are refused, not only those off the host: Label Studio's API answers none, and a
    Label Studio that moved (``http`` to ``https``, another address) is configured, not guessed.
    The reason names the target's origin only: a Location's path or query may hold a signature.
    """
    if not response.is_redirect:
        return
    request = response.request
    target = _origin_text(str(request.url), response.headers.get("Location", ""))
    raise LabelStudioUnavailable(
        f"Label Studio answered {request.method} {request.url.path[:100]} with a redirect "
        f"({response.status_code}) to {target}; redirects are not followed, so credentials only go "
        "to the configured Label Studio URL (use the address it redirects to)"
    )


def _origin_text(url: str, location: str) -> str:
    """``scheme://host:port`` a redirect from ``url`` leads to, for a message (no user, path or query)."""
    try:
        target = urlparse(urljoin(url, location))
        port = f":{target.port}" if target.port else ""
        return f"{target.scheme}://{(target.hostname or '')[:100]}{port}"
    except ValueError:  # a Location Label Studio (or a proxy) wrote: it may be anything
        return "a malformed URL"


def redirect_target(url: str, location: str) -> str:
    """Where a redirect from ``url`` leads; ``DataAccessDenied`` for a non-http or malformed target
    (a storage host chooses it: it must fail this task alone, not the request)."""
    try:
        target = urljoin(url, location)
    except ValueError as exc:
        raise DataAccessDenied(f"task data redirected to a malformed URL: {str(exc)[:100]}") from None
    if not target.startswith(("http://", "https://")):
        raise DataAccessDenied("Label Studio redirected task data to a non-http URL")
    return target
