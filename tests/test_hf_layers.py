"""Which layer serves: zero-shot, the instant head or a fine-tuned version, by honest scores."""

from __future__ import annotations

from hf_text import layers
from hf_text.layers import Duel, Score, choose

ZS = Score(layers.ZERO_SHOT, "zero-shot-x", 0.7, 10)
INSTANT = Score(layers.INSTANT, "instant-v3", 0.8, 10)
FINE = Score(layers.FINE_TUNED, "v2-20260101-000000", None, 0)


def test_before_any_annotation_zero_shot_serves_and_without_it_nothing_does() -> None:
    fresh = Score(layers.ZERO_SHOT, "zero-shot-x", None, 0)
    assert choose(fresh, None, None, None, None).version == "zero-shot-x"
    assert choose(None, None, None, None, None).layer == layers.NONE


def test_the_instant_head_replaces_zero_shot_unless_zero_shot_scores_better_on_enough_labels() -> None:
    assert choose(ZS, INSTANT, None, None, None).layer == layers.INSTANT
    tie = Score(layers.INSTANT, "instant-v3", 0.7, 10)
    assert choose(ZS, tie, None, None, None).layer == layers.INSTANT
    worse = Score(layers.INSTANT, "instant-v3", 0.5, 10)
    assert choose(ZS, worse, None, None, None).layer == layers.ZERO_SHOT
    few = Score(layers.ZERO_SHOT, "zero-shot-x", 1.0, layers.MIN_EVIDENCE - 1)
    assert choose(few, Score(layers.INSTANT, "instant-v1", 0.0, 4), None, None, None).layer == layers.INSTANT


def test_a_fine_tuned_version_replaces_the_instant_head_only_when_it_scores_better_on_unseen_labels() -> None:
    better = choose(ZS, INSTANT, FINE, Duel(0.9, 0.8, layers.MIN_EVIDENCE), None)
    assert (better.layer, better.version, better.fine_tuned_wins) == (layers.FINE_TUNED, FINE.version, True)
    assert "0.900" in better.why and "0.800" in better.why
    equal = choose(ZS, INSTANT, FINE, Duel(0.8, 0.8, 20), None)
    assert (equal.layer, equal.fine_tuned_wins) == (layers.INSTANT, False)
    too_few = choose(ZS, INSTANT, FINE, Duel(1.0, 0.0, layers.MIN_EVIDENCE - 1), None)
    assert too_few.layer == layers.INSTANT


def test_a_new_fine_tuned_version_inherits_the_verdict_of_the_one_before_until_it_has_evidence() -> None:
    assert choose(ZS, INSTANT, FINE, None, True).layer == layers.FINE_TUNED
    assert choose(ZS, INSTANT, FINE, None, False).layer == layers.INSTANT
    assert choose(ZS, INSTANT, FINE, Duel(0.5, 0.9, 10), True).layer == layers.INSTANT


def test_without_an_instant_head_a_fine_tuned_version_serves_as_before() -> None:
    assert choose(None, None, FINE, None, None).version == FINE.version


def test_zero_shot_is_near_chance_only_with_enough_labels_close_to_guessing() -> None:
    assert layers.near_chance(Score(layers.ZERO_SHOT, "z", 0.3, 20), labels=3)
    assert not layers.near_chance(Score(layers.ZERO_SHOT, "z", 0.6, 20), labels=3)
    assert not layers.near_chance(Score(layers.ZERO_SHOT, "z", 0.3, 4), labels=3)
