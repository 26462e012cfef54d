"""One /predict with 50 ``<Choices>`` x 200 tasks keeps at most ``MAX_PROJECT_TEXTS`` embeddings of
the project's texts (not one file per task and control), and ``/metrics`` says how many."""

from __future__ import annotations

from pathlib import Path

from bert_classifier.model import BertClassifier
from hf_text.instant import records as instant_store
from label_studio_ml.api import create_app
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.conftest import wait_healthy

WORDS = ["sport", "politics", "music", "weather", "food", "travel"]
PROJECT = "1.1795422209"


def label_config(controls: int) -> str:
    choices = "".join(f'<Choice value="{word}"/>' for word in WORDS)
    blocks = "".join(
        f'<Choices name="c{i}" toName="text" choice="single">{choices}</Choices>' for i in range(controls)
    )
    return f'<View><Text name="text" value="$text"/>{blocks}</View>'


def test_a_predict_over_many_controls_keeps_a_bounded_number_of_texts(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MAX_LENGTH", "32")
    monkeypatch.setenv("WINDOW_STRIDE", "8")
    app = create_app(
        BertClassifier, context=BackendContext.from_settings(Settings(model_dir=tmp_path / "models"))
    )
    client = app.test_client()
    wait_healthy(client, timeout=120)
    tasks = [
        {"id": i, "data": {"text": f"A short note about {WORDS[i % 6]}, number {i}."}} for i in range(200)
    ]
    body = {"project": PROJECT, "label_config": label_config(50), "tasks": tasks, "params": {}}
    assert client.post("/predict", json=body).status_code == 200
    kept = [p for p in tmp_path.rglob(f"{instant_store.TEXTS}/*/*.json") if not p.name.startswith(".")]
    assert 0 < len(kept) <= instant_store.MAX_PROJECT_TEXTS < 50 * 200
    report = client.get("/metrics").get_json()["projects"][PROJECT]["disk"][instant_store.TEXTS]
    assert report["files"] == len(kept) and report["bytes"] == sum(p.stat().st_size for p in kept)
    assert report["limits"]["files"] == instant_store.MAX_PROJECT_TEXTS
