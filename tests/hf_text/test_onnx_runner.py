"""The ONNX Runtime runner and its settings: feeds as the exported graph expects, no padding given."""

from __future__ import annotations

import contextlib
import threading

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


class ConcurrencySession(RecordingSession):
    """Records how many runs were in flight at once (each run waits a little for a companion)."""

    def __init__(self) -> None:
        super().__init__()
        self.lock, self.in_flight, self.most = threading.Lock(), 0, 0
        self.both = threading.Barrier(2, timeout=5)

    def run(self, outputs, feeds):
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        with contextlib.suppress(threading.BrokenBarrierError):
            self.both.wait()  # two rows must be running at once, or this times out
        with self.lock:
            self.in_flight -= 1
        return super().run(outputs, feeds)


def test_rows_run_side_by_side_on_the_runners_threads_in_their_order() -> None:
    session = ConcurrencySession()
    runner = backends.OnnxRunner(session, ("input_ids", "attention_mask"), threads=2)
    rows = [{"input_ids": [101] + [7] * n + [102], "attention_mask": [1] * (n + 2)} for n in range(6)]
    logits = runner(rows)
    assert session.most == 2
    assert [array.shape for array in logits] == [(2,)] * 6
    assert sorted(feeds["input_ids"].shape[1] for feeds in session.feeds) == [n + 2 for n in range(6)]


def test_the_session_itself_runs_one_thread_and_the_runner_gets_the_threads(tmp_path) -> None:
    import torch

    class Tiny(torch.nn.Module):
        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return input_ids.float().unsqueeze(-1) * 2.0

    path = tmp_path / "tiny.onnx"
    torch.onnx.export(Tiny(), (torch.ones(1, 3, dtype=torch.long),), str(path), input_names=["input_ids"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}}, dynamo=False)  # fmt: skip
    runner = backends.open_onnx(path, 3)
    assert runner.threads == 3
    assert runner.session.get_session_options().intra_op_num_threads == 1
    rows = [{"input_ids": [1, 2, 3]}, {"input_ids": [4]}, {"input_ids": [5, 6]}]
    assert [array[:, 0].tolist() for array in runner(rows)] == [[2.0, 4.0, 6.0], [8.0], [10.0, 12.0]]
