"""Versioned model store: atomic publish, nothing half-written served, pruning, leftovers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hf_text.model_store import META_FILE, ModelStore


def _publish(store: ModelStore, payload: str = "weights") -> str:
    with store.staging() as staging:
        (staging / "model.safetensors").write_text(payload)
        return store.publish(staging, {"labels": ["a", "b"]})


def test_a_published_version_has_its_files_and_metadata(tmp_path: Path) -> None:
    store = ModelStore(tmp_path, "1", "finetuned_model")
    version = _publish(store)
    folder = store.folder(version)
    assert folder == tmp_path / "1" / "finetuned_model" / version
    assert (folder / "model.safetensors").read_text() == "weights"
    meta = store.meta(version)
    assert meta["labels"] == ["a", "b"] and meta["version"] == version and meta["run"] == 1
    assert store.versions() == [version] and store.latest() == version


def test_versions_are_ordered_and_distinct(tmp_path: Path) -> None:
    store = ModelStore(tmp_path, "1", "m")
    published = [_publish(store) for _ in range(3)]
    assert len(set(published)) == 3
    assert store.versions() == published
    assert [store.meta(name)["run"] for name in published] == [1, 2, 3]


def test_a_failed_write_leaves_no_version_and_no_staging_folder(tmp_path: Path) -> None:
    store = ModelStore(tmp_path, "1", "m")
    previous = _publish(store)
    with pytest.raises(RuntimeError), store.staging() as staging:
        (staging / "partial.bin").write_text("half")
        raise RuntimeError("killed while training")
    assert store.versions() == [previous]
    assert sorted(path.name for path in store.root.iterdir()) == [previous]


def test_folders_left_by_a_kill_are_never_versions_and_are_cleaned(tmp_path: Path) -> None:
    store = ModelStore(tmp_path, "1", "m")
    good = _publish(store)
    # A kill -9 during training leaves a staging folder; a kill during pruning a trash folder.
    (store.root / ".staging-dead").mkdir()
    (store.root / ".staging-dead" / META_FILE).write_text(json.dumps({"version": ".staging-dead"}))
    (store.root / ".trash-dead").mkdir()
    # A folder without metadata (or with metadata naming another version) is not a version either.
    (store.root / "v9-copy").mkdir()
    (store.root / "v8-moved").mkdir()
    (store.root / "v8-moved" / META_FILE).write_text(json.dumps({"version": "other"}))
    assert store.versions() == [good]
    assert store.meta("../../etc") is None
    assert sorted(store.clean_leftovers()) == [".staging-dead", ".trash-dead"]
    assert not (store.root / ".staging-dead").exists()


def test_publish_is_a_rename_of_a_complete_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ModelStore(tmp_path, "1", "m")
    renames: list[tuple[Path, Path]] = []
    real_rename = os.rename

    def spy(source, target) -> None:
        # At the moment of the rename the metadata is already in the staging folder.
        assert (Path(source) / META_FILE).is_file()
        renames.append((Path(source), Path(target)))
        real_rename(source, target)

    monkeypatch.setattr("hf_text.model_store.os.rename", spy)
    version = _publish(store)
    assert renames[0][0].name.startswith(".staging-") and renames[0][1].name == version


def test_prune_keeps_the_newest_and_protected_versions(tmp_path: Path) -> None:
    store = ModelStore(tmp_path, "1", "m")
    versions = [_publish(store) for _ in range(5)]
    removed = store.prune(keep=2, protect={versions[0]})
    assert removed == versions[1:3]
    assert store.versions() == [versions[0], *versions[3:]]
    assert not any(path.name.startswith(".trash-") for path in store.root.iterdir())
