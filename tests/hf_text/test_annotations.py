"""Choosing the annotation to train on and filtering its results by control."""

from __future__ import annotations

from hf_text.data.annotations import chosen_annotation, results_for


def _annotation(ident: int, updated: str, **extra) -> dict:
    return {
        "id": ident,
        "updated_at": updated,
        "result": [{"from_name": "label", "to_name": "text"}],
        **extra,
    }


def test_ground_truth_wins_over_a_newer_annotation() -> None:
    task = {
        "annotations": [
            _annotation(1, "2026-01-01T00:00:00Z", ground_truth=True),
            _annotation(2, "2026-06-01T00:00:00Z"),
        ]
    }
    assert chosen_annotation(task)["id"] == 1


def test_otherwise_the_most_recently_updated_non_cancelled_one() -> None:
    task = {
        "annotations": [
            _annotation(1, "2026-03-01T00:00:00.500000Z"),
            _annotation(2, "2026-02-01T00:00:00Z"),
            _annotation(3, "2026-09-01T00:00:00Z", was_cancelled=True),
        ]
    }
    assert chosen_annotation(task)["id"] == 1


def test_a_cancelled_ground_truth_is_ignored() -> None:
    task = {
        "annotations": [
            _annotation(1, "2026-01-01T00:00:00Z", ground_truth=True, was_cancelled=True),
            _annotation(2, "2025-01-01T00:00:00Z"),
        ]
    }
    assert chosen_annotation(task)["id"] == 2


def test_no_usable_annotation() -> None:
    assert chosen_annotation({"annotations": []}) is None
    assert chosen_annotation({}) is None
    assert chosen_annotation({"annotations": [_annotation(1, "x", was_cancelled=True)]}) is None


def test_results_are_filtered_by_control_and_object() -> None:
    annotation = {
        "result": [
            {"from_name": "label", "to_name": "text", "value": 1},
            {"from_name": "other", "to_name": "text", "value": 2},
            {"from_name": "label", "to_name": "title", "value": 3},
        ]
    }
    assert [item["value"] for item in results_for(annotation, "label")] == [1, 3]
    assert [item["value"] for item in results_for(annotation, "label", "text")] == [1]
