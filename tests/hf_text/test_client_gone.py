"""Work for a request whose client hung up stops between steps: tokenizing groups of texts and
running batches of windows (``label_studio_ml.server.client_gone``); elsewhere nothing stops."""

from __future__ import annotations

import threading

import pytest

from hf_text.runtime.loader import load_tokenizer
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.text import windows
from hf_text.text.batching import map_batched
from label_studio_ml.errors import ClientGone
from label_studio_ml.server.client_gone import watching

TEXTS = [f"Text number {index} says something about sport and tech. " * (index + 1) for index in range(12)]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(resolve_model_folder(""))


def gone() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


def test_batches_stop_before_the_first_batch_once_the_client_is_gone() -> None:
    ran: list[list[int]] = []

    def run(batch: list[int]) -> list[int]:
        ran.append(batch)
        return batch

    with watching(gone()), pytest.raises(ClientGone):
        map_batched([1, 2, 3], [5, 5, 5], token_budget=5, run=run)
    assert ran == []
    with watching(threading.Event()):  # a client still there
        assert map_batched([1, 2, 3], [5, 5, 5], token_budget=5, run=run) == [1, 2, 3]
    assert map_batched([4], [5], token_budget=5, run=run) == [4]  # outside a request


def test_tokenizing_stops_once_the_client_is_gone(tokenizer) -> None:
    with watching(gone()), pytest.raises(ClientGone):
        windows.cut_windows(tokenizer, TEXTS, max_length=32, stride=8)


def test_tokenizing_in_groups_gives_the_same_windows(tokenizer, monkeypatch) -> None:
    whole = windows.cut_windows(tokenizer, TEXTS, max_length=32, stride=8)
    monkeypatch.setattr(windows, "GROUP_CHARS", 200)  # several groups, some of one text
    assert len(windows._groups(TEXTS)) > 3
    grouped = windows.cut_windows(tokenizer, TEXTS, max_length=32, stride=8)
    assert [(w.text_index, w.input_ids, w.offsets, w.word_ids) for w in grouped] == [
        (w.text_index, w.input_ids, w.offsets, w.word_ids) for w in whole
    ]
