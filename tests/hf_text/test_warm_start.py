"""Planning a head's training: when it warm-starts from the served version, and on what."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hf_text.data.controls import Example
from hf_text.settings import HFSettings
from hf_text.training.warm_start import FULL, INCREMENTAL, MIN_REPLAY, ServedHead, plan_training

BASE = Path("/base")
LABELS = ["a", "b"]
SETTINGS = HFSettings(full_retrain_every=10)  # room for nine warm starts in a row


def examples(count: int, start: int = 0) -> list[Example]:
    return [
        Example(text=f"text {i}", target=frozenset({"a"}), annotated_at=str(i))
        for i in range(start, start + count)
    ]


def key(example: Example) -> str:
    return f"{example.text}|{sorted(example.target)}"


def served(seen: list[Example] | None, runs: int = 0, **head) -> ServedHead:
    hyper = {"baseline_model_name": SETTINGS.baseline_model_name, "max_length": SETTINGS.max_length,
             "window_stride": SETTINGS.window_stride}  # fmt: skip
    meta = {"labels": LABELS, "training": {"runs_since_full": runs}, **head}
    return ServedHead(
        "v-1", Path("/store/v-1/head-0"), meta, hyper, None if seen is None else {key(e) for e in seen}
    )


def plan(event: str = "ANNOTATION_CREATED", settings: HFSettings = SETTINGS, **kwargs):
    old, new = examples(200), examples(10, start=200)
    head = kwargs.pop("head", served(old))
    return plan_training(event, settings, BASE, head, kwargs.pop("current", old + new), LABELS, key), old, new


def test_new_annotations_warm_start_from_the_served_head_with_a_replay_sample() -> None:
    result, old, new = plan()
    assert result.mode == INCREMENTAL and result.start_from == Path("/store/v-1/head-0")
    assert result.new == 10 and result.replay == max(MIN_REPLAY, 40)
    assert result.train[:10] == new
    assert set(map(key, result.train[10:])) <= set(map(key, old))
    assert result.runs_since_full == 1 and result.warm
    assert result.record()["warm_start_from"] == "v-1"
    again, _, _ = plan()
    assert again.train == result.train  # seeded: a resumed training trains on the same sample


def test_a_relabeled_example_counts_as_new() -> None:
    old = examples(100)
    relabeled = replace(old[5], target=frozenset({"b"}))
    result, _, _ = plan(head=served(old), current=[*old[:5], relabeled, *old[6:]])
    assert result.mode == INCREMENTAL and result.new == 1 and result.train[0] == relabeled


@pytest.mark.parametrize(
    ("event", "head", "settings", "why"),
    [
        ("START_TRAINING", None, SETTINGS, "START_TRAINING"),
        ("ANNOTATIONS_DELETED", None, SETTINGS, "ANNOTATIONS_DELETED"),
        ("ANNOTATION_CREATED", "none", SETTINGS, "no trained head"),
        ("ANNOTATION_CREATED", {"labels": ["a", "b", "c"]}, SETTINGS, "labels changed"),
        ("ANNOTATION_CREATED", "no-record", SETTINGS, "no record"),
        ("ANNOTATION_CREATED", {"training": {"runs_since_full": 9}}, SETTINGS, "every 10th"),
        ("ANNOTATION_CREATED", None, HFSettings(full_retrain_every=1), "off"),
        ("ANNOTATION_CREATED", None, replace(SETTINGS, max_length=128), "window settings changed"),
    ],
)
def test_a_full_retrain_when_warm_starting_is_wrong_or_due(event, head, settings, why) -> None:
    old = examples(200)
    if head == "none":
        chosen = None
    elif head == "no-record":
        chosen = served(None)
    else:
        chosen = served(old, **(head or {}))
    result = plan_training(event, settings, BASE, chosen, old + examples(10, 200), LABELS, key)
    assert result.mode == FULL and result.start_from == BASE and len(result.train) == 210
    assert why in result.reason


def test_nothing_new_retrains_fully() -> None:
    old = examples(50)
    result = plan_training("ANNOTATION_UPDATED", SETTINGS, BASE, served(old), old, LABELS, key)
    assert result.mode == FULL and result.new == 0 and "nothing was labeled" in result.reason


def test_replay_never_exceeds_the_older_examples() -> None:
    old = examples(5)
    result = plan_training(
        "ANNOTATION_CREATED", SETTINGS, BASE, served(old), old + examples(3, 5), LABELS, key
    )
    assert result.mode == INCREMENTAL and result.replay == 5 and len(result.train) == 8
