"""Span propagation: an annotated entity's text is evidence for the same text elsewhere.

A dictionary is built from the spans annotators marked (``surface text -> label``). Applied to a
new text it finds every occurrence of a known surface as whole words, with the same letter case
(``Apple`` the company is not ``apple`` the fruit), longest surface first, and never overlapping a
region already there (another propagated one, or the fine-tuned model's). A surface annotated with
several labels takes its most frequent one.

A region's score is how often the surface was marked as an entity (with that label) wherever it
occurred in annotated texts: a word annotators sometimes leave unmarked ("May" the month versus
"May" the person) is propagated with a low score, and not at all when it was marked in less than
half of its occurrences (``MIN_PRECISION``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from huggingface_ner.bio import Span

#: A surface marked (with its most frequent label) in less than this share of its occurrences in
#: annotated texts is not propagated: it is more likely not that entity than it is.
MIN_PRECISION = 0.5
#: Longer surfaces are kept out of the dictionary: a whole sentence marked by mistake is no name.
MAX_SURFACE_CHARS = 100


_TOKEN = re.compile(r"\w+|[^\w\s]")


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _first_token(surface: str) -> str | None:
    match = _TOKEN.search(surface)
    return match.group(0) if match else None


class SurfaceIndex:
    """Surfaces indexed by their first token, so a text is scanned once whatever their number."""

    def __init__(self, surfaces: Iterable[str]) -> None:
        self._by_first: dict[str, list[str]] = {}
        for surface in surfaces:
            first = _first_token(surface)
            if first is not None and surface.startswith(first):
                self._by_first.setdefault(first, []).append(surface)
        for group in self._by_first.values():
            group.sort(key=len, reverse=True)

    def find(self, text: str) -> Iterable[tuple[int, str]]:
        """``(start, surface)`` of every whole-word, same-case occurrence of a surface in ``text``."""
        for token in _TOKEN.finditer(text):
            start = token.start()
            if start > 0 and _is_word_char(text[start - 1]) and _is_word_char(text[start]):
                continue
            for surface in self._by_first.get(token.group(0), ()):
                end = start + len(surface)
                if not text.startswith(surface, start):
                    continue
                if end < len(text) and _is_word_char(text[end]) and _is_word_char(surface[-1]):
                    continue
                yield start, surface


@dataclass(frozen=True)
class AnnotatedText:
    """One annotated text and its entity spans (code points) for one control."""

    text: str
    spans: tuple[Span, ...]


@dataclass
class EntityDictionary:
    """Surfaces annotated as entities, their labels, and how often each was marked where it occurred."""

    labels: dict[str, Counter[str]] = field(default_factory=dict)
    unmarked: Counter[str] = field(default_factory=Counter)

    @classmethod
    def build(cls, annotated: Iterable[AnnotatedText]) -> EntityDictionary:
        """The dictionary of every annotated span, with how often each surface was left unmarked.

        An occurrence inside or across another annotated span ("York" in a marked "New York
        Times") says nothing about the surface alone and is not counted.
        """
        items = list(annotated)
        dictionary = cls()
        for item in items:
            for span in item.spans:
                surface = item.text[span.start : span.end].strip()
                if surface and len(surface) <= MAX_SURFACE_CHARS:
                    dictionary.labels.setdefault(surface, Counter())[span.entity] += 1
        index = SurfaceIndex(dictionary.labels)
        for item in items:
            for start, surface in index.find(item.text):
                end = start + len(surface)
                if not any(start < span.end and span.start < end for span in item.spans):
                    dictionary.unmarked[surface] += 1
        return dictionary

    def entries(self) -> list[tuple[str, str, float]]:
        """``(surface, label, precision)`` of every surface worth propagating, longest first."""
        found = []
        for surface, counts in self.labels.items():
            label, marked = counts.most_common(1)[0]
            precision = marked / (sum(counts.values()) + self.unmarked[surface])
            if precision >= MIN_PRECISION:
                found.append((surface, label, precision))
        return sorted(found, key=lambda entry: (-len(entry[0]), entry[0]))

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form (stored with an instant version)."""
        return {
            "labels": {surface: dict(counts) for surface, counts in self.labels.items()},
            "unmarked": dict(self.unmarked),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> EntityDictionary:
        """The dictionary ``to_json`` wrote."""
        labels = data.get("labels") if isinstance(data.get("labels"), dict) else {}
        seen = data.get("unmarked") if isinstance(data.get("unmarked"), dict) else {}
        return cls(
            labels={str(s): Counter({str(k): int(v) for k, v in c.items()}) for s, c in labels.items()},
            unmarked=Counter({str(s): int(n) for s, n in seen.items()}),
        )


class Propagator:
    """Applies a dictionary's entries to texts (built once per served version)."""

    def __init__(self, entries: Sequence[tuple[str, str, float]]) -> None:
        self._entries = {surface: (label, precision) for surface, label, precision in entries}
        self._index = SurfaceIndex(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def spans(self, text: str, taken: Iterable[Span] = ()) -> list[Span]:
        """Known surfaces in ``text``, longest first, overlapping neither each other nor ``taken``."""
        busy = [(span.start, span.end) for span in taken]
        candidates = sorted(self._index.find(text), key=lambda found: (-len(found[1]), found[0]))
        spans: list[Span] = []
        for start, surface in candidates:
            end = start + len(surface)
            if any(start < b_end and b_start < end for b_start, b_end in busy):
                continue
            busy.append((start, end))
            label, precision = self._entries[surface]
            spans.append(Span(start, end, label, precision))
        return sorted(spans, key=lambda span: span.start)

    def combine(self, text: str, model_spans: Sequence[Span], rule: str) -> list[Span]:
        """The served spans of one text from the fine-tuned model's and the dictionary's.

        ``model-first``: the model's spans, plus dictionary matches where the model found nothing.
        ``dictionary-first``: dictionary matches, plus the model's spans that overlap none of them.
        """
        if rule == "dictionary-first":
            mine = self.spans(text)
            kept = [s for s in model_spans if not any(s.start < m.end and m.start < s.end for m in mine)]
            return sorted([*mine, *kept], key=lambda span: span.start)
        return sorted([*model_spans, *self.spans(text, model_spans)], key=lambda span: span.start)
