"""Span propagation: an annotated entity's text is proposed wherever it occurs again."""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import pytest

from huggingface_ner import propagation
from huggingface_ner.bio import Span
from huggingface_ner.propagation import AnnotatedText, EntityDictionary, Propagator
from huggingface_ner.words.segmentation import segment


def annotated(text: str, *entities: tuple[str, str]) -> AnnotatedText:
    """``text`` with the first occurrence of each ``(surface, label)`` marked."""
    spans = []
    for surface, label in entities:
        start = text.index(surface)
        spans.append(Span(start, start + len(surface), label))
    return AnnotatedText(text, tuple(spans))


def found(propagator: Propagator, text: str, taken: tuple[Span, ...] = ()) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.entity) for s in propagator.spans(text, taken)]


def test_whole_words_only_and_case_matters() -> None:
    dictionary = EntityDictionary.build([annotated("Apple hired Ann .", ("Apple", "ORG"), ("Ann", "PER"))])
    propagator = Propagator(dictionary.entries())
    assert found(propagator, "Ann met Apple staff .") == [("Ann", "PER"), ("Apple", "ORG")]
    assert found(propagator, "Anna ate an apple and Pineapple , not Annex .") == []


def test_whole_words_are_ners_own_words() -> None:
    # An emoji inside a ZWJ sequence, or letters without their combining accent, are no whole word.
    dictionary = EntityDictionary.build([annotated("👩 and Cafe met .", ("👩", "PER"), ("Cafe", "ORG"))])
    propagator = Propagator(dictionary.entries())
    assert found(propagator, "👩\u200d👧 at Cafe\u0301 , 👩 at Cafe .") == [("👩", "PER"), ("Cafe", "ORG")]


def test_the_longest_surface_wins_and_matches_never_overlap() -> None:
    dictionary = EntityDictionary.build(
        [annotated("New York and New York Times differ .", ("New York Times", "ORG"), ("York", "LOC"))]
    )
    propagator = Propagator(dictionary.entries())
    assert found(propagator, "The New York Times wrote about York .") == [
        ("New York Times", "ORG"),
        ("York", "LOC"),
    ]


def test_spans_already_predicted_are_never_overlapped() -> None:
    dictionary = EntityDictionary.build([annotated("Paris Hilton .", ("Paris", "LOC"))])
    propagator = Propagator(dictionary.entries())
    text = "Paris Hilton visited Paris ."
    model = (Span(0, 12, "PER"),)
    assert found(propagator, text, model) == [("Paris", "LOC")]
    combined = propagator.combine(text, list(model), "model-first")
    shown = [(text[s.start : s.end], s.entity) for s in combined]
    assert shown == [("Paris Hilton", "PER"), ("Paris", "LOC")]


def test_a_surface_annotators_mostly_leave_unmarked_is_not_propagated() -> None:
    texts = [
        annotated("May said no .", ("May", "PER")),
        AnnotatedText("In May it rained .", ()),
        AnnotatedText("May was warm .", ()),
    ]
    assert found(Propagator(EntityDictionary.build(texts).entries()), "May spoke .") == []
    texts.append(annotated("May won .", ("May", "PER")))
    texts.append(annotated("May lost .", ("May", "PER")))
    [(surface, label, precision)] = EntityDictionary.build(texts).entries()
    assert (surface, label, round(precision, 2)) == ("May", "PER", 0.6)


def test_the_most_frequent_label_of_a_surface_wins_and_the_dictionary_survives_json() -> None:
    texts = [
        annotated("Jordan scored .", ("Jordan", "PER")),
        annotated("Jordan played .", ("Jordan", "PER")),
        annotated("Jordan borders Israel .", ("Jordan", "LOC")),
    ]
    dictionary = EntityDictionary.from_json(EntityDictionary.build(texts).to_json())
    assert found(Propagator(dictionary.entries()), "Jordan again .") == [("Jordan", "PER")]


# -- hostile sizes: the work grows with the text, not with its square -------------------------------


class TooMuchWork(Exception):
    """Raised inside the traced call once it has run past its budget of lines."""


def lines_run(call: Callable[[], object], budget: int | None = None) -> int:
    """Python lines of ``huggingface_ner/propagation.py`` that ``call()`` executes: its work, counted.

    Deterministic where a clock is not. Every loop of the module is Python code (each overlap test
    of a region against another is one line), and what it hands to C (a sort, ``bytearray.find``
    over one surface, a binary search) is bounded per line. Past ``budget`` the call is stopped:
    a quadratic run would otherwise take minutes to fail.
    """
    count = 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
            if budget is not None and count > budget:
                raise TooMuchWork
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename == propagation.__file__ else None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        call()
    except TooMuchWork:
        pass
    finally:
        sys.settrace(previous)
    return count


def every_word_known(words: int) -> tuple[Propagator, str, list[Span]]:
    """The issue's case: ``a`` annotated once, then ``"a " * words``; the model found every other one."""
    dictionary = EntityDictionary.build([annotated("a met b .", ("a", "PER"))])
    text = "a " * words
    model = [Span(start, start + 1, "ORG") for start in range(0, len(text), 4)]
    return Propagator(dictionary.entries()), text, model


def propagate(words: int) -> Callable[[], object]:
    propagator, text, _ = every_word_known(words)
    return lambda: propagator.spans(text)


def model_first(words: int) -> Callable[[], object]:
    propagator, text, model = every_word_known(words)
    return lambda: propagator.combine(text, model, "model-first")


def dictionary_first(words: int) -> Callable[[], object]:
    propagator, text, model = every_word_known(words)
    return lambda: propagator.combine(text, model, "dictionary-first")


def build(words: int) -> Callable[[], object]:
    """One annotated text of ``words`` words where every other ``a`` is marked."""
    text = "a " * words
    spans = tuple(Span(start, start + 1, "PER") for start in range(0, len(text), 4))
    return lambda: EntityDictionary.build([AnnotatedText(text, spans)])


@pytest.mark.parametrize("work", [propagate, model_first, dictionary_first, build])
def test_eight_times_the_words_costs_about_eight_times_the_work(
    work: Callable[[int], Callable[[], object]],
) -> None:
    # Linear work grows 8x here; checking each region against every earlier one grows 64x. The
    # bound between them leaves room for n log n and for a constant per call.
    small = lines_run(work(1_000))
    large = lines_run(work(8_000), budget=20 * small)
    assert large <= 20 * small, f"8x the words cost over {large / small:.0f}x the work"


def test_names_sharing_a_first_word_are_not_tried_one_by_one() -> None:
    # Eight times the names "a 0", "a 1", ... on the same text: trying each name at every "a"
    # costs 8x; probing once per distinct name length costs about the same.
    def work(names: int) -> Callable[[], object]:
        propagator = Propagator([(f"a {number}", "PER", 1.0) for number in range(names)])
        return lambda: propagator.spans("a b " * 500 + "a 7 .")

    small = lines_run(work(100))
    large = lines_run(work(800), budget=2 * small)
    assert large <= 2 * small, f"8x the names cost over {large / small:.0f}x the work"


# -- the rules, stated naively, against the index on random texts -----------------------------------


def naive_occurrences(surfaces: Sequence[str], text: str) -> list[tuple[int, str]]:
    """Every occurrence starting where one of NER's words starts and ending where one ends."""
    words = segment(text)
    found = []
    for start in words.starts:
        for surface in surfaces:
            if text.startswith(surface, start) and start + len(surface) in words.ends:
                found.append((start, surface))
    return found


def overlap(start: int, end: int, regions: Sequence[tuple[int, int]]) -> bool:
    return any(start < r_end and r_start < end for r_start, r_end in regions)


def naive_spans(entries: Sequence[tuple[str, str, float]], text: str, taken: Sequence[Span]) -> list[Span]:
    """Longest first (then leftmost), each kept unless it overlaps a region already there."""
    known = {surface: (label, score) for surface, label, score in entries}
    busy = [(span.start, span.end) for span in taken]
    spans = []
    for start, surface in sorted(naive_occurrences(list(known), text), key=lambda f: (-len(f[1]), f[0])):
        end = start + len(surface)
        if not overlap(start, end, busy):
            busy.append((start, end))
            spans.append(Span(start, end, *known[surface]))
    return sorted(spans, key=lambda span: span.start)


def random_text(rng: random.Random, length: int) -> str:
    # Few letters so surfaces recur; a combining accent, an emoji (UTF-16 pair), punctuation, tabs.
    return "".join(rng.choice("aaAbb _.-e\u0301\U0001f600\t") for _ in range(length))


def random_regions(rng: random.Random, text: str, count: int) -> tuple[Span, ...]:
    """Regions as a client may send them: overlapping, empty, reversed, past either end."""
    return tuple(
        Span(rng.randint(-2, len(text) + 2), rng.randint(-2, len(text) + 2), rng.choice("PL"))
        for _ in range(count)
    )


def test_the_index_follows_the_rules_on_random_texts() -> None:
    rng = random.Random(7)
    for _ in range(300):
        texts = [random_text(rng, rng.randint(0, 30)) for _ in range(3)]
        items = [AnnotatedText(text, random_regions(rng, text, rng.randint(0, 5))) for text in texts]
        dictionary = EntityDictionary.build(items)
        unmarked: Counter[str] = Counter()
        for item in items:
            regions = [(span.start, span.end) for span in item.spans]
            for start, surface in naive_occurrences(list(dictionary.labels), item.text):
                unmarked[surface] += not overlap(start, start + len(surface), regions)
        assert +dictionary.unmarked == +unmarked

        text = random_text(rng, rng.randint(0, 60))
        # Pieces of the text itself as well, so that most texts hold several overlapping matches.
        pieces = {text[a : a + rng.randint(1, 8)].strip() for a in range(0, len(text), 5)}
        known = [(piece, "X", 1.0) for piece in sorted(pieces) if piece and piece not in dictionary.labels]
        entries = [*dictionary.entries(), *known]
        propagator = Propagator(entries)
        model = random_regions(rng, text, rng.randint(0, 4))
        assert propagator.spans(text, model) == naive_spans(entries, text, model)
        mine = naive_spans(entries, text, ())
        kept = [s for s in model if not overlap(s.start, s.end, [(m.start, m.end) for m in mine])]
        expected = sorted([*mine, *kept], key=lambda span: span.start)
        assert propagator.combine(text, list(model), "dictionary-first") == expected
