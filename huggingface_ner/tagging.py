"""Inference for token classification: texts → windows → batched logits → one tag per word → spans."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hf_text.runtime.inference import softmax, window_logits
from hf_text.runtime.loader import LoadedModel
from hf_text.text.windows import Window, split_windows
from huggingface_ner.bio import WordTag
from huggingface_ner.labels import Tag
from huggingface_ner.merge import WindowPrediction, merge_windows


@dataclass(frozen=True)
class WindowSpec:
    """How texts are cut for the model: identical for training, validation and inference."""

    max_length: int
    stride: int

    def split(self, tokenizer: object, texts: Sequence[str]) -> list[list[Window]]:
        """Each text's windows, in text order (a text with no token gets none)."""
        grouped: list[list[Window]] = [[] for _ in texts]
        for window in split_windows(tokenizer, list(texts), self.max_length, self.stride):
            grouped[window.text_index].append(window)
        return grouped


def tag_windows(
    loaded: LoadedModel, per_text: Sequence[Sequence[Window]], token_budget: int, id2tag: Mapping[int, Tag]
) -> list[list[WordTag]]:
    """The model's tag, and its probability, for every word of every text, in text order.

    All windows of all texts go through the model together, batched by token budget.
    """
    flat = [window for windows in per_text for window in windows]
    logits = window_logits(loaded, flat, token_budget)
    predictions = iter(logits)
    tagged = []
    for windows in per_text:
        items = []
        for window in windows:
            probabilities = softmax(next(predictions))
            items.append(
                WindowPrediction(
                    window.word_ids, window.offsets, probabilities.argmax(axis=-1), probabilities.max(axis=-1)
                )
            )
        tagged.append(merge_windows(items, id2tag))
    return tagged
