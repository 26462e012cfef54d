"""The process lifecycle a model class declares (as KServe's model declares load/ready/stop).

The framework calls these on the class, once per process: ``settings_from_env`` and
``owns_legacy_data`` while it builds the backend's context, ``prepare`` before serving (a failure
stops the start), ``warm_up`` in the background while ``/health`` answers 503 (``Readiness``),
and ``stop`` when the backend shuts down. Every hook has a default that does nothing special, so
an upstream-style model needs none of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from label_studio_ml.config import Role
from label_studio_ml.context import BackendContext

logger = logging.getLogger(__name__)

#: How long ``stop`` waits, by default, for the framework's threads (a training finishes its ``fit``).
STOP_TIMEOUT_S = 60.0


class ModelLifecycle:
    """Class-level hooks of ``LabelStudioMLBase``; override any, calling ``super()`` in ``stop``."""

    @classmethod
    def settings_from_env(cls, environ: Mapping[str, str] | None = None) -> Any:
        """The model's own settings, read and validated once per server (``context.model_settings``);
        ``None`` by default: the model reads nothing."""
        return None

    @classmethod
    def owns_legacy_data(cls, model_dir: Path) -> bool:
        """Whether a ``MODEL_DIR`` written before per-class namespaces is this class's (then it is
        moved into the class's namespace folder); any class owns it by default."""
        return True

    @classmethod
    def prepare(cls, context: BackendContext) -> None:
        """Get ready to serve, before the first request: fail here (e.g. an unreachable hub model),
        not at the first request. Nothing by default."""

    @classmethod
    def warm_up(cls, context: BackendContext) -> None:
        """Load what the first prediction needs, in the background; ``/health`` answers 503 until it
        returned. Not called in a training worker (``Role.WORKER``). Nothing by default."""

    @classmethod
    def stop(cls, context: BackendContext, timeout: float | None = STOP_TIMEOUT_S) -> bool:
        """Stop serving ``context``: join the background threads the framework started for it
        (instant updates, training slots, training maintenance, warm-up, webhook auth); whether all
        ended within ``timeout`` seconds. A model that holds resources of its own frees them here."""
        return context.threads.stop(timeout)


class Readiness:
    """Set once the model class's ``warm_up`` returned (``/health`` answers 503 until then);
    ``error`` says why it never will."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.error: str | None = None

    @classmethod
    def start(cls, model_class: type[ModelLifecycle], context: BackendContext, role: Role) -> Readiness:
        """Warm ``model_class`` up in the background; a training worker is ready at once (it never
        predicts: nothing to warm up)."""
        readiness = cls()
        if role == Role.WORKER:
            readiness.ready.set()
        else:
            readiness.warm_up(model_class, context)
        return readiness

    def warm_up(self, model_class: type[ModelLifecycle], context: BackendContext) -> None:
        """Run the class's ``warm_up`` in the background, then mark ready."""

        def work() -> None:
            try:
                model_class.warm_up(context)
                self.ready.set()
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                logger.exception("model warm-up failed")

        context.threads.start(work, "warm-up")
