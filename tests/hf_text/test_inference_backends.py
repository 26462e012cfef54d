"""Inference back ends: the int8 ONNX model is built at publish time, checked against fp32, served
on a CPU when accepted, and decodes exactly like torch; one forward pass at a time per process.

One tiny classifier and one tiny NER head are trained per module (a few seconds each) and shared.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bert_classifier.model import BertClassifier
from hf_text.runtime import backends, inference
from hf_text.runtime.backends import INT8_FILE, ONNX_INT8, TORCH, open_onnx, serving_backend
from hf_text.runtime.head_loading import configure_threads
from hf_text.runtime.loader import LoadedModel
from hf_text.settings import HFSettings
from hf_text.training import quantization
from hf_text.training.onnx_export import export_fp32
from huggingface_ner import HuggingFaceNER
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.classifier.test_fit import CONFIG as MOOD_CONFIG
from tests.classifier.test_fit import mood_tasks
from tests.conftest import load_fixture
from tests.ner.test_model import _task as ner_task
from tests.ner.test_model import js_slice

NER_CONFIG = load_fixture("ner_setup.json")["schema"]
TINY = HFSettings(num_train_epochs=3.0, min_train_steps=0, max_length=64, window_stride=16, batch_size=8,
                  learning_rate=3e-4)  # fmt: skip


#: Tasks nobody labeled, as Label Studio lists them: the int8 check predicts them with both models.
UNLABELED = [{"id": 100 + i, "data": {"text": f"So much {word} today."}}
             for i, word in enumerate(("joy", "tears", "rage", "fun", "grief", "fury"))]  # fmt: skip


def _trained(model_class: type, config: str, tasks: list[dict], folder: Path, **settings: Any) -> Any:
    context = BackendContext.from_settings(Settings(model_dir=folder))
    model = model_class(project_id="3", label_config=config, context=context,
                        hf_settings=replace(TINY, **settings))  # fmt: skip
    model.labeled_tasks = lambda: tasks
    model.unlabeled_tasks = lambda limit: UNLABELED[:limit]
    model.summary = model.fit("START_TRAINING", {})
    return model


def _again(model: Any, **settings: Any) -> Any:
    """The same project as a new instance with other settings (as another server would see it)."""
    return type(model)(project_id="3", label_config=model.label_config, context=model.context,
                       hf_settings=replace(model.hf_settings, **settings))  # fmt: skip


def _ner_tasks() -> list[dict]:
    names = ["Angela Merkel", "Barack Obama", "Marie Curie", "Satya Nadella", "Ada Lovelace", "Alan Turing"]
    places = ["Berlin", "Paris", "Warsaw", "Seattle", "London", "Manchester"]
    return [
        ner_task(i, f"🎉 {p} said {c} is lovely.", (p, "PER"), (c, "LOC"))
        for i, (p, c) in enumerate(zip(names, places, strict=True))
    ]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> BertClassifier:
    return _trained(BertClassifier, MOOD_CONFIG, mood_tasks(), tmp_path_factory.mktemp("clf"))


@pytest.fixture(scope="module")
def ner(tmp_path_factory: pytest.TempPathFactory) -> HuggingFaceNER:
    return _trained(
        HuggingFaceNER, NER_CONFIG, _ner_tasks(), tmp_path_factory.mktemp("ner"), num_train_epochs=8.0
    )


def _head_folder(model: Any) -> Path:
    return model.store.root / model.model_version / model.trained_meta()["heads"][0]["dir"]


def _served_backend(model: Any) -> str:
    serving = model.serving_heads(model.model_version)[0]
    return model.load_serving(serving, model.model_version).backend


def test_publishing_builds_the_int8_model_into_the_version_and_records_the_check(classifier) -> None:
    assert (_head_folder(classifier) / INT8_FILE).is_file()
    record = classifier.trained_meta()["heads"][0]["quantization"]
    assert record["serves"] == ONNX_INT8 and record["metric"] == "macro_f1"
    assert record["examples"] == len(mood_tasks())
    assert record["fp32"] - record["int8"] <= quantization.TOLERANCE
    # What fit returns is what /metrics shows: both scores are there.
    assert classifier.summary["quantization"]["fp32"] == record["fp32"]
    assert classifier.summary["quantization"]["int8"] == record["int8"]
    # And on the project's unlabeled texts, which no version trained on: how many decisions int8 changed.
    assert record["unlabeled"]["texts"] == len(UNLABELED)
    assert 0.0 <= record["unlabeled"]["decisions_changed"] <= 1.0
    assert classifier.summary["quantization"]["unlabeled"] == record["unlabeled"]


def test_auto_serves_int8_on_a_cpu_torch_serves_fp32_with_the_same_choices(classifier) -> None:
    texts = [f"So much {word} today." for word in ("joy", "tears", "rage", "fun", "grief", "fury")]
    tasks = [{"id": i, "data": {"text": text}} for i, text in enumerate(texts)]
    answers = {}
    for setting in ("auto", "torch"):
        model = _again(classifier, inference_backend=setting)
        answers[_served_backend(model)] = model.predict(tasks).serialize()
    assert set(answers) == {ONNX_INT8, TORCH}
    for int8, fp32 in zip(answers[ONNX_INT8], answers[TORCH], strict=True):
        assert [r["value"] for r in int8["result"]] == [r["value"] for r in fp32["result"]]
        assert int8["score"] == pytest.approx(fp32["score"], abs=0.03)


def test_an_int8_prediction_does_not_depend_on_the_tasks_asked_beside_it(ner) -> None:
    # Dynamic quantization scales activations by their tensor's range: batched, a sentence's
    # logits would move with a longer neighbour and its padding.
    model = _again(ner, inference_backend="onnx")
    serving = model.serving_heads(model.model_version)[0]
    loaded = model.load_serving(serving, model.model_version)
    assert loaded.backend == ONNX_INT8
    short = "Paris said Alan Turing is lovely."
    long = " ".join(["Ada Lovelace met Satya Nadella in Seattle and Warsaw."] * 4)
    spec = model.task.window_spec(serving.head, loaded)
    windows = [piece.window for text in spec.split(loaded.tokenizer, [short, long]) for piece in text.windows]
    alone = inference.window_logits(loaded, windows[:1], 10_000)
    together = inference.window_logits(loaded, windows, 10_000)  # one padded batch
    assert len(windows) > 1 and len(windows[0]) < max(len(window) for window in windows)
    assert np.array_equal(alone[0], together[0])


def test_a_rejected_int8_model_serves_only_when_onnx_is_forced(classifier, tmp_path) -> None:
    head = {**classifier.trained_meta()["heads"][0], "quantization": {"serves": TORCH}}
    folder = _head_folder(classifier)
    cpu = torch.device("cpu")
    assert serving_backend("auto", cpu, head, folder) == TORCH
    assert serving_backend("onnx", cpu, head, folder) == ONNX_INT8
    assert serving_backend("torch", cpu, classifier.trained_meta()["heads"][0], folder) == TORCH
    # No artifact (a baseline, a version published with INFERENCE_BACKEND=torch): torch.
    assert serving_backend("onnx", cpu, head, tmp_path) == TORCH
    assert (
        serving_backend("auto", torch.device("cuda"), classifier.trained_meta()["heads"][0], folder) == TORCH
    )


def test_the_check_rejects_int8_losing_more_than_a_point_here_or_held_out() -> None:
    assert quantization.decide(0.90, 0.895, None)[0] == ONNX_INT8
    assert quantization.decide(0.90, 0.885, None)[0] == TORCH
    assert quantization.decide(0.90, 0.90, 0.02)[0] == TORCH
    assert quantization.decide(None, None, None)[0] == TORCH


def _choices(*labels: str) -> tuple[list[dict], float]:
    return [{"value": {"choices": [label]}} for label in labels], 0.9


def _regions(*spans: tuple[int, int, str]) -> tuple[list[dict], float]:
    return [{"value": {"start": a, "end": b, "labels": [tag]}, "score": 0.5} for a, b, tag in spans], 0.5


def test_comparing_on_unlabeled_texts_never_costs_a_version_its_int8_model(classifier, tmp_path) -> None:
    class Failing:
        """The classifier, except that predicting the unlabeled texts fails."""

        TASK_KIND, HEADLINE_METRIC = classifier.task.TASK_KIND, classifier.task.HEADLINE_METRIC
        evaluate = classifier.task.evaluate

        def predict_texts(self, *args):
            raise RuntimeError("cannot predict")

    serving = classifier.serving_heads(classifier.model_version)[0]
    folder = Path(shutil.copytree(_head_folder(classifier), tmp_path / "head"))
    examples = classifier.collect_examples(mood_tasks(), serving.control)
    record = quantization.publish_int8(Failing(), classifier.hf_settings, serving.control, serving.head,
                                       folder, examples, unlabeled=["So much joy today."])  # fmt: skip
    assert record["serves"] == ONNX_INT8 and (folder / INT8_FILE).is_file()
    assert record["unlabeled"] == {"texts": 1, "decisions_changed": None, "error": "RuntimeError"}


def test_changed_decisions_is_the_share_of_decisions_that_differ() -> None:
    fp32 = [_choices("joy"), _choices("joy"), _choices("rage"), _choices("fun")]
    int8 = [_choices("joy"), _choices("rage"), _choices("rage"), _choices("fun")]
    assert quantization.changed_decisions(fp32, int8) == 0.25  # one text of four changed its label
    # Regions: one of three moved, one unchanged; scores never count, only the decisions.
    fp32 = [_regions((0, 5, "PER"), (10, 15, "LOC")), _regions(), _regions((3, 8, "ORG"))]
    int8 = [_regions((0, 5, "PER"), (10, 16, "LOC")), _regions(), _regions((3, 8, "ORG"))]
    assert quantization.changed_decisions(fp32, int8) == pytest.approx(2 / 6)
    assert quantization.changed_decisions([_regions()], [_regions()]) is None
    held_out = {"examples": 150, "metrics": {"f1": 0.80}, "int8_metrics": {"f1": 0.78}}
    assert quantization.held_out_loss(held_out, "f1") == pytest.approx(0.02)
    assert quantization.held_out_loss({**held_out, "examples": 20}, "f1") is None  # too few to tell


def test_inference_backend_torch_builds_no_int8_model(tmp_path) -> None:
    model = _trained(BertClassifier, MOOD_CONFIG, mood_tasks()[:6], tmp_path, inference_backend="torch")
    assert not (_head_folder(model) / INT8_FILE).exists()
    assert model.trained_meta()["heads"][0]["quantization"]["serves"] == TORCH
    assert _served_backend(model) == TORCH


def test_ner_regions_and_utf16_offsets_are_identical_on_every_back_end(ner, tmp_path) -> None:
    long_text = " ".join(["Angela Merkel visited Berlin."] * 30)  # several 64-token windows
    texts = ["👩‍👩‍👧 Marie Curie loves Warsaw.", "🎉 Alan Turing said London is lovely.", long_text,
             "nothing here", "Ünïcödé Ada Lovelace in Paris 😀"]  # fmt: skip
    serving = ner.serving_heads(ner.model_version)[0]
    folder = _head_folder(ner)
    fp32_onnx = open_onnx(export_fp32(folder, ner.TASK_KIND, tmp_path / "fp32.onnx"), 2, backend="onnx-fp32")
    torch_model = _again(ner, inference_backend="torch").load_serving(serving, ner.model_version)
    int8_model = _again(ner, inference_backend="auto").load_serving(serving, ner.model_version)
    assert (torch_model.backend, int8_model.backend) == (TORCH, ONNX_INT8)
    onnx_model = replace(torch_model, runner=fp32_onnx)
    outputs = {m.backend: ner.task.predict_texts(m, texts, serving.control, serving.head)
               for m in (torch_model, onnx_model, int8_model)}  # fmt: skip
    assert any(items for items, _ in outputs[TORCH]), "the tiny model found no entity at all"
    regions = {name: [[r["value"] for r in items] for items, _ in out] for name, out in outputs.items()}
    # Same logits (fp32 ONNX): exactly the same regions; int8 on these clear cases: the same too.
    assert regions["onnx-fp32"] == regions[TORCH]
    assert regions[ONNX_INT8] == regions[TORCH]
    for text, values in zip(texts, regions[ONNX_INT8], strict=True):
        for value in values:
            assert js_slice(text, value["start"], value["end"]) == value["text"]


class CountingRunner:
    """A runner that records how many forward passes run at once, slowed so overlaps would show."""

    def __init__(self, inner) -> None:
        self.inner, self.backend, self.device = inner, inner.backend, inner.device
        self.running = self.most = 0
        self.guard = threading.Lock()

    def __call__(self, features):
        with self.guard:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.guard:
            self.running -= 1
        return self.inner(features)


def test_one_forward_pass_runs_at_a_time_in_a_process(classifier) -> None:
    serving = classifier.serving_heads(classifier.model_version)[0]
    loaded = classifier.load_serving(serving, classifier.model_version)
    runner = CountingRunner(loaded.runner)
    counting = replace(loaded, runner=runner)
    results: list = []
    threads = [
        threading.Thread(target=lambda w=windows: results.append(inference.window_logits(counting, w, 64)))
        for windows in [inference_windows(loaded) for _ in range(6)]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and runner.most == 1


def inference_windows(loaded: LoadedModel) -> list:
    from hf_text.text.windows import split_windows

    return split_windows(loaded.tokenizer, ["So much joy today.", "tears " * 40], 32, 8)


def test_thread_counts_follow_inference_threads(classifier) -> None:
    before = torch.get_num_threads()
    try:
        assert configure_threads(HFSettings(inference_threads=1)) == 1
        assert torch.get_num_threads() == 1
        assert configure_threads(HFSettings()) == backends.cpu_cores()
    finally:
        torch.set_num_threads(before)
    session = open_onnx(_head_folder(classifier) / INT8_FILE, 1).session
    assert session.get_session_options().intra_op_num_threads == 1
