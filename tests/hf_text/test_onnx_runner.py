"""The ONNX Runtime runner and its settings: feeds as the exported graph expects, no padding given."""

from __future__ import annotations

import numpy as np
import pytest

from hf_text.runtime import backends
from hf_text.settings import HFSettings
from label_studio_ml.errors import ConfigurationError


def test_inference_backend_is_validated() -> None:
    assert HFSettings.from_env({"INFERENCE_BACKEND": "ONNX"}).inference_backend == "onnx"
    assert HFSettings.from_env({}).inference_backend == "auto"
    with pytest.raises(ConfigurationError, match="INFERENCE_BACKEND"):
        HFSettings.from_env({"INFERENCE_BACKEND": "tensorrt"})
    with pytest.raises(ConfigurationError, match="INFERENCE_THREADS"):
        HFSettings.from_env({"INFERENCE_THREADS": "-1"})


class RecordingSession:
    """An ONNX Runtime session stand-in: records each run's feeds, answers zero logits of their width."""

    def __init__(self, token_logits: bool = False) -> None:
        self.token_logits, self.feeds = token_logits, []

    def run(self, _outputs, feeds):
        self.feeds.append(feeds)
        width = feeds["input_ids"].shape[1]
        return [np.zeros((1, width, 3) if self.token_logits else (1, 2), dtype=np.float32)]


def test_a_missing_token_type_input_is_fed_as_zeros() -> None:
    session = RecordingSession()
    runner = backends.OnnxRunner(session, ("input_ids", "attention_mask", "token_type_ids"))
    runner([{"input_ids": [101, 7, 102], "attention_mask": [1, 1, 1]}])
    [feeds] = session.feeds
    assert feeds["token_type_ids"].tolist() == [[0, 0, 0]]
    assert all(array.dtype == np.int64 for array in feeds.values())


def test_the_onnx_runner_is_never_given_padding_and_answers_each_window_at_its_own_length() -> None:
    session = RecordingSession(token_logits=True)
    runner = backends.OnnxRunner(session, ("input_ids", "attention_mask"))
    rows = [{"input_ids": [101, 7, 8, 9, 102], "attention_mask": [1] * 5},
            {"input_ids": [101, 102], "attention_mask": [1, 1]}]  # fmt: skip
    logits = runner(rows)
    assert [feeds["input_ids"].tolist() for feeds in session.feeds] == [[[101, 7, 8, 9, 102]], [[101, 102]]]
    assert [array.shape for array in logits] == [(5, 3), (2, 3)]
