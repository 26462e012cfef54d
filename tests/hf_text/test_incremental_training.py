"""Trainings whose cost follows what changed: warm starts through the real ``fit``, and the training
device pinned to ``DEVICE`` (checked on the CPU: no GPU here, so CUDA is simulated)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pytest
import torch
import transformers

from bert_classifier.model import BertClassifier
from hf_text.data.trained_on import read_record
from hf_text.settings import HFSettings
from hf_text.training import training_device
from hf_text.training.trainer import _arguments, training_epochs
from hf_text.training.training_device import pinned_arguments
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.classifier.test_fit import CONFIG, WORDS, annotation

SETTINGS = HFSettings(num_train_epochs=1.0, min_train_steps=0, max_length=32, window_stride=8, batch_size=8,
                      learning_rate=1e-4, full_retrain_every=10)  # fmt: skip


def tasks(count_per_label: int, offset: int = 0) -> list[dict]:
    made = []
    for label, words in WORDS.items():
        for i in range(count_per_label):
            ident = len(made) + offset
            text = f"Day {ident}: so much {words[i % len(words)]}."
            made.append({"id": ident, "data": {"text": text}, "annotations": [annotation(ident, [label])]})
    return made


def project(tmp_path: Path, labeled: list[dict], **settings) -> BertClassifier:
    context = BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))
    hf = HFSettings(**{**SETTINGS.__dict__, **settings})
    model = BertClassifier(project_id="4", label_config=CONFIG, context=context, hf_settings=hf)
    model.labeled_tasks = lambda: labeled
    return model


def head(model: BertClassifier) -> dict:
    return model.trained_meta()["heads"][0]


def test_new_annotations_warm_start_from_the_served_version(tmp_path) -> None:
    old, new = tasks(20), tasks(2, offset=100)
    model = project(tmp_path, old)
    first = model.fit("START_TRAINING", {})
    assert first["training"]["mode"] == "full"
    model.labeled_tasks = lambda: old + new
    summary = model.fit("ANNOTATION_CREATED", {})
    training = summary["training"]
    assert training["mode"] == "incremental" and training["warm_start_from"] == first["model_version"]
    assert (training["new_examples"], training["replay_examples"]) == (6, 32)
    assert training["trained_examples"] == 38 and summary["steps"] < first["steps"] + 4
    assert training["runs_since_full"] == 1
    assert training["learning_rate"] == pytest.approx(5e-6)  # WARM_LEARNING_RATE_FACTOR of 1e-4
    assert first["training"]["learning_rate"] == 1e-4
    # The head has learned every current example: the next forward evaluation must know that.
    folder = model.store.root / model.model_version / head(model)["dir"]
    assert len(read_record(folder)) == 66 and summary["train_size"] == 66
    # The served version was scored on the 6 new examples with both back ends.
    assert summary["evaluation"]["examples"] == 6 and "macro_f1" in summary["evaluation"]["int8_metrics"]


def test_start_training_and_changed_labels_retrain_from_the_base_model(tmp_path) -> None:
    model = project(tmp_path, tasks(10))
    model.fit("ANNOTATION_CREATED", {})
    model.labeled_tasks = lambda: tasks(10) + tasks(1, offset=50)
    assert model.fit("START_TRAINING", {})["training"]["mode"] == "full"
    model.labeled_tasks = lambda: tasks(10) + tasks(2, offset=50)
    renamed = CONFIG.replace('<Choice value="angry"/>', '<Choice value="angry"/><Choice value="calm"/>')
    relabeled = BertClassifier(project_id="4", label_config=renamed, context=model.context,
                               hf_settings=model.hf_settings)  # fmt: skip
    relabeled.labeled_tasks = model.labeled_tasks
    summary = relabeled.fit("ANNOTATION_CREATED", {})
    assert summary["training"]["mode"] == "full" and "labels changed" in summary["training"]["reason"]


def test_by_default_four_trainings_warm_start_and_the_fifth_re_trains_from_the_base_model(tmp_path) -> None:
    default = HFSettings.from_env({}).full_retrain_every
    labeled = tasks(20)
    model = project(tmp_path, labeled, full_retrain_every=default)
    modes = [model.fit("START_TRAINING", {})["training"]["mode"]]
    for batch in range(5):
        labeled = labeled + tasks(1, offset=100 + 10 * batch)
        model.labeled_tasks = lambda labeled=labeled: labeled
        modes.append(model.fit("ANNOTATION_CREATED", {})["training"]["mode"])
    assert modes == ["full", "incremental", "incremental", "incremental", "incremental", "full"]


def test_full_retrain_every_one_turns_warm_starts_off(tmp_path) -> None:
    model = project(tmp_path, tasks(5), full_retrain_every=1)
    model.fit("ANNOTATION_CREATED", {})
    model.labeled_tasks = lambda: tasks(5) + tasks(1, offset=50)
    assert model.fit("ANNOTATION_CREATED", {})["training"]["mode"] == "full"


def test_a_warm_start_trains_its_epochs_without_the_minimum_step_count() -> None:
    settings = HFSettings(num_train_epochs=3.0, min_train_steps=60, batch_size=16)
    assert training_epochs(settings, 32) == 30.0  # a fresh head: 60 steps of 2 batches
    assert training_epochs(settings, 32, warm=True) == 3.0


def test_a_warm_start_trains_at_a_constant_fraction_of_the_learning_rate(tmp_path) -> None:
    settings = HFSettings(warm_learning_rate_factor=0.1)
    cpu = torch.device("cpu")
    warm = _arguments(settings, 3e-4, cpu, tmp_path, 100, warm=True)
    assert warm.learning_rate == pytest.approx(3e-5) and warm.lr_scheduler_type == "constant"
    assert not warm.warmup_steps  # no warm-up: the head is trained already
    full = _arguments(settings, 3e-4, cpu, tmp_path, 100, warm=False)
    assert full.learning_rate == 3e-4 and full.lr_scheduler_type == "linear"


@pytest.fixture
def two_gpus(monkeypatch):
    """transformers' own device setup as it behaves with two GPUs: cuda:0 and DataParallel."""
    current = []

    def stock(self):
        self._n_gpu = 2
        return torch.device("cuda:0")

    monkeypatch.setattr(transformers.TrainingArguments, "_setup_devices", cached_property(stock))
    monkeypatch.setattr(torch.cuda, "set_device", current.append)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    return current


@pytest.mark.parametrize(("setting", "index"), [("cuda:1", 1), ("cuda", 0)])
def test_training_arguments_use_the_configured_gpu_alone(two_gpus, tmp_path, setting, index) -> None:
    arguments = pinned_arguments(torch.device(setting))(output_dir=str(tmp_path), report_to="none")
    assert arguments.device == torch.device("cuda", index)
    assert arguments.n_gpu == 1  # no DataParallel over both GPUs
    assert two_gpus == [index]


def test_cpu_training_keeps_the_stock_arguments() -> None:
    assert pinned_arguments(torch.device("cpu")) is transformers.TrainingArguments
    assert training_device.pinned_arguments(torch.device("mps")) is transformers.TrainingArguments
