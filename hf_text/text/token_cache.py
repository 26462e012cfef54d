"""Texts tokenized once: their windows kept per tokenizer, keyed by the text's hash.

Every training re-reads all of a project's labeled texts, its evaluations and checks score many of
them again, and Label Studio asks for fresh predictions of the same tasks after each new version.
Windows depend only on the tokenizer, the text, ``max_length`` and the stride, so they are cut
once and kept in compact arrays (about 18 bytes a token) on the tokenizer object itself: a
tokenizer's cache lives as long as the tokenizer (``hf_text.runtime.loader`` shares one per content), and
no process-wide table outlives it. The least recently used texts go first beyond ``MAX_TOKENS``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hf_text.text.window import Window
from label_studio_ml.caching import BoundedCache

#: Tokens one tokenizer's cache holds (about 36 MiB); far more than a training's texts.
MAX_TOKENS = 2_000_000
_ATTRIBUTE = "_hf_text_window_cache"
_ATTACH_LOCK = threading.Lock()

Key = tuple[int, int, str]
Splitter = Callable[[Any, Sequence[str], int, int], list[Window]]


@dataclass(frozen=True)
class _Packed:
    """One window without its text index, in numpy arrays."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray | None
    offsets: np.ndarray
    special: np.ndarray
    word_ids: np.ndarray

    @classmethod
    def of(cls, window: Window) -> _Packed:
        types = window.token_type_ids
        return cls(
            input_ids=np.asarray(window.input_ids, dtype=np.int32),
            attention_mask=np.asarray(window.attention_mask, dtype=np.int8),
            token_type_ids=None if types is None else np.asarray(types, dtype=np.int8),
            offsets=np.asarray(window.offsets, dtype=np.int32).reshape(-1, 2),
            special=np.asarray(window.special, dtype=bool),
            word_ids=np.asarray([-1 if w is None else w for w in window.word_ids], dtype=np.int32),
        )

    def window(self, text_index: int) -> Window:
        types = self.token_type_ids
        return Window(
            text_index=text_index,
            input_ids=self.input_ids.tolist(),
            attention_mask=self.attention_mask.tolist(),
            token_type_ids=None if types is None else types.tolist(),
            offsets=[(start, end) for start, end in self.offsets.tolist()],
            special=self.special.tolist(),
            word_ids=[None if w < 0 else w for w in self.word_ids.tolist()],
        )


def text_key(text: str, max_length: int, stride: int) -> Key:
    """What a text's windows depend on besides the tokenizer."""
    return (max_length, stride, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())


def _tokens(windows: tuple[_Packed, ...]) -> int:
    return sum(len(window.input_ids) for window in windows)


class WindowCache:
    """Windows of texts already cut by one tokenizer, least recently used dropped past a token bound.

    A text with more tokens than the whole bound is not kept.
    """

    def __init__(self, max_tokens: int = MAX_TOKENS) -> None:
        self.max_tokens = max_tokens
        self._entries: BoundedCache[Key, tuple[_Packed, ...]] = BoundedCache(max_tokens, getsizeof=_tokens)

    @property
    def tokens(self) -> int:
        """The tokens kept now."""
        return int(self._entries.currsize)

    def split(
        self, split: Splitter, tokenizer: Any, texts: Sequence[str], max_length: int, stride: int
    ) -> list[Window]:
        """``split(tokenizer, texts, max_length, stride)``'s windows, cutting only unseen texts."""
        keys = [text_key(text, max_length, stride) for text in texts]
        found = {key: self._entries.get(key) for key in dict.fromkeys(keys)}
        known = {key: windows for key, windows in found.items() if windows is not None}
        missing = list(dict.fromkeys(i for i, key in enumerate(keys) if key not in known))
        first = {}
        for index in missing:
            first.setdefault(keys[index], index)
        fresh = self._cut(split, tokenizer, [texts[i] for i in first.values()], max_length, stride)
        packed = {**known, **dict(zip(first, fresh, strict=True))}
        for key in first:
            self._entries.setdefault(key, packed[key])
        return [window.window(index) for index, key in enumerate(keys) for window in packed[key]]

    def _cut(
        self, split: Splitter, tokenizer: Any, texts: list[str], max_length: int, stride: int
    ) -> list[tuple[_Packed, ...]]:
        grouped: list[list[_Packed]] = [[] for _ in texts]
        for window in split(tokenizer, texts, max_length, stride) if texts else []:
            grouped[window.text_index].append(_Packed.of(window))
        return [tuple(group) for group in grouped]

    def __len__(self) -> int:
        return len(self._entries)


def cache_of(tokenizer: Any) -> WindowCache:
    """The window cache that travels with ``tokenizer`` (created on first use)."""
    cache = getattr(tokenizer, _ATTRIBUTE, None)
    if cache is None:
        with _ATTACH_LOCK:
            cache = getattr(tokenizer, _ATTRIBUTE, None)
            if cache is None:
                cache = WindowCache()
                setattr(tokenizer, _ATTRIBUTE, cache)
    return cache
