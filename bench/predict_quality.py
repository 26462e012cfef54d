"""The prediction benchmark's data and its quality half: held-out metrics per inference back end.

Each backend's version is trained once on real labeled data (BBC News articles, CoNLL-2003
training sentences) with the product's defaults, which also builds and checks its int8 model at
publish time. Held-out quality is then measured through the product's own inference path
(``load_serving`` + ``evaluate``) twice on the same weights: fp32 torch and int8 ONNX Runtime.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.fit_project import project_model
from bench.learning_curves import bbc_data, bbc_sample
from hf_text.settings import HFSettings
from hf_text.training.quantization import changed_decisions
from tests.support import bbc_news, ner_conll
from tests.support.servers import ROOT

#: Labeled examples each version is trained on (the product's default hyper-parameters).
BBC_TRAINING = 200
CONLL_TRAINING = 500
#: Held-out sets: BBC's fixed 300 articles of the learning curves, CoNLL test sentences.
CONLL_HELD_OUT = 1000


@dataclass(frozen=True)
class Subject:
    """One backend under test: its folder, label config, pipeline task and its data."""

    name: str
    directory: Path
    label_config: str
    pipeline_task: str
    pipeline_options: dict[str, Any]
    training_tasks: Callable[[], list[dict[str, Any]]]
    held_out_tasks: Callable[[], list[dict[str, Any]]]
    speed_texts: Callable[[int], list[str]]
    model_class: Callable[[], type]


def _classifier() -> type:
    from bert_classifier.model import BertClassifier

    return BertClassifier


def _ner() -> type:
    from huggingface_ner import HuggingFaceNER

    return HuggingFaceNER


def _bbc_training() -> list[dict[str, Any]]:
    pool, _ = bbc_data()
    return bbc_sample(pool, BBC_TRAINING, seed=1)


def _bbc_held_out() -> list[dict[str, Any]]:
    _, test = bbc_data()
    return [bbc_news.to_task(text, label, index) for index, (text, label) in enumerate(test)]


def _conll_training() -> list[dict[str, Any]]:
    sentences = ner_conll.read_conll(ner_conll.conll_dir() / "train.txt")[:CONLL_TRAINING]
    return [ner_conll.to_task(sentence, i) for i, sentence in enumerate(sentences)]


def _conll_held_out() -> list[dict[str, Any]]:
    sentences = ner_conll.read_conll(ner_conll.conll_dir() / "test.txt")[:CONLL_HELD_OUT]
    return [ner_conll.to_task(sentence, i) for i, sentence in enumerate(sentences)]


def mixed_texts(count: int, seed: int = 7) -> list[str]:
    """``count`` real texts of log-uniform length between 8 and 800 words (BBC News articles)."""
    rng = random.Random(seed)
    files = sorted(bbc_news.bbc_dir().glob("*/*.txt"))
    texts = []
    for path in rng.sample(files, count):
        words = int(math.exp(rng.uniform(math.log(8), math.log(800))))
        texts.append(bbc_news.read_article(path, words))
    return texts


def conll_sentences(count: int) -> list[str]:
    """``count`` CoNLL-2003 sentences from its development file (never trained or scored on)."""
    sentences = ner_conll.read_conll(ner_conll.conll_dir() / "valid.txt")
    return [ner_conll.sentence_spans(sentence)[0] for sentence in sentences[:count]]


SUBJECTS = {
    "classifier": Subject(
        "bert_classifier", ROOT / "bert_classifier", bbc_news.LABEL_CONFIG, "text-classification",
        {"truncation": True}, _bbc_training, _bbc_held_out, mixed_texts, _classifier,
    ),
    "ner": Subject(
        "huggingface_ner", ROOT / "huggingface_ner", ner_conll.LABEL_CONFIG, "token-classification",
        {}, _conll_training, _conll_held_out, conll_sentences, _ner,
    ),
}  # fmt: skip


def scores_by_backend(
    model_class: type,
    label_config: str,
    held_out: list[dict[str, Any]],
    model_dir: Path,
    training: HFSettings,
) -> dict[str, Any]:
    """Project 1's served version's headline metric on ``held_out`` tasks, per back end (same weights),
    and the share of fp32's decisions int8 changed on them (``decisions_changed``, the bound the
    int8 check uses on unlabeled texts)."""
    scores: dict[str, Any] = {}
    predictions = []
    for setting in ("torch", "onnx"):
        model = project_model(
            model_class, label_config, replace(training, inference_backend=setting), model_dir
        )
        serving = model.serving_heads(model.model_version)[0]
        loaded = model.load_serving(serving, model.model_version)
        examples = model.collect_examples(held_out, serving.control)
        metrics = model.task.evaluate(loaded, examples, serving.control, serving.head)
        scores[loaded.backend] = metrics[model.task.HEADLINE_METRIC]
        scores["metric"], scores["examples"] = model.task.HEADLINE_METRIC, len(examples)
        texts = [example.text for example in examples]
        predictions.append(model.task.predict_texts(loaded, texts, serving.control, serving.head))
    scores["decisions_changed"] = changed_decisions(*predictions)
    return scores


def held_out_quality(subject: Subject, model_dir: Path, training: HFSettings) -> dict[str, Any]:
    """``scores_by_backend`` on the subject's held-out tasks."""
    model_class = subject.model_class()
    return scores_by_backend(model_class, subject.label_config, subject.held_out_tasks(), model_dir, training)
