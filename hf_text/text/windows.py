"""Overlapping token windows over long texts, identical at training and inference time.

A text longer than the model's window is never cut: the fast tokenizer splits it into windows
of ``max_length`` tokens that overlap by ``stride`` tokens, and each window remembers which text
it came from and the character offsets of its tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from hf_text.text.positions import position_limit
from hf_text.text.token_cache import cache_of
from hf_text.text.window import Window
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.server.client_gone import stop_if_client_gone

# Tokenizers without a real limit report a huge sentinel as model_max_length.
_NO_LIMIT = 1_000_000

# A fast tokenizer keeps its truncation/stride settings as mutable Rust state; calls from several
# request threads (and the training thread) at once can fail with "Already borrowed". Tokenizing
# is milliseconds next to the forward pass, so one lock costs nothing measurable.
_TOKENIZER_LOCK = threading.Lock()

#: Characters tokenized in one call: a few hundred milliseconds at most between two checks of a
#: departed client, and still one call for a page of short texts.
GROUP_CHARS = 100_000


def window_length(tokenizer: Any, model_config: Any, requested: int) -> int:
    """``requested`` clamped to what both the tokenizer and the model's positions allow
    (``hf_text.text.positions``: RoBERTa's offset table, GPT-2's ``n_positions``)."""
    limits = [requested]
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < _NO_LIMIT:
        limits.append(tokenizer_limit)
    positions = position_limit(model_config)
    if positions is not None:
        limits.append(positions)
    return min(limits)


def _usable_stride(tokenizer: Any, max_length: int, stride: int) -> int:
    # The tokenizer rejects a stride that leaves no new tokens per window; half the content
    # length always advances.
    content = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    if content < 2:
        raise ConfigurationError(f"MAX_LENGTH={max_length} leaves no room for text tokens")
    return max(0, min(stride, content // 2))


def split_windows(tokenizer: Any, texts: Sequence[str], max_length: int, stride: int) -> list[Window]:
    """Every text of ``texts`` as one or more overlapping windows, in text order.

    Needs a fast tokenizer (offsets and overflow mapping come from the Rust implementation). A
    text this tokenizer already cut with the same ``max_length`` and stride is not tokenized again
    (``hf_text.text.token_cache``).
    """
    if not texts:
        return []
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigurationError("the model's tokenizer is not a fast tokenizer; windows need one")
    return cache_of(tokenizer).split(cut_windows, tokenizer, texts, max_length, stride)


def cut_windows(tokenizer: Any, texts: Sequence[str], max_length: int, stride: int) -> list[Window]:
    """``split_windows`` without the cache: tokenize ``texts`` now.

    Texts are tokenized in groups of about ``GROUP_CHARS`` characters; before each group a
    request whose client hung up stops (``ClientGone``): forty long texts are seconds of work."""
    windows: list[Window] = []
    for first, last in _groups(texts):
        stop_if_client_gone()
        windows.extend(_cut_group(tokenizer, texts[first:last], first, max_length, stride))
    return windows


def _groups(texts: Sequence[str]) -> list[tuple[int, int]]:
    """``[first, last)`` ranges of consecutive texts, each about ``GROUP_CHARS`` characters or one text."""
    groups, first, size = [], 0, 0
    for index, text in enumerate(texts):
        if index > first and size + len(text) > GROUP_CHARS:
            groups.append((first, index))
            first, size = index, 0
        size += len(text)
    groups.append((first, len(texts)))
    return groups


def _cut_group(
    tokenizer: Any, texts: Sequence[str], offset: int, max_length: int, stride: int
) -> list[Window]:
    """The windows of ``texts``, numbered from text ``offset``."""
    with _TOKENIZER_LOCK:
        encoding = tokenizer(
            list(texts),
            truncation=True,
            max_length=max_length,
            stride=_usable_stride(tokenizer, max_length, stride),
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=False,
        )
    token_types = encoding.get("token_type_ids")
    windows = []
    for row, text_index in enumerate(encoding["overflow_to_sample_mapping"]):
        sequence_ids = encoding.sequence_ids(row)
        windows.append(
            Window(
                text_index=offset + int(text_index),
                input_ids=list(encoding["input_ids"][row]),
                attention_mask=list(encoding["attention_mask"][row]),
                token_type_ids=list(token_types[row]) if token_types is not None else None,
                offsets=[(int(start), int(end)) for start, end in encoding["offset_mapping"][row]],
                special=[sequence_id is None for sequence_id in sequence_ids],
                word_ids=list(encoding.word_ids(row)),
            )
        )
    return windows
