"""Every labeled example trains the served model; metrics come from a version that never saw them.

Real fits of the embedded model on a few dozen short texts (seconds each on a CPU); Label Studio
is replaced only by the instance's ``labeled_tasks``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from hf_text.data.controls import Example
from hf_text.data.trained_on import RECORD_FILE, example_key, read_record
from tests.classifier.test_fit import MULTI, WORDS, annotation, make, mood_tasks
from tests.ner.test_model import _task
from tests.ner.test_model import make_model as make_ner


@pytest.fixture
def context(make_context):
    return make_context()


def task(ident: int, text: str, label: str, updated: str = "2026-01-01T00:00:00Z") -> dict:
    return {"id": ident, "data": {"text": text}, "annotations": [annotation(ident, [label], updated)]}


def spy_on_evaluation(model, monkeypatch) -> list[list[str]]:
    """The texts each forward evaluation (``model.task.evaluate`` of a served version) scored, call by call.

    Publishing a version also scores its ONNX fp32 and int8 models on training examples
    (``hf_text.training.quantization``); those calls are the int8 check, not a forward evaluation.
    """
    calls: list[list[str]] = []
    real = model.task.evaluate

    def evaluate(loaded, examples, control, head):
        if not loaded.backend.startswith("onnx"):
            calls.append([example.text for example in examples])
        return real(loaded, examples, control, head)

    monkeypatch.setattr(model.task, "evaluate", evaluate)
    return calls


def head_record(model, version: str) -> frozenset[str]:
    head = model.store.meta(version)["heads"][0]
    record = read_record(model.store.root / version / head["dir"])
    assert record is not None
    return record


def test_the_published_version_learns_from_every_labeled_example(context, monkeypatch) -> None:
    model = make(context)
    model.labeled_tasks = mood_tasks  # 30 distinct texts, 10 per label
    calls = spy_on_evaluation(model, monkeypatch)

    summary = model.fit("START_TRAINING", {})

    assert summary["train_size"] == 30 and "validation_size" not in summary
    assert model.store.meta(summary["model_version"])["train_size"] == 30
    control = model.controls()[0]
    assert head_record(model, summary["model_version"]) == {
        example_key(example) for example in model.collect_examples(mood_tasks(), control)
    }
    # Nothing was held out, so nothing could be scored honestly yet: no evaluation ran, and the
    # summary says why instead of showing numbers.
    assert calls == []
    assert summary["evaluation"]["model_version"] is None and summary["evaluation"]["examples"] == 0
    assert "no trained version" in summary["evaluation"]["reason"]


def test_the_next_fit_scores_the_served_version_on_exactly_the_examples_it_never_saw(
    context, monkeypatch
) -> None:
    model = make(context, keep_versions=3)
    first_tasks = mood_tasks()
    model.labeled_tasks = lambda: first_tasks
    first = model.fit("START_TRAINING", {})["model_version"]

    relabeled = dict(first_tasks[0], annotations=[annotation(0, ["angry"], "2026-03-01T00:00:00Z")])
    new = [task(100 + i, f"Nothing but {word} here.", "sad", f"2026-02-0{i + 1}T00:00:00Z")
           for i, word in enumerate(WORDS["sad"][:4])]  # fmt: skip
    second_tasks = [relabeled, *first_tasks[1:], *new]
    model.labeled_tasks = lambda: second_tasks
    calls = spy_on_evaluation(model, monkeypatch)

    summary = model.fit("ANNOTATION_CREATED", {})

    evaluation = summary["evaluation"]
    assert evaluation["model_version"] == first != summary["model_version"]
    assert evaluation["trained_on"] == 30 and evaluation["examples"] == evaluation["unseen"] == 5
    assert first in evaluation["selection"]
    assert sorted(calls[0]) == sorted([first_tasks[0]["data"]["text"], *[t["data"]["text"] for t in new]])
    assert evaluation["metrics"]["evaluated"] == 5
    assert set(evaluation["metrics"]["per_label_f1"]) == set(WORDS)
    assert summary["train_size"] == 34  # 30 texts, one relabeled, plus 4 new
    meta = model.store.meta(summary["model_version"])
    assert meta["heads"][0]["evaluation"] == evaluation

    # Nothing changed since: no version can be scored on anything new, so the latest honest
    # evaluation (of the first version, and saying so) is what the next fit reports.
    third = model.fit("START_TRAINING", {})
    assert len(calls) == 1
    assert third["evaluation"] == evaluation
    assert third["model_version"] not in (first, summary["model_version"])


def test_the_forward_evaluation_takes_the_most_recent_examples_up_to_its_limit(context, monkeypatch) -> None:
    model = make(context, evaluation_max_examples=2)
    model.labeled_tasks = lambda: mood_tasks()[:12]
    first = model.fit("START_TRAINING", {})["model_version"]
    later = [task(50 + i, f"Plenty of {word}.", "angry", f"2026-0{i + 2}-01T00:00:00Z")
             for i, word in enumerate(WORDS["angry"][:4])]  # fmt: skip
    model.labeled_tasks = lambda: mood_tasks()[:12] + later
    calls = spy_on_evaluation(model, monkeypatch)

    evaluation = model.fit("START_TRAINING", {})["evaluation"]

    assert (evaluation["model_version"], evaluation["examples"], evaluation["unseen"]) == (first, 2, 4)
    assert sorted(calls[0]) == sorted(t["data"]["text"] for t in later[-2:])  # the two newest


def test_a_version_without_a_record_of_its_examples_is_not_scored_on_guesses(context, monkeypatch) -> None:
    model = make(context)
    model.labeled_tasks = mood_tasks
    first = model.fit("START_TRAINING", {})["model_version"]
    head = model.store.meta(first)["heads"][0]
    (model.store.root / first / head["dir"] / RECORD_FILE).unlink()  # as a version trained before records
    calls = spy_on_evaluation(model, monkeypatch)

    evaluation = model.fit("START_TRAINING", {})["evaluation"]

    assert calls == [] and evaluation["model_version"] == first and evaluation["examples"] == 0
    assert "no record" in evaluation["reason"]


def test_a_served_version_that_cannot_be_loaded_does_not_stop_the_next_training(context) -> None:
    model = make(context)
    model.labeled_tasks = lambda: mood_tasks()[:20]
    first = model.fit("START_TRAINING", {})["model_version"]
    head = model.store.meta(first)["heads"][0]
    for weights in (model.store.root / first / head["dir"]).glob("*.safetensors"):
        weights.write_bytes(b"not weights")
    model.labeled_tasks = mood_tasks

    summary = model.fit("START_TRAINING", {})

    assert summary["model_version"] != first and summary["train_size"] == 30
    evaluation = summary["evaluation"]
    assert evaluation["model_version"] == first and "could not be loaded" in evaluation["reason"]


def test_a_served_head_that_no_longer_fits_the_config_is_not_scored(context, monkeypatch) -> None:
    single = make(context)
    single.labeled_tasks = mood_tasks
    first = single.fit("START_TRAINING", {})["model_version"]
    multi = make(context, config=MULTI)  # same project, now choice="multiple"
    multi.labeled_tasks = mood_tasks
    calls = spy_on_evaluation(multi, monkeypatch)

    evaluation = multi.fit("START_TRAINING", {})["evaluation"]

    assert calls == [] and evaluation["model_version"] == first and "no head" in evaluation["reason"]


def test_every_labeled_task_that_trains_nothing_is_counted_by_reason(context) -> None:
    model = make(context)
    tasks = [
        *mood_tasks(),
        {"id": 90, "data": {"text": "skipped"}, "annotations": [annotation(90, ["sad"], was_cancelled=True)]},
        {"id": 91, "data": {"text": "removed label"}, "annotations": [annotation(91, ["bored"])]},
        {"id": 92, "data": {"text": "   "}, "annotations": [annotation(92, ["sad"])]},
        {"id": 93, "data": {"other_key": "no text"}, "annotations": [annotation(93, ["sad"])]},
        {"id": 94, "data": {"text": "So much joy today."}, "annotations": [annotation(94, ["happy"])]},
    ]
    model.labeled_tasks = lambda: tasks

    summary = model.fit("START_TRAINING", {})

    counts = {"no_usable_annotation": 2, "unreadable_text": 2, "duplicate_text": 1}
    assert summary["skipped_tasks"] == counts
    assert summary["train_size"] + sum(counts.values()) == len(tasks)
    assert summary["heads"]["mood"]["skipped_tasks"] == counts
    assert model.store.meta(summary["model_version"])["heads"][0]["skipped_tasks"] == counts


def test_a_fit_that_trains_nothing_still_says_what_it_skipped(context) -> None:
    model = make(context)
    model.labeled_tasks = lambda: [
        {"id": 1, "data": {"text": "t"}, "annotations": [annotation(1, ["nope"])]},
        {"id": 2, "data": {}, "annotations": [annotation(2, ["sad"])]},
    ]
    result = model.fit("START_TRAINING", {})
    assert result["skipped_tasks"]["mood"] == {
        "no_usable_annotation": 1, "unreadable_text": 1, "duplicate_text": 0
    }  # fmt: skip


def test_ner_scores_the_served_version_on_new_sentences_with_entity_metrics(make_context, monkeypatch):
    people = [("Anna", "Paris"), ("Marek", "Berlin"), ("Jo", "Oslo"), ("Li", "Rome")]
    sentences = [
        _task(i, f"{name} visited {city} today.", (name, "PER"), (city, "LOC"))
        for i, (name, city) in enumerate(people)
    ]
    model = make_ner(make_context)
    monkeypatch.setattr(model, "labeled_tasks", lambda: sentences[:3])
    first = model.fit("START_TRAINING", {})["model_version"]
    assert model.fit("START_TRAINING", {})["evaluation"]["examples"] == 0  # nothing new yet
    monkeypatch.setattr(model, "labeled_tasks", lambda: sentences)

    summary = model.fit("START_TRAINING", {})

    evaluation = summary["evaluation"]
    assert evaluation["examples"] == 1 and evaluation["metrics"]["evaluated"] == 1
    assert evaluation["model_version"] != first  # the version served just before, not the first
    assert {"precision", "recall", "f1"} <= set(evaluation["metrics"]) and summary["train_size"] == 4


def test_an_example_key_is_its_text_and_target_whatever_the_order_of_a_label_set() -> None:
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    one = Example("t", frozenset({"a", "b"}), when)
    same = Example("t", frozenset({"b", "a"}), when, task_id=9)
    relabeled = Example("t", frozenset({"a"}), when)
    assert example_key(one) == example_key(same) != example_key(relabeled)
    assert example_key(one) != example_key(Example("u", frozenset({"a", "b"}), when))


def test_a_folder_without_a_record_reads_as_none(tmp_path: Path) -> None:
    assert read_record(tmp_path) is None
