"""Span propagation: an annotated entity's text is evidence for the same text elsewhere.

A dictionary is built from the spans annotators marked (``surface text -> label``). Applied to a
new text it finds every occurrence of a known surface as whole words (NER's own words, those the
model tags: ``huggingface_ner.words``), with the same letter case
(``Apple`` the company is not ``apple`` the fruit), longest surface first, and never overlapping a
region already there (another propagated one, or the fine-tuned model's). A surface annotated with
several labels takes its most frequent one.

A region's score is how often the surface was marked as an entity (with that label) wherever it
occurred in annotated texts: a word annotators sometimes leave unmarked ("May" the month versus
"May" the person) is propagated with a low score, and not at all when it was marked in less than
half of its occurrences (``MIN_PRECISION``).

Hostile sizes (a 32,000-word text where every word is a known surface, an annotation marking
thousands of spans) stay near-linear: the candidates at a token are found by one set lookup per
surface length (work bounded by the longest surface, whatever the dictionary's size), and "does
this overlap a region already there" is a binary search over fixed regions plus a byte map of the
propagated ones, never a scan of every region (``bench/hostile.py``, ``docs/hostile.md``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from huggingface_ner.bio import Span
from huggingface_ner.words.segmentation import segment

#: A surface marked (with its most frequent label) in less than this share of its occurrences in
#: annotated texts is not propagated: it is more likely not that entity than it is.
MIN_PRECISION = 0.5
#: Longer surfaces are kept out of the dictionary: a whole sentence marked by mistake is no name.
MAX_SURFACE_CHARS = 100


def _first_word(surface: str) -> str | None:
    words = segment(surface)
    return surface[words.starts[0] : words.ends[0]] if len(words) else None


class SurfaceIndex:
    """Surfaces grouped by their first word, so a text is scanned once whatever their number.

    Words are NER's own (``huggingface_ner.words``), the words the model tags. At each word of the
    text, its group is probed once per distinct surface length (a slice and a set lookup), not once
    per surface: the work per word is bounded by the longest surface, however many surfaces share
    a first word (thousands of "the ..." annotated).
    """

    def __init__(self, surfaces: Iterable[str]) -> None:
        by_first: dict[str, set[str]] = {}
        for surface in surfaces:
            first = _first_word(surface)
            if first is not None and surface.startswith(first):
                by_first.setdefault(first, set()).add(surface)
        #: first word -> (its surfaces, their distinct lengths, longest first)
        self._groups = {
            first: (group, sorted({len(s) for s in group}, reverse=True)) for first, group in by_first.items()
        }

    def find(self, text: str) -> Iterator[tuple[int, str]]:
        """``(start, surface)`` of every same-case occurrence of a surface in ``text`` as whole words.

        An occurrence starts where a word of the text starts and ends where one ends: "Ann" is not
        in "Anna", nor "👩" in "👩‍👩‍👧". Starts ascend; at one start the longest surface comes first.
        """
        words = segment(text)
        ends = set(words.ends)
        for start, end in zip(words.starts, words.ends, strict=True):
            found = self._groups.get(text[start:end])
            if found is None:
                continue
            group, sizes = found
            for size in sizes:
                if start + size in ends and text[start : start + size] in group:
                    yield start, text[start : start + size]


class _Regions:
    """Fixed ``[start, end)`` pairs, asked "does any overlap this one?" in O(log n).

    Sorted by start, with the furthest end reached so far: among the pairs that start before a
    query's end, one overlaps it exactly when the furthest of their ends passes its start. Any
    pairs (overlapping, empty or reversed, as a client may send them) answer as the plain test
    ``start < b_end and b_start < end`` over each of them would.
    """

    def __init__(self, pairs: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(pairs)
        self._starts = [start for start, _ in ordered]
        self._reach = list(accumulate((end for _, end in ordered), max))

    def overlaps(self, start: int, end: int) -> bool:
        """Whether some pair ``(b_start, b_end)`` has ``start < b_end and b_start < end``."""
        before = bisect_left(self._starts, end)
        return before > 0 and self._reach[before - 1] > start


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
            marked = _Regions((span.start, span.end) for span in item.spans)
            for start, surface in index.find(item.text):
                if not marked.overlaps(start, start + len(surface)):
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
        fixed = _Regions((span.start, span.end) for span in taken)
        # Propagated regions never overlap and lie inside the text: one byte per character says
        # whether it is taken, so a check costs the candidate's length, not the number of regions.
        propagated = bytearray(len(text))
        candidates = sorted(self._index.find(text), key=lambda found: (-len(found[1]), found[0]))
        spans: list[Span] = []
        for start, surface in candidates:
            end = start + len(surface)
            if propagated.find(1, start, end) != -1 or fixed.overlaps(start, end):
                continue
            propagated[start:end] = b"\x01" * (end - start)
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
            busy = _Regions((span.start, span.end) for span in mine)
            kept = [span for span in model_spans if not busy.overlaps(span.start, span.end)]
            return sorted([*mine, *kept], key=lambda span: span.start)
        return sorted([*model_spans, *self.spans(text, model_spans)], key=lambda span: span.start)
