"""What the instant layer needs is loaded at warm-up, before ``/health`` says ready, not under the
first prediction or annotation: the sentence encoder, and the Label Studio SDK when it will be needed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bert_classifier.light import embeddings
from tests.classifier.test_instant import TEXTS, backend, event, label_studio, learned, predictions, setup
from tests.support.servers import ROOT

__all__ = ["label_studio"]  # the fixture, shared with the instant tests


def test_the_sentence_encoder_loads_before_health_says_ready_and_a_new_head_is_not_read_back(
    tmp_path: Path, label_studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading the encoder holds the worker's interpreter for a fifth of a second: at warm-up, not
    under the first prediction or annotation. The instant thread's fitted head serves as it is."""
    loaded_in: list[str] = []
    original = embeddings.SentenceEncoder.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        loaded_in.append(threading.current_thread().name)
        original(self, *args, **kwargs)

    monkeypatch.setattr(embeddings.SentenceEncoder, "__init__", spy)
    monkeypatch.setattr(embeddings, "_ENCODERS", {})  # other tests' encoders are not this backend's
    read_back: list[Path] = []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: read_back.append(path) or read_bytes(path))
    url, _ = label_studio
    app, client = backend(tmp_path / "models")
    assert loaded_in == ["warm-up"]
    setup(client, url)
    client.post("/webhook", json=event(100, TEXTS[0], "positive"))
    learned(app)
    predictions(client)
    assert loaded_in == ["warm-up"]
    assert not [path for path in read_back if path.suffix == ".npz"], read_back


WARM_UP_SCRIPT = """
import sys
from pathlib import Path
from tests.classifier.test_instant import backend
before = "label_studio_sdk.client" in sys.modules
backend(Path(sys.argv[1]))
print(before, "label_studio_sdk.client" in sys.modules)
"""


@pytest.mark.parametrize(("instant", "imported"), [("true", "True"), ("false", "False")])
def test_the_label_studio_sdk_is_imported_at_warm_up_when_annotations_will_need_it(
    tmp_path: Path, instant: str, imported: str
) -> None:
    """A project's first annotation reads Label Studio through the SDK, whose import holds the
    interpreter for over a second: a fresh worker imports it before ``/health`` says ready."""
    env = {**os.environ, "INSTANT_LEARNING": instant, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", WARM_UP_SCRIPT, str(tmp_path / "models")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["False", imported]
