"""Span propagation: an annotated entity's text is proposed wherever it occurs again."""

from __future__ import annotations

from huggingface_ner.bio import Span
from huggingface_ner.propagation import AnnotatedText, EntityDictionary, Propagator


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
