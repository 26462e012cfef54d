"""Which Label Studio a project's token goes to: the URL and the token are one pinned pair.

``/setup`` carries Label Studio's ``hostname`` and an ``access_token``. Both are stored together,
and a token is only ever sent to the host it arrived with:

- a ``/setup`` that brings both replaces the pair (a legitimate move of Label Studio to a new
  address always comes with its token; the change is logged, without the token);
- a ``/setup`` that brings only one of them changes nothing, so nobody who can reach the backend
  can point the stored token at another host;
- ``LABEL_STUDIO_URL`` (with or without ``LABEL_STUDIO_API_KEY``) set by the administrator wins over
  ``/setup``'s hostname; a ``LABEL_STUDIO_API_KEY`` alone is refused at start-up (see ``config``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from label_studio_ml.config import Settings
from label_studio_ml.logs import SecretRegistry
from label_studio_ml.studio.client import LabelStudioAccess

logger = logging.getLogger(__name__)

CONNECTION_KEY = "_ls_connection"
_LEGACY_KEYS = ("_ls_hostname", "_ls_access_token")


@dataclass(frozen=True)
class Connection:
    """A Label Studio URL and the token issued by it."""

    url: str
    token: str = field(repr=False)

    @classmethod
    def from_state(cls, value: Any) -> Connection | None:
        """The pair as stored, or ``None`` when nothing complete is stored."""
        if not isinstance(value, dict):
            return None
        url, token = value.get("url"), value.get("token")
        return cls(url, token) if isinstance(url, str) and isinstance(token, str) else None

    def to_state(self) -> dict[str, str]:
        """The JSON stored for the pair."""
        return {"url": self.url, "token": self.token}


class ConnectionBook:
    """Reads and updates the pinned connection of each project in the state store."""

    def __init__(self, state: Any, settings: Settings, secrets: SecretRegistry) -> None:
        self.state = state
        self.settings = settings
        self.secrets = secrets

    def stored(self, project: str) -> Connection | None:
        """The project's pinned pair (a pair stored by an earlier release is read once and moved)."""
        pinned = Connection.from_state(self.state.get(project, CONNECTION_KEY))
        if pinned is None:
            pinned = self._adopt_legacy(project)
        if pinned is not None:
            self.secrets.add(pinned.token)
        return pinned

    def offer(self, project: str, hostname: str | None, token: str | None) -> str:
        """Take what ``/setup`` brought; returns what happened (``stored``, ``changed``, ``unchanged``,
        ``incomplete`` or ``none``).

        Only a token that is stored (as a pinned pair) joins the log redaction list: the list lives as
        long as the process, and a refused or incomplete offer must leave nothing behind in it.
        """
        if not hostname and not token:
            return "none"
        current = self.stored(project)
        if not (hostname and token):
            if hostname and current is not None and hostname != current.url:
                logger.warning(
                    "project %s: /setup named %s without credentials; the pinned ones stay with %s",
                    project, hostname, current.url,
                )  # fmt: skip
            return "incomplete"
        offered = Connection(hostname, token)
        if offered == current:
            return "unchanged"
        self.state.set(project, CONNECTION_KEY, offered.to_state())
        self.secrets.add(offered.token)
        if current is None:
            logger.info("project %s: connected to Label Studio at %s", project, hostname)
            return "stored"
        if current.url != hostname:
            logger.warning(
                "project %s: Label Studio moved from %s to %s (new credentials came with it)",
                project, current.url, hostname,
            )  # fmt: skip
        else:
            logger.info("project %s: Label Studio at %s sent new credentials", project, hostname)
        return "changed"

    def access(self, project: str) -> LabelStudioAccess | None:
        """How to call ``project``'s Label Studio, or ``None`` when no complete pair is known.

        ``LABEL_STUDIO_URL`` wins over the pinned URL; its token is ``LABEL_STUDIO_API_KEY`` or the
        pinned one (the administrator chose that host, so the token may go there).
        """
        url, key = self.settings.label_studio_url, self.settings.label_studio_api_key
        if url and key:
            return LabelStudioAccess(url=url, api_key=key)
        pinned = self.stored(project)
        if pinned is None:
            return None
        return LabelStudioAccess(url=(url or pinned.url).rstrip("/"), api_key=pinned.token)

    def register_all(self, projects: list[str]) -> None:
        """Make every stored token known to the log redaction (after a restart)."""
        for project in projects:
            self.stored(project)

    def _adopt_legacy(self, project: str) -> Connection | None:
        hostname, token = (self.state.get(project, key) for key in _LEGACY_KEYS)
        if not any(self.state.has(project, key) for key in _LEGACY_KEYS):
            return None
        pinned = Connection(hostname, token) if isinstance(hostname, str) and isinstance(token, str) else None
        if pinned is not None:
            self.state.set(project, CONNECTION_KEY, pinned.to_state())
        for key in _LEGACY_KEYS:
            self.state.delete(project, key)
        return pinned
