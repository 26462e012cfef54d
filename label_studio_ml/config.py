"""The server's configuration: one typed, validated object built from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from label_studio_ml.errors import ConfigurationError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    """``name`` as an integer >= ``minimum``; ``default`` when unset or blank."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {value}")
    return value


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """``name`` as a boolean (1/0, true/false, yes/no, on/off); ``default`` when unset."""
    raw = env.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be a boolean (true/false), got {raw!r}")


def as_bool(value: object) -> bool | None:
    """A JSON boolean, or a string that spells one as ``env_bool`` reads it; ``None`` otherwise."""
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower() if isinstance(value, str) else None
    return True if lowered in _TRUE else False if lowered in _FALSE and lowered else None


def env_str(env: Mapping[str, str], *names: str, default: str | None = None) -> str | None:
    """The first of ``names`` that is set and not blank (stripped), else ``default``."""
    for name in names:
        raw = env.get(name)
        if raw is not None and raw.strip() != "":
            return raw.strip()
    return default


_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def _redis_url(env: Mapping[str, str]) -> str | None:
    url = env_str(env, "REDIS_URL")
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError("REDIS_URL must start with redis://, rediss:// or unix://")
    return url


def _queue_name(env: Mapping[str, str]) -> str | None:
    name = env_str(env, "RQ_QUEUE")
    if name is not None and not _QUEUE_NAME.match(name):
        raise ConfigurationError(f"RQ_QUEUE must be letters, digits, '_', '.', ':' or '-', got {name!r}")
    return name


#: The variable ``label-studio-ml worker`` sets for the backend it loads (read by ``Settings.from_env``).
ROLE_VARIABLE = "LABEL_STUDIO_ML_ROLE"


class Role(StrEnum):
    """What a process does: serve HTTP (and train, embedded mode) or only run RQ training jobs."""

    SERVER = "server"
    #: A training worker never predicts: its model class is not warmed up.
    WORKER = "worker"


def _role(env: Mapping[str, str]) -> Role:
    raw = env_str(env, ROLE_VARIABLE, default=Role.SERVER) or Role.SERVER
    try:
        return Role(raw.lower())
    except ValueError:
        raise ConfigurationError(f"{ROLE_VARIABLE} must be 'server' or 'worker', got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    """Everything the serving core reads from the environment, validated once at start-up.

    Model-specific settings (learning rate, base model, ...) live with the model
    (see ``hf_text.settings``); this object is about serving, state and training control.
    """

    model_dir: Path = Path("./models")
    label_studio_url: str | None = None
    label_studio_api_key: str | None = field(default=None, repr=False)
    basic_auth_user: str | None = None
    basic_auth_pass: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    start_training_each_n_updates: int = 10
    max_request_bytes: int = 50 * 1024 * 1024
    #: A request's body must arrive whole within this many seconds (else 408; ``asgi_bridge``).
    request_read_timeout_seconds: int = 30
    #: Threads per server process that run requests (``THREADS``); slow clients hold none of them.
    threads: int = 8
    training_lease_seconds: int = 120
    auto_configure_webhook: bool = True
    max_concurrent_trainings: int = 1
    redis_url: str | None = field(default=None, repr=False)
    model_store: Path | None = None
    rq_queue: str | None = None
    training_timeout_seconds: int = 86400
    #: Accept a ``REDIS_URL`` without a password on a public address (see ``redis_exposure``).
    allow_insecure_redis: bool = False
    #: What this process does (``LABEL_STUDIO_ML_ROLE``, which ``label-studio-ml worker`` sets).
    role: Role = Role.SERVER
    #: Keep Label Studio's queue on the least confident tasks (``learning.active``); per project too.
    active_learning: bool = False
    #: How many of the least confident tasks get a prediction of each new version (the queue's head).
    active_learning_tasks: int = 20
    #: At most this many unlabeled tasks are read and scored per project (the pool).
    active_learning_pool: int = 10000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build and validate settings from ``environ`` (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        user = env_str(env, "BASIC_AUTH_USER")
        password = env_str(env, "BASIC_AUTH_PASS")
        if bool(user) != bool(password):
            raise ConfigurationError("BASIC_AUTH_USER and BASIC_AUTH_PASS must be set together")
        level = (env_str(env, "LOG_LEVEL", default="INFO") or "INFO").upper()
        if level not in _LOG_LEVELS:
            raise ConfigurationError(f"LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}, got {level!r}")
        url = env_str(env, "LABEL_STUDIO_URL", "LABEL_STUDIO_HOST")
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"LABEL_STUDIO_URL must start with http:// or https://, got {url!r}")
        api_key = env_str(env, "LABEL_STUDIO_API_KEY")
        if api_key and not url:
            # Paired with whatever hostname /setup names, the key could be sent to any host.
            raise ConfigurationError(
                "LABEL_STUDIO_API_KEY is set without LABEL_STUDIO_URL: set the URL it belongs to as well"
            )
        return cls(
            model_dir=Path(env_str(env, "MODEL_DIR", default="./models") or "./models").resolve(),
            label_studio_url=url.rstrip("/") if url else None,
            label_studio_api_key=api_key,
            basic_auth_user=user,
            basic_auth_pass=password,
            log_level=level,
            start_training_each_n_updates=env_int(env, "START_TRAINING_EACH_N_UPDATES", 10, minimum=0),
            max_request_bytes=env_int(env, "MAX_REQUEST_BYTES", 50 * 1024 * 1024, minimum=1024),
            request_read_timeout_seconds=env_int(env, "REQUEST_READ_TIMEOUT_SECONDS", 30, minimum=1),
            threads=env_int(env, "THREADS", 8, minimum=1),
            training_lease_seconds=env_int(env, "TRAINING_LEASE_SECONDS", 120, minimum=5),
            auto_configure_webhook=env_bool(env, "AUTO_CONFIGURE_WEBHOOK", True),
            max_concurrent_trainings=env_int(env, "MAX_CONCURRENT_TRAININGS", 1, minimum=1),
            redis_url=_redis_url(env),
            model_store=Path(store).resolve() if (store := env_str(env, "MODEL_STORE")) else None,
            rq_queue=_queue_name(env),
            training_timeout_seconds=env_int(env, "TRAINING_TIMEOUT_SECONDS", 86400, minimum=60),
            allow_insecure_redis=env_bool(env, "ALLOW_INSECURE_REDIS", False),
            role=_role(env),
            active_learning=env_bool(env, "ACTIVE_LEARNING", False),
            active_learning_tasks=env_int(env, "ACTIVE_LEARNING_TASKS", 20, minimum=1),
            active_learning_pool=env_int(env, "ACTIVE_LEARNING_POOL", 10000, minimum=1),
        )

    @property
    def distributed(self) -> bool:
        """Whether state lives in Redis and trainings run in RQ workers (``REDIS_URL`` is set)."""
        return self.redis_url is not None

    @property
    def basic_auth_enabled(self) -> bool:
        """True when every route requires HTTP basic auth."""
        return bool(self.basic_auth_user and self.basic_auth_pass)
