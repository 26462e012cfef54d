"""Per-project state in Redis (``REDIS_URL``), shared by every serving replica and training worker.

Keys, all under ``lsml:<namespace>:`` so two backends can share one Redis:

- ``projects``: the set of known projects;
- ``kv:<project>``: a hash of JSON values;
- ``training:<project>``: the training row, a hash of JSON values, changed only inside
  ``WATCH``/``MULTI`` transactions (optimistic: a concurrent change makes the transaction retry).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from label_studio_ml.errors import StateUnavailable
from label_studio_ml.state.contract import (
    TRAINING_DEFAULTS,
    KeyValueDefaults,
    Result,
    RowChange,
    new_training_row,
)


def public_url(url: str) -> str:
    """``url`` without its password (for logs, errors and ``/metrics``)."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{netloc}", parts.path, parts.query, parts.fragment))


class RedisStateStore(KeyValueDefaults):
    """The ``StateStore`` contract on Redis."""

    def __init__(self, url: str, namespace: str) -> None:
        self.url = url
        self.prefix = f"lsml:{namespace}:"
        self._client: Any = None
        self._pid = 0
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """A client for this process (a forked gunicorn worker must not share its parent's sockets)."""
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                import redis

                self._client = redis.Redis.from_url(
                    self.url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30
                )
                self._pid = os.getpid()
            return self._client

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        import redis

        try:
            yield
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise StateUnavailable(
                f"Redis at {public_url(self.url)} is unreachable ({type(exc).__name__})"
            ) from exc

    def _key(self, kind: str, project: str) -> str:
        return f"{self.prefix}{kind}:{project}"

    # -- key/value ---------------------------------------------------------------------------
    def get(self, project: str, key: str, default: Any = None) -> Any:
        """The JSON value stored under ``key`` for ``project``, or ``default``."""
        with self._reachable():
            raw = self.client.hget(self._key("kv", project), key)
        return json.loads(raw) if raw is not None else default

    def set(self, project: str, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key`` for ``project``."""
        payload = json.dumps(value)
        with self._reachable():
            pipe = self.client.pipeline()
            pipe.hset(self._key("kv", project), key, payload)
            pipe.sadd(f"{self.prefix}projects", project)
            pipe.execute()

    def has(self, project: str, key: str) -> bool:
        """Whether ``key`` is stored for ``project``."""
        with self._reachable():
            return bool(self.client.hexists(self._key("kv", project), key))

    def delete(self, project: str, key: str) -> None:
        """Forget ``key`` for ``project``."""
        with self._reachable():
            self.client.hdel(self._key("kv", project), key)

    def projects(self) -> list[str]:
        """Every project this backend has seen."""
        with self._reachable():
            members = self.client.smembers(f"{self.prefix}projects")
        return sorted(member.decode() for member in members)

    def rename_project(self, old: str, new: str) -> bool:
        """Move ``old``'s hashes to ``new`` in a ``WATCH``/``MULTI`` transaction (see ``StateStore``)."""
        import redis

        kinds = ("kv", "training")
        watched = [self._key(kind, name) for kind in kinds for name in (old, new)]
        with self._reachable(), self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(*watched)
                    present = {kind: bool(pipe.exists(self._key(kind, old))) for kind in kinds}
                    if any(pipe.exists(self._key(kind, new)) for kind in kinds) or not any(present.values()):
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    for kind in kinds:
                        if present[kind]:
                            pipe.rename(self._key(kind, old), self._key(kind, new))
                    pipe.srem(f"{self.prefix}projects", old)
                    pipe.sadd(f"{self.prefix}projects", new)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue  # another process changed one of them first: look again

    # -- training rows -----------------------------------------------------------------------
    def _decode(self, project: str, raw: dict[bytes, bytes]) -> dict[str, Any]:
        row = new_training_row(project)
        for field, value in raw.items():
            name = field.decode()
            if name in TRAINING_DEFAULTS:
                row[name] = json.loads(value)
        return row

    def training_row(self, project: str) -> dict[str, Any] | None:
        """The project's training row, or ``None`` before it was ever asked to train."""
        with self._reachable():
            raw = self.client.hgetall(self._key("training", project))
        return self._decode(project, raw) if raw else None

    def training_rows(self) -> list[dict[str, Any]]:
        """Every training row."""
        rows = (self.training_row(project) for project in self.projects())
        return [row for row in rows if row is not None]

    def update_training(self, project: str, change: RowChange[Result]) -> Result:
        """Apply ``change`` to the row in a ``WATCH``/``MULTI`` transaction, retried on a conflict."""
        import redis

        key = self._key("training", project)
        with self._reachable(), self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hgetall(key)
                    fields, result = change(self._decode(project, raw))
                    pipe.multi()
                    if fields:
                        unknown = set(fields) - set(TRAINING_DEFAULTS)
                        if unknown:
                            raise KeyError(f"no training field(s) {sorted(unknown)}")
                        pipe.hset(key, mapping={name: json.dumps(value) for name, value in fields.items()})
                        pipe.sadd(f"{self.prefix}projects", project)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another process changed the row first: read it again

    # -- health ------------------------------------------------------------------------------
    def ping(self) -> None:
        """Raise ``StateUnavailable`` when Redis does not answer."""
        with self._reachable():
            self.client.ping()

    def describe(self) -> str:
        """The Redis URL, without its password."""
        return public_url(self.url)
