"""What every model instance is handed by the server: settings, state and Label Studio access."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from label_studio_ml.config import Settings
from label_studio_ml.label_studio import LabelStudioAccess
from label_studio_ml.state import StateStore


@dataclass(frozen=True)
class BackendContext:
    """Process-wide services shared by the API, the training queue and model instances."""

    settings: Settings
    state: StateStore

    @classmethod
    def from_settings(cls, settings: Settings) -> BackendContext:
        """Open (or create) the state database under ``settings.model_dir``."""
        return cls(settings=settings, state=StateStore(settings.model_dir / "state.sqlite3"))

    def label_studio_for(self, project: str) -> LabelStudioAccess | None:
        """Label Studio access for ``project``.

        ``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY`` win; otherwise the ``hostname`` and
        ``access_token`` that Label Studio itself sent to ``/setup`` for this project, so
        training works with no configuration.
        """
        url = self.settings.label_studio_url or self.state.get(project, "_ls_hostname")
        key = self.settings.label_studio_api_key or self.state.get(project, "_ls_access_token")
        if not url or not key:
            return None
        return LabelStudioAccess(url=str(url).rstrip("/"), api_key=str(key))


@functools.lru_cache(maxsize=1)
def default_context() -> BackendContext:
    """A context from the environment, for models instantiated outside the server (scripts, tests)."""
    return BackendContext.from_settings(Settings.from_env())
