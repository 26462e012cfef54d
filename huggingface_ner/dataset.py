"""Training rows and gold word tags for annotated texts, cut into the windows inference uses."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from huggingface_ner.alignment import Alignment, align_spans, tag_name, token_labels
from huggingface_ner.bio import Span, WordTag
from huggingface_ner.labels import Tag
from huggingface_ner.words.tokens import TextWindows

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlignedText:
    """One text's windows read as our words, and those words' gold tags."""

    text: TextWindows
    alignment: Alignment

    def gold_names(self) -> list[str]:
        """The gold BIO tag name of every word, in text order."""
        return [tag_name(self.alignment.tags[word]) for word in range(len(self.text.words))]

    def names_of(self, words: Sequence[WordTag]) -> list[str]:
        """The BIO tag names of predicted ``words`` for the same words as :meth:`gold_names`."""
        by_start = {word.start: word.tag for word in words}
        return [tag_name(by_start.get(start, Tag(None))) for start in self.text.words.starts]


def align_texts(per_text: Sequence[TextWindows], spans: Sequence[Sequence[Span]]) -> list[AlignedText]:
    """Align every text's spans to its words (see ``huggingface_ner.alignment``)."""
    aligned = [
        AlignedText(text, align_spans(text.words, text_spans))
        for text, text_spans in zip(per_text, spans, strict=True)
    ]
    dropped = sum(item.alignment.dropped for item in aligned)
    if dropped:
        logger.info("%d annotated span(s) overlap another or cover no word; they are not trained on", dropped)
    return aligned


def training_rows(aligned: Sequence[AlignedText], label2id: Mapping[str, int]) -> list[dict[str, list[int]]]:
    """One Trainer row per window: its features plus a label id (or -100) per token."""
    rows = []
    for item in aligned:
        for piece in item.text.windows:
            labels = token_labels(piece.word_ids, piece.first, item.alignment.tags, label2id)
            rows.append({**piece.window.features(), "labels": labels})
    return rows
