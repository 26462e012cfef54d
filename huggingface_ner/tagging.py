"""Inference for token classification: texts → windows → batched logits → one tag per word → spans.

The words are ours (``huggingface_ner.words``), not the tokenizer's: windows are cut by the
tokenizer, then each token is read as one of our words by its character offsets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hf_text.runtime.inference import softmax, window_logits
from hf_text.runtime.loader import LoadedModel
from hf_text.text.window import Window
from hf_text.text.windows import split_windows
from huggingface_ner.bio import WordTag
from huggingface_ner.labels import Tag
from huggingface_ner.merge import WindowPrediction, merge_windows
from huggingface_ner.words.tokens import TextWindows, read_windows


@dataclass(frozen=True)
class WindowSpec:
    """How texts are cut for the model: identical for training, validation and inference."""

    max_length: int
    stride: int

    def split(self, tokenizer: object, texts: Sequence[str]) -> list[TextWindows]:
        """Each text's words and windows, in text order (a text with no token gets no window)."""
        grouped: list[list[Window]] = [[] for _ in texts]
        for window in split_windows(tokenizer, list(texts), self.max_length, self.stride):
            grouped[window.text_index].append(window)
        return [read_windows(text, windows) for text, windows in zip(texts, grouped, strict=True)]


def tag_windows(
    loaded: LoadedModel, per_text: Sequence[TextWindows], token_budget: int, id2tag: Mapping[int, Tag]
) -> list[list[WordTag]]:
    """The model's tag, and its probability, for every word of every text, in text order.

    All windows of all texts go through the model together, batched by token budget.
    """
    flat = [piece.window for text in per_text for piece in text.windows]
    logits = window_logits(loaded, flat, token_budget)
    predictions = iter(logits)
    tagged = []
    for text in per_text:
        items = []
        for piece in text.windows:
            probabilities = softmax(next(predictions))
            items.append(
                WindowPrediction(
                    piece.word_ids, piece.first, probabilities.argmax(axis=-1), probabilities.max(axis=-1)
                )
            )
        tagged.append(merge_windows(text.words, items, id2tag))
    return tagged
