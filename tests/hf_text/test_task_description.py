"""The shared machinery works from a task description (``hf_text.task``), never from the model.

Both backends' task descriptions provide everything ``TextTask`` names; the one per-control
predict loop (``predict_per_control``, used by fine-tuned, light and instant predictions) asks a
control only about the tasks that have a text for it; instant learning reads targets through the
task it is given.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bert_classifier.task import ChoicesTask
from hf_text.data.controls import ControlSpec
from hf_text.instant.learning import InstantLearner
from hf_text.runtime.serving import predict_per_control
from hf_text.settings import HFSettings
from hf_text.task import TextTask
from huggingface_ner.task import SpansTask


def control(name: str) -> ControlSpec:
    return ControlSpec(from_name=name, to_name="text", value_key=name, value_type=None, labels=("a", "b"))


@pytest.mark.parametrize("kind", [ChoicesTask, SpansTask])
def test_each_task_kind_provides_what_the_shared_machinery_asks_for(kind: type) -> None:
    members = [name for name in vars(TextTask) if not name.startswith("_")] + list(TextTask.__annotations__)
    task = kind(HFSettings())
    missing = [name for name in members if not hasattr(task, name)]
    assert not missing
    assert task.TASK_KIND and task.HEADLINE_METRIC


def test_one_loop_asks_each_control_only_about_the_tasks_with_its_text() -> None:
    tasks = [{"data": {"a": "one", "b": "uno"}}, {"data": {"a": "", "b": "dos"}}, {"data": {"a": "three"}}]
    asked: dict[str, list[str]] = {}

    def text_of(task: dict[str, Any], spec: ControlSpec) -> str | None:
        return task["data"].get(spec.value_key) or None

    def predict(spec: ControlSpec, texts: list[str]) -> list[tuple[list[dict], float]] | None:
        asked[spec.from_name] = texts
        if spec.from_name == "c":
            return None  # nothing answers for this control: its tasks get nothing from it
        return [([{"from_name": spec.from_name, "text": text}], 0.5 if spec.from_name == "a" else 1.0)
                for text in texts]  # fmt: skip

    gathered = predict_per_control(tasks, [control("a"), control("b"), control("c")], text_of, predict)
    served = gathered.serialize("v1")

    assert asked == {"a": ["one", "three"], "b": ["uno", "dos"]}  # "c": no task has its text, never asked
    texts = [[item["text"] for item in task["result"]] for task in served]
    assert texts == [["one", "uno"], ["dos"], ["three"]]
    assert [task["score"] for task in served] == [0.75, 1.0, 0.5]


def test_instant_learning_reads_targets_through_the_task_it_is_given(tmp_path) -> None:
    spec = control("topic")
    project = SimpleNamespace(
        project_id="7", context=SimpleNamespace(data_dir=tmp_path), labeled_tasks_source="label_studio",
        controls=lambda: [spec], task_text=lambda task, _: task["data"]["text"], labeled_tasks=lambda: [],
    )  # fmt: skip
    task = SimpleNamespace(
        results_of=lambda annotation, spec: annotation["result"],
        target_from_results=lambda results, text, _: (text.upper(), len(results)),
    )
    learner = InstantLearner(project, task, layer=None)  # type: ignore[arg-type]
    annotation = {"id": 3, "result": [{"from_name": "topic", "to_name": "text", "value": {}}]}

    labeled = learner.labeled({"id": 1, "data": {"text": "hi"}}, annotation, spec)

    assert labeled is not None and labeled.target == ("HI", 1) and labeled.annotation_id == 3
