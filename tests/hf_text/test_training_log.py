"""What a training says in the log: progress once per logged step as "epoch k of n", no load report
for the new head it asked for, the score of the version it evaluated, and why a fine-tuned version
it published does not serve.

Real fits of the embedded model on a few dozen short texts (seconds each on a CPU).
"""

from __future__ import annotations

import logging

import pytest
from transformers.utils import logging as hf_logging

from hf_text.runtime.loader import SEQUENCE_CLASSIFICATION, load_for_training, model_class
from hf_text.runtime.resolve import resolve_model_folder
from hf_text.training.trainer import epoch_of
from label_studio_ml.learning.training_run import describe_progress
from tests.classifier.test_fit import annotation, make, mood_tasks


@pytest.fixture
def context(make_context):
    return make_context()


@pytest.fixture
def transformers_records():
    """transformers logs on a handler of its own; let its records reach caplog for the test."""
    hf_logging.enable_propagation()
    yield
    hf_logging.disable_propagation()


def messages(caplog: pytest.LogCaptureFixture, text: str, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level and text in r.getMessage()]


def test_epochs_are_whole_numbers_from_the_step_count_including_a_raised_epoch_count() -> None:
    assert epoch_of(1, steps_per_epoch=4, total_steps=12) == (1, 3)
    assert epoch_of(4, 4, 12) == (1, 3) and epoch_of(5, 4, 12) == (2, 3) and epoch_of(12, 4, 12) == (3, 3)
    # NUM_TRAIN_EPOCHS=3 raised to MIN_TRAIN_STEPS=200 on 3 steps per epoch: 67 passes, said so.
    assert epoch_of(171, 3, 200) == (57, 67)


def test_progress_reads_k_of_n_and_the_rest_by_name() -> None:
    fields = {"head": "mood", "epoch": 2, "epochs": 3, "step": 5, "total_steps": 9, "loss": 0.41}
    assert describe_progress(fields) == "epoch 2 of 3, step 5 of 9, loss 0.41, head=mood"
    assert describe_progress({"step": 3, "loss": 0.5}) == "step 3, loss 0.5"


def test_a_fit_reports_progress_to_its_sink_only_in_whole_epochs_and_logs_no_load_report(
    context, caplog, transformers_records
) -> None:
    model = make(context, num_train_epochs=2.0)  # 30 texts, batches of 8: 4 steps per epoch
    model.labeled_tasks = mood_tasks
    progress: list[dict] = []
    model.progress_sink = progress.append  # the framework's sink logs each line, once (test above)
    with caplog.at_level(logging.INFO):
        model.fit("START_TRAINING", {})

    assert progress and all(p["epochs"] == 2 and p["epoch"] in (1, 2) for p in progress), progress
    assert progress[-1]["epoch"] == 2 and isinstance(progress[-1]["epoch"], int)
    assert messages(caplog, "training progress") == []  # the sink logs it; the trainer did too
    assert messages(caplog, "LOAD REPORT", logging.INFO) == []


def test_only_the_expected_new_head_report_leaves_info(caplog, transformers_records) -> None:
    folder = resolve_model_folder("")
    with caplog.at_level(logging.DEBUG):
        load_for_training(folder, SEQUENCE_CLASSIFICATION, num_labels=3)
    assert messages(caplog, "LOAD REPORT") == []
    assert messages(caplog, "new head initialised as expected", logging.DEBUG)
    caplog.clear()
    with caplog.at_level(logging.INFO):  # any other load still reports, as a warning
        model_class(SEQUENCE_CLASSIFICATION).from_pretrained(str(folder), num_labels=3)
    assert messages(caplog, "LOAD REPORT", logging.WARNING)


def test_a_scored_version_logs_its_score_and_a_published_version_that_does_not_serve_says_why(
    context, caplog
) -> None:
    model = make(context, keep_versions=3)
    tasks = mood_tasks()
    model.labeled_tasks = lambda: tasks
    # An annotation learned at once: the instant head serves from now on.
    body = {"task": tasks[0], "annotation": tasks[0]["annotations"][0], "project": {"id": 5}}
    model.learn_instantly_many([("ANNOTATION_CREATED", body)])
    with caplog.at_level(logging.INFO):
        first = model.fit("START_TRAINING", {})["model_version"]
    [line] = messages(caplog, "is published, but")
    assert f"fine-tuned version {first} is published, but instant-" in line
    assert "no label arrived after a fine-tuned version was trained" in line

    tasks.append({"id": 99, "data": {"text": "Such joy."}, "annotations": [annotation(99, ["happy"])]})
    caplog.clear()
    with caplog.at_level(logging.INFO):
        model.fit("START_TRAINING", {})
    [scored] = messages(caplog, " scored ")
    assert f"{first} scored macro_f1 " in scored and "on 1 example(s) it never saw" in scored
