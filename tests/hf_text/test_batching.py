"""Token-budget batching: padding counted, length order inside, input order outside."""

from __future__ import annotations

import random

from hf_text.text.batching import map_batched, plan_batches


def test_batches_respect_the_budget_counting_padding() -> None:
    lengths = [random.Random(seed).randint(1, 300) for seed in range(200)]
    batches = plan_batches(lengths, token_budget=1024)
    assert sorted(index for batch in batches for index in batch) == list(range(200))
    for batch in batches:
        longest = max(lengths[index] for index in batch)
        assert longest * len(batch) <= 1024


def test_padding_to_a_multiple_is_part_of_the_cost() -> None:
    # 9 tokens pad to 16: four rows cost 64, so a budget of 63 allows only three.
    batches = plan_batches([9, 9, 9, 9], token_budget=63, multiple=8)
    assert [len(batch) for batch in batches] == [3, 1]


def test_an_item_longer_than_the_budget_gets_its_own_batch() -> None:
    batches = plan_batches([5000, 10, 10], token_budget=100)
    assert batches[0] == [0]
    assert sorted(batches[1]) == [1, 2]


def test_similar_lengths_share_batches() -> None:
    lengths = [10, 200, 11, 201, 12, 202]
    batches = plan_batches(lengths, token_budget=606)
    assert [sorted(lengths[index] for index in batch) for batch in batches] == [[200, 201, 202], [10, 11, 12]]


def test_outputs_come_back_in_input_order() -> None:
    items = ["ccc", "a", "bbbbb", "dd"]
    seen_batches: list[list[str]] = []

    def run(batch: list[str]) -> list[str]:
        seen_batches.append(batch)
        return [item.upper() for item in batch]

    result = map_batched(items, [len(item) for item in items], token_budget=6, run=run)
    assert result == ["CCC", "A", "BBBBB", "DD"]
    assert seen_batches[0] == ["bbbbb"]  # longest first
