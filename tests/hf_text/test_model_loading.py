"""Loading models for inference: one broken version fails only its project (503, retried), memory
stays bounded (tokenizers shared by content, a configurable model cache, replaced versions freed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from bert_classifier.model import BertClassifier
from hf_text.runtime import loader
from hf_text.runtime.loader import SEQUENCE_CLASSIFICATION, ModelCache, load_for_inference, load_tokenizer
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.runtime.startup import warm_cache
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from label_studio_ml.errors import ModelUnavailable
from tests.support.published_heads import WEIGHTS, corrupt, head_folder, publish_head

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="topic" toName="text">'
    '<Choice value="sport"/><Choice value="tech"/><Choice value="food"/></Choices></View>'
)
LABELS = ["sport", "tech", "food"]
CPU = torch.device("cpu")


@pytest.fixture
def context(tmp_path: Path) -> BackendContext:
    loader.clear_cache()
    return BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))


def make(context: BackendContext, project: str, **settings) -> BertClassifier:
    hf = HFSettings(max_length=64, window_stride=16, token_budget=512, **settings)
    return BertClassifier(project_id=project, label_config=CONFIG, context=context, hf_settings=hf)


def predict_one(model: BertClassifier) -> list[str]:
    [item] = model.predict([{"id": 1, "data": {"text": "A late goal won the match."}}]).serialize()
    return [choice for region in item["result"] for choice in region["value"]["choices"]]


def save_tokenizer_copy(folder: Path, model_max_length: int | None = None) -> Path:
    """The baseline's tokenizer saved into ``folder`` (as a version's head gets it), optionally altered."""
    load_tokenizer(resolve_model_folder("")).save_pretrained(folder)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "id2label": {"0": folder.name}}))
    if model_max_length is not None:
        path = folder / "tokenizer_config.json"
        config = json.loads(path.read_text())
        path.write_text(json.dumps({**config, "model_max_length": model_max_length}))
    return folder


# -- one broken version ------------------------------------------------------------------------------


def test_a_corrupt_version_fails_only_its_project_with_the_reason_and_serves_once_repaired(
    context: BackendContext,
) -> None:
    healthy, broken = make(context, "1"), make(context, "2")
    publish_head(healthy, LABELS, winner=0)
    publish_head(broken, LABELS, winner=1)
    original = corrupt(head_folder(broken))

    with pytest.raises(ModelUnavailable) as error:
        predict_one(broken)
    assert error.value.status == 503
    assert f"project 2, model version {broken.model_version}" in error.value.message
    assert "safetensor" in error.value.message.lower()
    assert predict_one(healthy) == ["sport"]

    (head_folder(broken) / WEIGHTS).write_bytes(original)  # repaired: retried at once, no restart
    assert predict_one(broken) == ["tech"]


def test_a_version_folder_deleted_by_hand_is_unavailable_not_an_empty_prediction(
    context: BackendContext,
) -> None:
    model = make(context, "1")
    version = publish_head(model, LABELS, winner=0)
    shutil.rmtree(model.store.root / version)
    with pytest.raises(ModelUnavailable, match=f"model version {version} is not in the model store"):
        predict_one(model)


def test_before_the_first_training_there_is_nothing_to_load_and_no_error(context: BackendContext) -> None:
    assert predict_one(make(context, "1", zero_shot="off")) == []


def test_a_failed_load_is_retried_after_the_back_off_or_at_once_when_the_folder_changes(
    tmp_path: Path,
) -> None:
    now = [0.0]
    cache = ModelCache(retry_seconds=30.0, clock=lambda: now[0])
    folder = tmp_path / "head"
    folder.mkdir()
    (folder / "weights").write_text("broken")
    attempts = []

    def load():
        attempts.append(now[0])
        raise OSError("truncated file")

    for _ in range(3):
        with pytest.raises(ModelUnavailable, match="OSError: truncated file"):
            cache.get(("key",), folder, load, keep=2)
    assert len(attempts) == 1  # a broken folder is not reloaded on every request
    now[0] = 31.0
    with pytest.raises(ModelUnavailable):
        cache.get(("key",), folder, load, keep=2)
    assert len(attempts) == 2  # ...but after the back-off it is
    (folder / "weights").write_text("replaced, a different size")
    with pytest.raises(ModelUnavailable):
        cache.get(("key",), folder, load, keep=2)
    assert len(attempts) == 3  # ...and at once when its files changed


def test_warm_up_skips_a_project_that_cannot_load_and_loads_the_others(context: BackendContext) -> None:
    healthy, broken = make(context, "1"), make(context, "2")
    publish_head(healthy, LABELS, winner=0)
    publish_head(broken, LABELS, winner=1)
    corrupt(head_folder(broken))
    loader.clear_cache()
    assert warm_cache(context, HFSettings(), SEQUENCE_CLASSIFICATION) == 1
    assert loader.MODELS.folders() == [head_folder(healthy)]


# -- bounded memory --------------------------------------------------------------------------------


def test_versions_with_identical_tokenizer_files_share_one_tokenizer(tmp_path: Path) -> None:
    loader.clear_cache()
    first = save_tokenizer_copy(tmp_path / "v1")
    second = save_tokenizer_copy(tmp_path / "v2")
    altered = save_tokenizer_copy(tmp_path / "v3", model_max_length=77)
    assert load_tokenizer(first) is load_tokenizer(second)
    assert load_tokenizer(altered) is not load_tokenizer(first)
    assert load_tokenizer(altered).model_max_length == 77


def test_the_tokenizer_cache_is_bounded(tmp_path: Path) -> None:
    loader.clear_cache()
    for index in range(loader.TOKENIZER_CACHE_SIZE + 3):
        load_tokenizer(save_tokenizer_copy(tmp_path / f"t{index}", model_max_length=100 + index))
    assert len(loader.TOKENIZERS) == loader.TOKENIZER_CACHE_SIZE


def test_model_cache_size_bounds_the_models_a_process_keeps(context: BackendContext) -> None:
    assert HFSettings.from_env({"MODEL_CACHE_SIZE": "2"}).model_cache_size == 2
    models = [make(context, str(project), model_cache_size=2) for project in range(1, 4)]
    for model in models:
        publish_head(model, LABELS, winner=0)
        predict_one(model)
    assert loader.MODELS.folders() == [head_folder(models[1]), head_folder(models[2])]


def test_a_new_version_frees_the_project_s_previous_one(context: BackendContext) -> None:
    model, other = make(context, "1"), make(context, "2")
    publish_head(other, LABELS, winner=2)
    predict_one(other)
    first = publish_head(model, LABELS, winner=0)
    assert predict_one(model) == ["sport"]
    second = publish_head(model, LABELS, winner=1)
    assert predict_one(model) == ["tech"]
    assert loader.MODELS.folders() == [head_folder(other), head_folder(model, second)]
    assert first != second


def test_inference_loads_through_the_cache_once(context: BackendContext) -> None:
    model = make(context, "1")
    publish_head(model, LABELS, winner=0)
    folder = head_folder(model)
    first = load_for_inference(folder, SEQUENCE_CLASSIFICATION, CPU, torch.float32)
    assert load_for_inference(folder, SEQUENCE_CLASSIFICATION, CPU, torch.float32) is first
