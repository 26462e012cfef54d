"""How a project is named here: as Label Studio names it, by id *and* creation time.

Label Studio sends ``"<id>.<created_at unix seconds>"`` in ``/setup``, ``/predict`` and training
calls, and the project row (``id``, ``created_at`` as ISO text, the same instant) in webhooks. Two
Label Studio instances, or one reinstalled, both have a project 1: the creation time tells them
apart, so the key a project's state, versions and connection live under is ``"<id>.<seconds>"``.
A bare id (upstream-style scripts, tests) is a key of its own. Label Studio's API wants the id
alone: ``label_studio_id``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from label_studio_ml.errors import BadRequest

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CREATED = re.compile(r"^[0-9]{1,12}$")


def project_key(raw: object, created_at: object = None) -> str:
    """The key of the project Label Studio means by ``raw`` (``"1.1700000000"``, ``"1"`` or ``1``),
    with ``created_at`` (a webhook's ISO text) when ``raw`` is a bare id; safe to use in a path."""
    if isinstance(raw, bool) or raw is None:
        raise BadRequest("project id is missing")
    if isinstance(raw, int):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw.strip()
    else:
        raise BadRequest(f"project id must be a string or an integer, got {type(raw).__name__}")
    ident, _, created = text.partition(".")
    if not _ID.match(ident):
        raise BadRequest("project id must be 1-64 letters, digits, '_' or '-'")
    if not created and created_at is not None:
        created = _unix_seconds(created_at)
    if not created:
        return ident
    if not _CREATED.match(created):
        raise BadRequest("a project's creation time must be whole seconds ('<id>.<seconds>')")
    return f"{ident}.{int(created)}"


def label_studio_id(key: str) -> str:
    """The id Label Studio's API knows the project by (the key without its creation time)."""
    return str(key).split(".", 1)[0]


def legacy_key(key: str) -> str | None:
    """The id-only key an earlier release kept this project under, ``None`` for a bare key."""
    ident = label_studio_id(key)
    return ident if ident != key else None


def _unix_seconds(created_at: Any) -> str:
    """Whole seconds of a webhook's ``created_at`` (``"2026-12-04T22:44:41.954347Z"``), as Label
    Studio truncates them in ``"<id>.<seconds>"``; empty when it is not a timestamp."""
    if not isinstance(created_at, str):
        return ""
    try:
        moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # Label Studio stores UTC
    return str(int(moment.timestamp()))
