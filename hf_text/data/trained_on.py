"""Which labeled examples a head was trained on, kept as hashes of (text, target) in its folder.

The record lets the next training tell which labeled examples the served version has never
seen (new, or relabeled since), so it can be scored honestly on them (``hf_text.training.evaluation``).
Hashes, not texts: the folder never holds a copy of the project's data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hf_text.data.controls import Example

#: One hash per line, sorted, in the head's folder.
RECORD_FILE = "trained_examples.txt"
#: 128 bits of SHA-256: collisions are out of reach for any project's number of examples.
_HEX_DIGITS = 32


def _canonical(value: Any) -> Any:
    """A JSON-ready form of a target that is the same for equal targets (sets sorted)."""
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _canonical(getattr(value, field.name)) for field in dataclasses.fields(value)}
    return value


def example_key(example: Example) -> str:
    """The identity of an example: its text and its target, hashed (a relabeled text is new)."""
    payload = json.dumps([example.text, _canonical(example.target)], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:_HEX_DIGITS]


def write_record(folder: Path, examples: Iterable[Example]) -> int:
    """Write the keys of ``examples`` into ``folder``; returns how many distinct keys."""
    keys = sorted({example_key(example) for example in examples})
    (folder / RECORD_FILE).write_text("".join(f"{key}\n" for key in keys), encoding="ascii")
    return len(keys)


def read_record(folder: Path) -> frozenset[str] | None:
    """The keys a head in ``folder`` was trained on, or ``None`` when it kept no record."""
    try:
        text = (folder / RECORD_FILE).read_text(encoding="ascii")
    except (OSError, ValueError):
        return None
    return frozenset(line for line in text.splitlines() if line)
