"""Integration: real gunicorn (``label-studio-ml start``, 2 workers) with one project's served
version corrupted on disk. The backend stays healthy, the other project serves, the broken one
answers a JSON 503 naming the reason, and serves again once its folder is repaired (no restart).
"""

from __future__ import annotations

import copy
from pathlib import Path

import requests

from bert_classifier.model import BertClassifier
from hf_text.settings import HFSettings
from label_studio_ml.config import Settings
from label_studio_ml.context import BackendContext
from tests.conftest import load_fixture
from tests.support.published_heads import WEIGHTS, corrupt, head_folder, publish_head
from tests.support.servers import ROOT, backend

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="topic" toName="text">'
    '<Choice value="sport"/><Choice value="tech"/><Choice value="food"/></Choices></View>'
)


def publish(model_dir: Path, project: str, winner: int) -> BertClassifier:
    """Project ``project`` with a published version whose head always answers label ``winner``."""
    context = BackendContext.for_model(BertClassifier, Settings(model_dir=model_dir))
    hf = HFSettings(max_length=64, window_stride=16)
    model = BertClassifier(project_id=project, label_config=CONFIG, context=context, hf_settings=hf)
    publish_head(model, ["sport", "tech", "food"], winner=winner)
    return model


def predict(url: str, project: str) -> requests.Response:
    """Label Studio's recorded ``/predict`` body, re-aimed at ``project`` and this config."""
    body = copy.deepcopy(load_fixture("classification_predict.json"))
    body.update(project=project, label_config=CONFIG, tasks=body["tasks"][:2])
    return requests.post(f"{url}/predict", json=body, timeout=60)


def test_a_corrupt_version_fails_only_its_project_and_serves_again_once_repaired(tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    publish(model_dir, "1.1795422225", winner=0)  # each project as Label Studio names it
    broken = publish(model_dir, "2.1795422225", winner=1)
    original = corrupt(head_folder(broken))
    env = {"MODEL_DIR": str(model_dir), "MAX_LENGTH": "64", "WINDOW_STRIDE": "16"}

    with backend(ROOT / "bert_classifier", env, workers=2) as url:  # waits for /health 200
        assert requests.get(f"{url}/health", timeout=5).status_code == 200
        for _ in range(4):  # the same answers whichever worker takes the request
            served = predict(url, "1.1795422225")
            assert served.status_code == 200, served.text
            assert [item["result"][0]["value"]["choices"] for item in served.json()["results"]] == [
                ["sport"],
                ["sport"],
            ]
            refused = predict(url, "2.1795422225")
            assert refused.status_code == 503, refused.text
            error = refused.json()
            assert error["error_type"] == "ModelUnavailable"
            assert f"project 2.1795422225, model version {broken.model_version}" in error["error"]
            assert "SafetensorError" in error["error"], error

        (head_folder(broken) / WEIGHTS).write_bytes(original)
        for _ in range(4):
            repaired = predict(url, "2.1795422225")
            assert repaired.status_code == 200, repaired.text
            assert repaired.json()["results"][0]["result"][0]["value"]["choices"] == ["tech"]
        assert requests.get(f"{url}/health", timeout=5).status_code == 200
