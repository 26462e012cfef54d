"""Which layer serves: zero-shot, the instant head or a fine-tuned version, by labels checked on arrival."""

from __future__ import annotations

from bert_classifier.light import layers
from bert_classifier.light.layers import Duel, choose

ZS, INSTANT, FINE = "zero-shot-x", "instant-v3", "v2-20260101-000000"


def duel(challenger: str, wins: int, losses: int, ties: int = 0) -> Duel:
    pairs = [(1.0, 0.0)] * wins + [(0.0, 1.0)] * losses + [(1.0, 1.0)] * ties
    return Duel.of(challenger, layers.INSTANT, pairs)


def test_before_any_annotation_zero_shot_serves_and_without_it_nothing_does() -> None:
    assert choose(ZS, None, None).version == ZS
    assert choose(None, None, None).layer == layers.NONE


def test_the_instant_head_replaces_zero_shot_unless_zero_shot_is_clearly_better() -> None:
    assert choose(ZS, INSTANT, None).layer == layers.INSTANT
    assert choose(ZS, INSTANT, None, duel(layers.ZERO_SHOT, 3, 1, ties=20)).layer == layers.INSTANT
    clearly = choose(ZS, INSTANT, None, duel(layers.ZERO_SHOT, 9, 1))
    assert clearly.layer == layers.ZERO_SHOT and "alone was right 9 times" in clearly.why


def test_a_fine_tuned_version_replaces_the_instant_head_only_when_clearly_better_on_labels_after_it() -> None:
    assert choose(ZS, INSTANT, FINE).layer == layers.INSTANT  # no label since it was trained
    assert choose(ZS, INSTANT, FINE, fine_tuned_duel=duel(layers.FINE_TUNED, 3, 2)).layer == layers.INSTANT
    assert choose(ZS, INSTANT, FINE, fine_tuned_duel=duel(layers.FINE_TUNED, 3, 0)).layer == layers.INSTANT
    better = choose(ZS, INSTANT, FINE, fine_tuned_duel=duel(layers.FINE_TUNED, 4, 0, ties=30))
    assert (better.layer, better.version) == (layers.FINE_TUNED, FINE)
    assert choose(ZS, INSTANT, FINE, fine_tuned_duel=duel(layers.FINE_TUNED, 0, 5)).layer == layers.INSTANT


def test_without_an_instant_head_a_fine_tuned_version_serves_as_before() -> None:
    assert choose(None, None, FINE).version == FINE
    assert choose(ZS, None, FINE).version == FINE


def test_the_sign_test_needs_a_clear_margin_and_ignores_ties() -> None:
    assert not duel(layers.FINE_TUNED, 0, 0, ties=50).challenger_wins
    assert duel(layers.FINE_TUNED, 3, 0).wins == 3 and not duel(layers.FINE_TUNED, 3, 0).challenger_wins
    assert duel(layers.FINE_TUNED, 12, 3).challenger_wins  # 9 >= 2 * sqrt(15)
    assert not duel(layers.FINE_TUNED, 10, 4).challenger_wins  # 6 < 2 * sqrt(14)


def test_zero_shot_is_near_chance_only_with_enough_labels_close_to_guessing() -> None:
    assert layers.near_chance(0.3, 20, choices=3)
    assert not layers.near_chance(0.6, 20, choices=3)
    assert not layers.near_chance(0.3, 4, choices=3)
