"""The sentence encoder served as int8 ONNX on a CPU: checked against fp32 on real texts, exported
once into a cache every encoder reuses, and fp32 whenever the export or the check fails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bert_classifier.light import encoder_check, encoder_onnx
from bert_classifier.light.embeddings import SentenceEncoder
from hf_text.runtime.resolve import resolve_model_folder
from tests.support import bbc_news
from tests.support.tweets import tweets_by_label

CPU = torch.device("cpu")
BUDGET = 4096


def _encoder(backend: str, root: Path | None = None) -> SentenceEncoder:
    return SentenceEncoder(resolve_model_folder(""), CPU, 256, 64, 1000, backend, 1, root)


def _real_texts() -> list[str]:
    """Short BBC News articles and tweets, as projects label them."""
    news = [text for text, _ in bbc_news.articles(per_label=4, skip=200, max_words=80)]
    tweets = [text for texts in tweets_by_label().values() for text in texts[:10]]
    return news + tweets


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache of int8 encoders with one export in it."""
    folder = tmp_path_factory.mktemp("encoders")
    encoder_onnx.int8_encoder(resolve_model_folder(""), folder)
    return folder


@pytest.fixture(scope="module")
def fp32() -> SentenceEncoder:
    return _encoder("torch")


def test_int8_embeddings_agree_with_fp32_on_real_texts(root: Path, fp32: SentenceEncoder) -> None:
    int8 = _encoder("auto", root)
    assert int8.served["backend"] == "onnx-int8", int8.served
    texts = _real_texts()
    cosines = np.sum(int8.embed(texts, BUDGET) * fp32.embed(texts, BUDGET), axis=1)
    assert cosines.min() >= encoder_check.MIN_COSINE, texts[int(np.argmin(cosines))]
    assert int8.served["checked_texts"] > len(encoder_check.SAMPLE_TEXTS)  # the first texts were checked too
    assert int8.served["min_cosine"] >= encoder_check.MIN_COSINE


def test_the_cached_model_is_reused_by_another_encoder(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_second_export(*args: object) -> Path:
        raise AssertionError("exported again")

    monkeypatch.setattr(encoder_onnx, "build", no_second_export)
    assert _encoder("auto", root).served["backend"] == "onnx-int8"
    assert len(list(root.glob(f"*/{encoder_onnx.INT8_FILE}"))) == 1


def test_a_failed_export_serves_fp32_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fp32: SentenceEncoder
) -> None:
    def broken(*args: object) -> Path:
        raise RuntimeError("the exporter broke")

    monkeypatch.setattr(encoder_onnx, "build", broken)
    encoder = _encoder("auto", tmp_path)
    assert encoder.served["backend"] == "torch"
    assert "the exporter broke" in encoder.served["why"]
    texts = _real_texts()[:6]
    assert np.allclose(encoder.embed(texts, BUDGET), fp32.embed(texts, BUDGET), atol=1e-5)


def test_int8_that_disagrees_on_the_projects_texts_gives_way_to_fp32(
    root: Path, monkeypatch: pytest.MonkeyPatch, fp32: SentenceEncoder
) -> None:
    encoder = _encoder("auto", root)
    assert encoder.served["backend"] == "onnx-int8"  # the fixed sample passed
    monkeypatch.setattr(encoder_check, "MIN_COSINE", 1.01)  # no int8 embedding is that close
    texts = _real_texts()[:6]
    vectors = encoder.embed(texts, BUDGET)
    assert encoder.served["backend"] == "torch"
    assert "cosine" in encoder.served["why"]
    assert np.allclose(vectors, fp32.embed(texts, BUDGET), atol=1e-5)


def test_a_failed_check_on_the_sample_serves_fp32(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder_check, "MIN_COSINE", 1.01)
    assert _encoder("auto", root).served["backend"] == "torch"
    # INFERENCE_BACKEND=onnx asks for int8 by name: it serves, and says what the check found.
    named = _encoder("onnx", root)
    assert named.served["backend"] == "onnx-int8"
    assert "although" in named.served["why"]


def test_torch_is_left_alone() -> None:
    encoder = _encoder("torch")
    assert encoder.int8 is None and encoder.served["backend"] == "torch"
