"""Overlapping windows over long texts with the embedded model's fast tokenizer."""

from __future__ import annotations

import itertools

import pytest

from hf_text.runtime.loader import load_tokenizer
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.text.windows import split_windows, window_length


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(resolve_model_folder(""))


def _content_ids(window) -> list[int]:
    return [token for token, special in zip(window.input_ids, window.special, strict=True) if not special]


def test_a_short_text_is_one_window_with_special_tokens(tokenizer) -> None:
    [window] = split_windows(tokenizer, ["Short text."], max_length=32, stride=8)
    assert window.text_index == 0
    assert window.special[0] and window.special[-1]
    assert window.content_length == len(window) - 2
    assert window.features().keys() >= {"input_ids", "attention_mask"}


def test_a_long_text_is_covered_by_overlapping_windows_without_loss(tokenizer) -> None:
    text = " ".join(f"word{number}" for number in range(300))
    full = tokenizer(text, add_special_tokens=False)["input_ids"]
    windows = split_windows(tokenizer, [text], max_length=64, stride=16)
    assert len(windows) > 1
    assert all(len(window) <= 64 for window in windows)
    # Consecutive windows share exactly `stride` tokens; stitched together they are the text.
    stitched = _content_ids(windows[0])
    for previous, current in itertools.pairwise(windows):
        assert _content_ids(previous)[-16:] == _content_ids(current)[:16]
        stitched += _content_ids(current)[16:]
    assert stitched == full


def test_offsets_point_into_the_original_text(tokenizer) -> None:
    text = "Überraschung! The café opened in Zürich. " * 30
    for window in split_windows(tokenizer, [text], max_length=32, stride=8):
        for (start, end), special in zip(window.offsets, window.special, strict=True):
            if not special:
                assert 0 <= start < end <= len(text)
                assert text[start:end].strip()


def test_windows_remember_their_text_in_order(tokenizer) -> None:
    texts = ["one", "two " * 100, "three"]
    windows = split_windows(tokenizer, texts, max_length=32, stride=4)
    indices = [window.text_index for window in windows]
    assert indices == sorted(indices)
    assert set(indices) == {0, 1, 2}
    assert indices.count(1) > 1


def test_a_stride_too_large_for_the_window_is_reduced_not_an_error(tokenizer) -> None:
    windows = split_windows(tokenizer, ["token " * 100], max_length=20, stride=50)
    assert len(windows) > 1


def test_window_length_is_clamped_to_the_model_limit(tokenizer) -> None:
    class Config:
        max_position_embeddings = 512

    assert window_length(tokenizer, Config(), 4096) == 512
    assert window_length(tokenizer, Config(), 128) == 128
