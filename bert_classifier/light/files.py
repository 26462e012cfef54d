"""What the classifier's light layers keep in files: embeddings as text, and published heads read
once per process (a version folder never changes)."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from bert_classifier.light.instant_head import LightHead
from label_studio_ml.caching import BoundedCache

_HEADS: BoundedCache[str, LightHead] = BoundedCache(64)


def encode_vector(vector: np.ndarray) -> str:
    """A float32 vector as base64 text (records and project texts are JSON files)."""
    return base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode("ascii")


def decode_vector(text: str) -> np.ndarray:
    """The vector ``encode_vector`` wrote."""
    return np.frombuffer(base64.b64decode(text), dtype=np.float32)


def load_head(path: Path) -> LightHead:
    """A published head, read once per process (a version folder never changes)."""
    return _HEADS.get_or_compute(str(path), lambda: LightHead.from_bytes(path.read_bytes()))


def remember_head(path: Path, head: LightHead) -> None:
    """Keep ``head`` as the one published at ``path`` (the refit that fitted it hands it over)."""
    _HEADS.put(str(path), head)
