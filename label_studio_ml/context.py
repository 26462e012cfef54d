"""What every model instance is handed by the server: settings, state and Label Studio access."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from label_studio_ml.background import BackgroundThreads
from label_studio_ml.config import Settings
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.logs import SecretRegistry, process_secrets
from label_studio_ml.state.contract import StateStore
from label_studio_ml.state.layout import adopt_legacy_layout
from label_studio_ml.state.sqlite_store import SqliteStateStore
from label_studio_ml.studio.client import LabelStudioAccess
from label_studio_ml.studio.connections import ConnectionBook

_NAMESPACE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
logger = logging.getLogger(__name__)


class VersionEvents:
    """Who is told when a project starts serving another model version (``set_model_version``):
    active learning re-ranks Label Studio's queue then. A listener must return at once."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[str, str], None]] = []

    def subscribe(self, listener: Callable[[str, str], None]) -> None:
        """Call ``listener(project, version)`` for every version published from now on."""
        self._listeners.append(listener)

    def published(self, project: str, version: str) -> None:
        """Tell every listener; one that fails is logged and never fails the publication."""
        for listener in list(self._listeners):
            try:
                listener(project, version)
            except Exception:
                logger.exception("project %s: a listener of version %s failed", project, version)


def namespace_of(model_class: type) -> str:
    """The folder a model class keeps its state and versions in: ``MODEL_NAMESPACE`` or its name.

    Two backends pointed at the same ``MODEL_DIR`` (a classifier and an NER model, say) then never
    read each other's versions, counters or leases.
    """
    name = str(getattr(model_class, "MODEL_NAMESPACE", None) or model_class.__name__)
    if not _NAMESPACE.match(name):
        raise ConfigurationError(f"model namespace {name!r} must be a folder name (letters, digits, _ . -)")
    return name


class ModelClassHooks(Protocol):
    """What building a context needs of a model class (``LabelStudioMLBase`` declares both hooks)."""

    __name__: str

    def settings_from_env(self, environ: Mapping[str, str] | None = None) -> Any:
        """The model's own settings, read from ``environ``."""

    def owns_legacy_data(self, model_dir: Path) -> bool:
        """Whether a pre-namespace ``MODEL_DIR`` is this class's."""


@dataclass(frozen=True)
class BackendContext:
    """Process-wide services shared by the API, the training queue and model instances.

    ``data_dir`` is where this model class's trained versions live: ``MODEL_STORE/<namespace>``
    (storage every replica and worker shares) or ``MODEL_DIR/<namespace>``. ``state`` is SQLite in
    ``MODEL_DIR/<namespace>`` or, with ``REDIS_URL``, Redis. ``model_settings`` is whatever the
    model class reads from the environment (``settings_from_env``), validated once at start-up and
    handed to every instance. ``threads`` are the background threads the framework started for
    this backend (the model class's ``stop`` joins them); ``versions`` hears of every version a
    project starts serving.
    """

    settings: Settings
    state: StateStore
    data_dir: Path
    namespace: str = "default"
    model_settings: Any = None
    secrets: SecretRegistry = field(default_factory=process_secrets, repr=False)
    threads: BackgroundThreads = field(default_factory=BackgroundThreads, repr=False, compare=False)
    versions: VersionEvents = field(default_factory=VersionEvents, repr=False, compare=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, namespace: str = "default", model_settings: Any = None
    ) -> BackendContext:
        """Open the state (SQLite under ``MODEL_DIR/namespace``, or Redis) and the version store."""
        return cls(
            settings=settings,
            state=open_state(settings, namespace),
            data_dir=(settings.model_store or settings.model_dir) / namespace,
            namespace=namespace,
            model_settings=model_settings,
        )

    @classmethod
    def for_model(
        cls, model_class: ModelClassHooks, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> BackendContext:
        """The context a server of ``model_class`` runs with: its namespace and its own settings.

        A ``MODEL_DIR`` written before namespaces existed is adopted by the class that owns it.
        """
        namespace = namespace_of(model_class)
        if not settings.distributed:
            adopt_legacy_layout(settings.model_dir, namespace, model_class.owns_legacy_data)
        model_settings = model_class.settings_from_env(environ)
        return cls.from_settings(settings, namespace=namespace, model_settings=model_settings)

    @property
    def connections(self) -> ConnectionBook:
        """The pinned Label Studio URL and token of each project (see ``connections``)."""
        return ConnectionBook(self.state, self.settings, self.secrets)

    def label_studio_for(self, project: str) -> LabelStudioAccess | None:
        """Label Studio access for ``project``: ``LABEL_STUDIO_URL``/``LABEL_STUDIO_API_KEY`` when
        set, else the pair ``/setup`` pinned for the project; ``None`` when neither is complete."""
        return self.connections.access(project)


def open_state(settings: Settings, namespace: str) -> StateStore:
    """The state store ``settings`` ask for: Redis with ``REDIS_URL``, else SQLite in ``MODEL_DIR``."""
    if settings.redis_url:
        from label_studio_ml.state.redis_store import RedisStateStore

        return RedisStateStore(settings.redis_url, namespace)
    return SqliteStateStore(settings.model_dir / namespace / "state.sqlite3")


@functools.lru_cache(maxsize=16)
def default_context(model_class: type) -> BackendContext:
    """A context from the environment for ``model_class`` instantiated outside the server (scripts)."""
    return BackendContext.for_model(model_class, Settings.from_env())
