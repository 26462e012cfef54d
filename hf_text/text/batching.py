"""Batches bounded by a token budget that counts padding, in length order, results in input order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from label_studio_ml.server.client_gone import stop_if_client_gone

Item = TypeVar("Item")
Output = TypeVar("Output")


def padded_length(length: int, multiple: int | None) -> int:
    """``length`` rounded up to ``multiple`` (the collator pads to it)."""
    if not multiple:
        return length
    return -(-length // multiple) * multiple


def plan_batches(lengths: Sequence[int], token_budget: int, multiple: int | None = None) -> list[list[int]]:
    """Indices of ``lengths`` grouped into batches, longest first.

    A batch costs ``longest * count`` tokens, since every row is padded to the longest; each
    batch stays within ``token_budget``. A single item longer than the budget forms its own batch.
    Sorting by length keeps rows of similar length together, so little of the budget is padding.
    """
    order = sorted(range(len(lengths)), key=lambda index: lengths[index], reverse=True)
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index in order:
        length = padded_length(max(lengths[index], 1), multiple)
        longest_if_added = max(longest, length)
        if current and longest_if_added * (len(current) + 1) > token_budget:
            batches.append(current)
            current, longest_if_added = [], length
        current.append(index)
        longest = longest_if_added
    if current:
        batches.append(current)
    return batches


def map_batched(
    items: Sequence[Item],
    lengths: Sequence[int],
    token_budget: int,
    run: Callable[[list[Item]], Sequence[Output]],
    multiple: int | None = None,
) -> list[Output]:
    """Apply ``run`` to token-budget batches of ``items`` and return its outputs in input order.

    Before each batch, a request whose client hung up stops here (``ClientGone``)."""
    if len(items) != len(lengths):
        raise ValueError("items and lengths differ in size")
    outputs: list[Output | None] = [None] * len(items)
    for batch in plan_batches(lengths, token_budget, multiple):
        stop_if_client_gone()
        results = run([items[index] for index in batch])
        if len(results) != len(batch):
            raise ValueError(f"batch function returned {len(results)} outputs for {len(batch)} items")
        for index, result in zip(batch, results, strict=True):
            outputs[index] = result
    return outputs  # type: ignore[return-value]  # every slot was filled above
