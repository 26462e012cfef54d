"""The instant stores are bounded per project across controls, refusing rather than evicting:
records are labels (a 1 MiB record is refused, beyond the count new tasks are), texts are what
``bert_classifier.light.abstain`` decides over (its oldest N must stay)."""

from __future__ import annotations

from pathlib import Path

from hf_text.instant import records as instant_store
from hf_text.instant.records import InstantRecords, ProjectTexts
from label_studio_ml.state.disk_bounds import Bounds, disk_report


def test_project_texts_are_bounded_across_controls_keeping_the_first(tmp_path: Path) -> None:
    controls = [f"choice{index}" for index in range(50)]
    for control in controls:
        texts = ProjectTexts(tmp_path, "1", control)
        ids = list(range(200))
        texts.add_many([(ids[i], "e" * 100) for i in texts.missing(ids)])
    files = list((tmp_path / "1" / instant_store.TEXTS).rglob("*.json"))
    kept = [path for path in files if not path.name.startswith(".")]
    assert len(kept) == instant_store.MAX_PROJECT_TEXTS
    assert len(ProjectTexts(tmp_path, "1", controls[0]).all()) == 200  # the first controls keep theirs
    assert ProjectTexts(tmp_path, "1", controls[-1]).all() == []
    assert disk_report(tmp_path, "1")[instant_store.TEXTS]["files"] == instant_store.MAX_PROJECT_TEXTS


def test_an_oversized_record_is_refused_and_replaces_no_stale_one(tmp_path: Path) -> None:
    records = InstantRecords(tmp_path, "1", "label")
    assert records.put(1, {"text": "short", "annotation": 1})
    huge = "x" * instant_store.RECORD_BOUNDS.file_bytes
    assert not records.put(1, {"text": huge, "annotation": 2})
    assert not records.put(2, {"text": huge, "annotation": 3})
    assert records.all() == []  # task 1's old record no longer says what its annotation does
    usage = disk_report(tmp_path, "1")[instant_store.RECORDS]
    assert usage["files"] == 0 and usage["bytes"] == 0 and usage["refused"] == 2


def test_beyond_the_record_count_new_tasks_are_refused_and_kept_ones_replaced(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(
        instant_store, "RECORD_BOUNDS", Bounds(files=3, bytes=10**6, file_bytes=10**4, evicts=False)
    )
    first, second = InstantRecords(tmp_path, "1", "a"), InstantRecords(tmp_path, "1", "b")
    assert all(first.put(task, {"target": ["x"]}) for task in (1, 2))
    assert second.put(1, {"target": ["y"]})
    assert not second.put(2, {"target": ["y"]})  # the project is full, across controls
    assert first.put(1, {"target": ["z"]})  # a kept task's label still changes
    assert first.remove(2) and second.put(2, {"target": ["y"]})
    assert [r["target"] for r in first.all()] == [["z"]] and len(second.all()) == 2
    usage = disk_report(tmp_path, "1")[instant_store.RECORDS]
    assert usage["files"] == 3 and usage["refused"] == 1 and usage["evicted"] == 0
