"""Helpers upstream ``label_studio_ml.utils`` (2.x) offers to backends, with the same names and results."""

from __future__ import annotations

import difflib
import math
from collections import OrderedDict
from typing import Any

from label_studio_ml.caching import BoundedCache
from label_studio_ml.errors import LabelConfigMismatch
from label_studio_ml.studio.task_data import (  # noqa: F401 - upstream names
    CLOUD_SCHEMES,
    is_preload_needed,
    is_valid_url,
)

#: The data key Label Studio gives a task imported from a bare file (one object tag, no key named).
DATA_UNDEFINED_NAME = "$undefined$"


def get_single_tag_keys(
    parsed_label_config: dict[str, Any], control_type: str, object_type: str
) -> tuple[str, str, str, list[str]]:
    """``(from_name, to_name, value, labels)`` of a config with exactly one control tag over one object.

    Raises ``LabelConfigMismatch`` (an ``AssertionError``, as upstream raised) when the config differs.
    """
    if len(parsed_label_config) != 1:
        raise LabelConfigMismatch(
            f"the label config must have exactly one control tag, found {len(parsed_label_config)}"
        )
    from_name, info = next(iter(parsed_label_config.items()))
    if info["type"] != control_type:
        raise LabelConfigMismatch(f"label config has <{info['type']}> but <{control_type}> is expected")
    if len(info["to_name"]) != 1 or len(info["inputs"]) != 1:
        raise LabelConfigMismatch(f"<{control_type}> must label exactly one object tag")
    if info["inputs"][0]["type"] != object_type:
        found = info["inputs"][0]["type"]
        raise LabelConfigMismatch(f"<{control_type}> labels <{found}>, not <{object_type}>")
    return from_name, info["to_name"][0], info["inputs"][0]["value"], info["labels"]


def get_first_tag_keys(
    parsed_label_config: dict[str, Any], control_type: str, object_type: str
) -> tuple[str | None, dict[str, Any] | None]:
    """The first control tag of ``control_type`` with an input of ``object_type``: ``(from_name, info)``."""
    for from_name, info in parsed_label_config.items():
        if info["type"] == control_type and any(item["type"] == object_type for item in info["inputs"]):
            return from_name, info
    return None, None


def is_skipped(completion: dict[str, Any]) -> bool:
    """Whether a task's single annotation was skipped (cancelled)."""
    annotations = completion["annotations"]
    if len(annotations) != 1:
        return False
    return bool(annotations[0].get("skipped", False) or annotations[0].get("was_cancelled", False))


def get_choice(completion: dict[str, Any]) -> str:
    """The first choice of a task's first annotation."""
    return completion["annotations"][0]["result"][0]["value"]["choices"][0]


def get_image_size(filepath: str) -> tuple[int, int]:
    """``(width, height)`` of an image as displayed, i.e. after its EXIF orientation is applied."""
    from PIL import Image, ImageOps

    with Image.open(filepath) as image:
        return ImageOps.exif_transpose(image).size


class InMemoryLRUDictCache:
    """A dict that keeps only the ``capacity`` most recently used keys (upstream's API, thread-safe)."""

    def __init__(self, capacity: int = 1) -> None:
        self.cache: BoundedCache[Any, Any] = BoundedCache(capacity)
        self.capacity = capacity

    def __contains__(self, key: Any) -> bool:
        return key in self.cache

    def get(self, key: Any) -> Any:
        """The value of ``key`` (now the most recent), or ``None``."""
        return self.cache.get(key)

    def put(self, key: Any, value: Any) -> None:
        """Store ``value``; the least recently used key goes when the cache is full."""
        self.cache.put(key, value)

    def __str__(self) -> str:
        return str(OrderedDict(self.cache.items()))  # upstream printed its OrderedDict


def match_labels(input: str, labels: list[str]) -> list[str]:
    """For each line of ``input`` (e.g. an LLM's answer), the label it resembles most."""
    matched = []
    for line in input.splitlines():
        scores = [difflib.SequenceMatcher(None, line, label).ratio() for label in labels]
        matched.append(labels[scores.index(max(scores))])
    return matched


def compare_nested_structures(
    a: Any, b: Any, path: str = "", rel: float = 1e-4, abs: float | None = None
) -> None:
    """Assert two nested dicts/lists are equal, floats compared approximately (for backends' tests)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"Keys mismatch at {path}"
        for key in a:
            compare_nested_structures(a[key], b[key], f"{path}.{key}", rel, abs)
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"List size mismatch at {path}"
        for index, (left, right) in enumerate(zip(a, b, strict=True)):
            compare_nested_structures(left, right, f"{path}[{index}]", rel, abs)
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=rel, abs_tol=1e-12 if abs is None else abs), f"Mismatch at {path}"
    else:
        assert a == b, f"Mismatch at {path}"
