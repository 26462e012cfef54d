"""Training rows and gold word tags for annotated texts, cut into the windows inference uses."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hf_text.text.windows import Window
from huggingface_ner.alignment import Alignment, align_spans, tag_name, token_labels, word_bounds
from huggingface_ner.bio import Span, WordTag
from huggingface_ner.labels import Tag

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlignedText:
    """One text's windows, its words' character bounds and their gold tags."""

    windows: list[Window]
    bounds: dict[int, tuple[int, int]]
    alignment: Alignment

    def gold_names(self) -> list[str]:
        """The gold BIO tag name of every word, in text order."""
        ordered = sorted(self.bounds, key=lambda word: self.bounds[word][0])
        return [tag_name(self.alignment.tags[word]) for word in ordered]

    def names_of(self, words: Sequence[WordTag]) -> list[str]:
        """The BIO tag names of predicted ``words`` for the same words as :meth:`gold_names`."""
        by_start = {word.start: word.tag for word in words}
        starts = sorted(start for start, _ in self.bounds.values())
        return [tag_name(by_start.get(start, Tag(None))) for start in starts]


def align_texts(per_text: Sequence[Sequence[Window]], spans: Sequence[Sequence[Span]]) -> list[AlignedText]:
    """Align every text's spans to the words of its windows (see ``huggingface_ner.alignment``)."""
    aligned = []
    for windows, text_spans in zip(per_text, spans, strict=True):
        bounds = word_bounds((window.word_ids, window.offsets) for window in windows)
        aligned.append(AlignedText(list(windows), bounds, align_spans(bounds, text_spans)))
    dropped = sum(item.alignment.dropped for item in aligned)
    if dropped:
        logger.info("%d annotated span(s) overlap another or cover no word; they are not trained on", dropped)
    return aligned


def training_rows(aligned: Sequence[AlignedText], label2id: Mapping[str, int]) -> list[dict[str, list[int]]]:
    """One Trainer row per window: its features plus a label id (or -100) per token."""
    rows = []
    for item in aligned:
        for window in item.windows:
            labels = token_labels(window.word_ids, window.offsets, item.bounds, item.alignment.tags, label2id)
            rows.append({**window.features(), "labels": labels})
    return rows
