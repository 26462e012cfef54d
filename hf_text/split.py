"""Train/validation split: stratified by a key, held out only when there are enough examples."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

Item = TypeVar("Item")

#: Share of each stratum held out for validation.
VALIDATION_FRACTION = 0.2


def train_validation_split(
    items: Sequence[Item],
    key: Callable[[Item], Hashable | None],
    min_examples: int,
    seed: int,
) -> tuple[list[Item], list[Item]]:
    """``(train, validation)``; validation is empty when fewer than ``min_examples`` items exist.

    Each stratum (items with the same ``key``) gives 20% of its items, at least one, to
    validation; a stratum with a single item keeps it for training, so every class that can be
    learned is learned. Shuffling is seeded, so a rerun on the same data splits the same way.
    """
    if len(items) < min_examples:
        return list(items), []
    strata: dict[Hashable | None, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        strata[key(item)].append(index)
    rng = random.Random(seed)
    held_out: set[int] = set()
    for stratum_key in sorted(strata, key=repr):
        members = strata[stratum_key]
        if len(members) < 2:
            continue
        rng.shuffle(members)
        held_out.update(members[: max(1, round(len(members) * VALIDATION_FRACTION))])
    train = [item for index, item in enumerate(items) if index not in held_out]
    validation = [item for index, item in enumerate(items) if index in held_out]
    return train, validation
