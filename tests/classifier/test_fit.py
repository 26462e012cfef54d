"""BertClassifier.fit through the real code path on tiny data: versions, metadata, failures.

Each real fit here trains the embedded model for one epoch on a few dozen short texts
(a few seconds on a CPU); Label Studio is replaced only by the instance's ``labeled_tasks``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="mood" toName="text">'
    '<Choice value="happy"/><Choice value="sad"/><Choice value="angry"/></Choices>'
    '<Choices name="other" toName="text"><Choice value="x"/></Choices></View>'
)
MULTI = CONFIG.replace('name="mood" toName="text"', 'name="mood" toName="text" choice="multiple"')
WORDS = {
    "happy": ["joy", "delight", "smile", "sunshine", "laughter", "glad", "cheer", "bliss", "grin", "fun"],
    "sad": ["tears", "grief", "sorrow", "gloom", "lonely", "loss", "cry", "misery", "blue", "mourning"],
    "angry": ["rage", "fury", "shout", "outrage", "furious", "hate", "wrath", "annoyed", "mad", "irate"],
}


def annotation(ident: int, choices: list[str], updated: str = "2026-01-01T00:00:00Z", **extra) -> dict:
    result = [{"from_name": "mood", "to_name": "text", "type": "choices", "value": {"choices": choices}}]
    return {"id": ident, "result": result, "updated_at": updated, **extra}


def mood_tasks() -> list[dict]:
    tasks = []
    for label, words in WORDS.items():
        for word in words:
            tasks.append(
                {
                    "id": len(tasks),
                    "data": {"text": f"So much {word} today."},
                    "annotations": [annotation(len(tasks), [label])],
                }
            )
    return tasks


@pytest.fixture
def context(tmp_path: Path) -> BackendContext:
    return BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))


def make(context: BackendContext, config: str = CONFIG, **overrides) -> BertClassifier:
    settings = {
        "num_train_epochs": 1.0,
        "min_train_steps": 0,  # one epoch of a handful of texts: these tests check plumbing, not learning
        "max_length": 32,
        "window_stride": 8,
        "batch_size": 8,
        "keep_versions": 1,
        "learning_rate": 1e-4,
        "prediction_min_score": 0.0,  # a one-epoch model is unsure: its answers are what is checked
        **overrides,
    }
    return BertClassifier(
        project_id="5", label_config=config, context=context, hf_settings=HFSettings(**settings)
    )


def test_examples_use_the_chosen_annotation_and_distinct_texts(context) -> None:
    model = make(context)
    tasks = [
        {
            "id": 1,
            "data": {"text": "same text"},
            "annotations": [annotation(1, ["happy"], "2026-01-01T12:00:00Z")],
        },
        {
            "id": 2,
            "data": {"text": "same text"},
            "annotations": [annotation(2, ["sad"], "2026-02-01T12:00:00Z")],
        },
        {
            "id": 3,
            "data": {"text": "truth"},
            "annotations": [
                annotation(3, ["angry"], "2026-01-01T00:00:00Z", ground_truth=True),
                annotation(4, ["happy"], "2026-05-01T00:00:00Z"),
            ],
        },
        {"id": 5, "data": {"text": "skipped"}, "annotations": [annotation(5, ["sad"], was_cancelled=True)]},
        {"id": 6, "data": {"text": "removed label"}, "annotations": [annotation(6, ["bored"])]},
        {"id": 7, "data": {"text": ""}, "annotations": [annotation(7, ["sad"])]},
        {"id": 8, "data": {"other_key": "no text"}, "annotations": [annotation(8, ["sad"])]},
    ]
    control = model.controls()[0]
    examples = {example.text: example.target for example in model.collect_examples(tasks, control)}
    assert examples == {"same text": frozenset({"sad"}), "truth": frozenset({"angry"})}


def test_single_choice_rows_carry_a_class_index_and_multi_choice_a_multi_hot_vector(context) -> None:
    from hf_text.runtime.loader import load_tokenizer
    from hf_text.runtime.resolve import resolve_model_folder

    tokenizer = load_tokenizer(resolve_model_folder(""))
    for config, expected in ((CONFIG, 2), (MULTI, [1.0, 0.0, 1.0])):
        model = make(context, config)
        control = model.controls()[0]
        tasks = [
            {"id": 1, "data": {"text": "word " * 60}, "annotations": [annotation(1, ["angry", "happy"])]}
        ]
        if not control.multiple:
            tasks[0]["annotations"] = [annotation(1, ["angry"])]
        rows = model.task.training_rows(
            tokenizer, model.collect_examples(tasks, control), control, list(control.labels), 32
        )
        assert len(rows) > 1  # a long text trains on all of its windows
        assert all(row["labels"] == expected for row in rows)


def test_a_multi_choice_annotation_that_ticks_nothing_teaches_that_no_label_applies(context) -> None:
    from hf_text.runtime.loader import load_tokenizer
    from hf_text.runtime.resolve import resolve_model_folder

    nothing = {"id": 1, "result": [], "updated_at": "2026-01-01T00:00:00Z"}
    tasks = [
        {"id": 1, "data": {"text": "a plain weather report"}, "annotations": [nothing]},
        {"id": 2, "data": {"text": "only a removed label"}, "annotations": [annotation(2, ["bored"])]},
        {"id": 3, "data": {"text": "joy"}, "annotations": [annotation(3, ["happy"])]},
    ]
    multi = make(context, MULTI)
    control = multi.controls()[0]
    collected = multi.gather_examples(tasks, control)
    assert {e.text: e.target for e in collected.examples} == {
        "a plain weather report": frozenset(),
        "joy": frozenset({"happy"}),
    }
    assert collected.skipped.no_usable_annotation == 1  # the removed label is still no answer
    tokenizer = load_tokenizer(resolve_model_folder(""))
    rows = multi.task.training_rows(tokenizer, collected.examples, control, list(control.labels), 32)
    assert [row["labels"] for row in rows] == [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]

    single = make(context)  # a single choice left empty is no answer at all
    assert [e.text for e in single.collect_examples(tasks, single.controls()[0])] == ["joy"]


def test_fit_publishes_a_version_and_a_failed_fit_leaves_it_serving(context, monkeypatch) -> None:
    model = make(context)
    model.labeled_tasks = mood_tasks
    progress: list[dict] = []
    model.progress_sink = progress.append
    metrics = model.fit("START_TRAINING", {})

    version = model.model_version
    assert metrics["model_version"] == version != "0.0.1"
    assert metrics["train_size"] == 30  # every labeled text (tests/hf_text/test_forward_evaluation.py)
    assert progress and {"epoch", "step", "loss"} <= set(progress[-1])
    meta = model.store.meta(version)
    assert meta["hyper_parameters"]["learning_rate"] == 1e-4
    assert meta["heads"][0]["labels"] == ["happy", "sad", "angry"]
    assert meta["heads"][0]["evaluation"] == metrics["evaluation"]
    assert [head["from_name"] for head in meta["heads"]] == ["mood"]  # "other" has no annotations

    served = BertClassifier(
        project_id="5", label_config=CONFIG, context=context, hf_settings=model.hf_settings
    )
    assert served.predict([{"data": {"text": "So much joy today."}}]).serialize()[0]["result"]

    def crash(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("hf_text.training.heads.train_model", crash)
    with pytest.raises(RuntimeError, match="out of memory"):
        model.fit("START_TRAINING", {})
    assert model.model_version == version
    assert model.store.versions() == [version]
    assert [path.name for path in model.store.root.iterdir()] == [version]


def test_a_second_fit_replaces_the_version_and_prunes_and_cleans(context) -> None:
    model = make(context, config=MULTI, keep_versions=1)
    model.labeled_tasks = lambda: [
        {"id": 1, "data": {"text": "joy and rage"}, "annotations": [annotation(1, ["happy", "angry"])]},
        {"id": 2, "data": {"text": "tears"}, "annotations": [annotation(2, ["sad"])]},
        {"id": 3, "data": {"text": "smile"}, "annotations": [annotation(3, ["happy"])]},
    ]
    first = model.fit("ANNOTATION_CREATED", {})["model_version"]
    assert model.store.meta(first)["heads"][0]["multiple"] is True
    (model.store.root / ".staging-from-a-killed-run").mkdir()
    second = model.fit("ANNOTATION_CREATED", {})["model_version"]
    assert second != first and model.model_version == second
    assert [path.name for path in model.store.root.iterdir()] == [second]
    items = model.predict([{"data": {"text": "joy"}}]).serialize()
    assert len(items) == 1 and items[0]["model_version"] == second


def test_fit_without_usable_annotations_keeps_the_version(context) -> None:
    model = make(context)
    model.labeled_tasks = lambda: [{"id": 1, "data": {"text": "t"}, "annotations": [annotation(1, ["nope"])]}]
    before = model.model_version  # zero-shot's, before any training
    result = model.fit("START_TRAINING", {})
    assert "skipped" in result and model.model_version == before
