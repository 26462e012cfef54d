"""What the classifier's light layers keep in files: embeddings as text, and published heads read
once per process (a version folder never changes)."""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from bert_classifier.light.instant_head import LightHead

_HEADS: OrderedDict[str, LightHead] = OrderedDict()
_HEADS_LOCK = threading.Lock()


def encode_vector(vector: np.ndarray) -> str:
    """A float32 vector as base64 text (records and project texts are JSON files)."""
    return base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode("ascii")


def decode_vector(text: str) -> np.ndarray:
    """The vector ``encode_vector`` wrote."""
    return np.frombuffer(base64.b64decode(text), dtype=np.float32)


def load_head(path: Path) -> LightHead:
    """A published head, read once per process (a version folder never changes)."""
    key = str(path)
    with _HEADS_LOCK:
        found = _HEADS.get(key)
    if found is None:
        found = LightHead.from_bytes(path.read_bytes())
        remember_head(path, found)
    return found


def remember_head(path: Path, head: LightHead) -> None:
    """Keep ``head`` as the one published at ``path`` (the refit that fitted it hands it over)."""
    with _HEADS_LOCK:
        _HEADS[str(path)] = head
        while len(_HEADS) > 64:
            _HEADS.popitem(last=False)
