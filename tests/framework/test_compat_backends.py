"""Two backends written the upstream way (``tests/backends/sklearn_text``, ``tests/backends/rule_ner``),
started through ``label-studio-ml start`` (gunicorn), trained from a fake Label Studio on loopback.

Their ``_wsgi.py`` is upstream's (``init_app``); they read text by URL with ``preload_task_data``,
map labels with ``build_label_map`` and answer ``ModelResponse``s of ``PredictionValue``s.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.conftest import BACKENDS
from tests.support.fake_label_studio import FakeLabelStudio, Served, serving
from tests.support.servers import backend

TOKEN = "ls-token-0123456789"
CLASSIFY = """<View>
  <Text name="text" value="$doc" valueType="url"/>
  <Choices name="topic" toName="text"><Choice value="Sport"/><Choice value="Food"/></Choices>
</View>"""
NER = """<View>
  <Labels name="ner" toName="text">
    <Label value="Email" predicted_values="EMAIL"/><Label value="Date"/><Label value="City"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""
SPORT = ["Le match de football a fini à deux buts", "The goalkeeper saved a penalty in the final"]
FOOD = ["Une crème brûlée et un café au restaurant", "Bake the bread and serve the soup warm"]


def setup(url: str, ls: FakeLabelStudio, config: str) -> str:
    body = {"project": "1.1700000000", "schema": config, "hostname": ls.url, "access_token": TOKEN}
    response = requests.post(f"{url}/setup", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return str(response.json()["model_version"])


def predict(url: str, config: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"project": "1.1700000000", "label_config": config, "tasks": tasks, "params": {"context": None}}
    response = requests.post(f"{url}/predict", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def train(url: str, ls: FakeLabelStudio, config: str, before: str) -> str:
    """Press "Start training", wait for the new version; returns it."""
    # 1700000000 s: the creation time "1.1700000000" names in /setup and /predict.
    project = {"id": 1, "created_at": "2023-11-14T22:13:20Z", "label_config": config}
    event = {"action": "START_TRAINING", "project": project}
    assert requests.post(f"{url}/webhook", json=event, timeout=5).status_code == 201
    deadline = time.time() + 60
    while (version := setup(url, ls, config)) == before:
        assert time.time() < deadline, requests.get(f"{url}/metrics", timeout=5).json()
        time.sleep(0.2)
    return version


def labeled(task_id: int, data: dict[str, Any], result: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": task_id, "project": 1, "data": data, "annotations": [{"result": result}]}


def test_upstream_style_sklearn_classifier_learns_texts_read_through_label_studio(tmp_path) -> None:
    with serving(FakeLabelStudio(token=TOKEN)) as ls:
        for index, text in enumerate(SPORT + FOOD):
            ls.files[f"/data/upload/1/{index}.txt"] = Served(text.encode(), "text/plain")
            label = "Sport" if text in SPORT else "Food"
            choice = {
                "from_name": "topic",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [label]},
            }
            ls.tasks.append(labeled(index, {"doc": f"/data/upload/1/{index}.txt"}, [choice]))
        ls.storage["s3://bucket/new.txt"] = Served("Un café et une crème brûlée".encode(), "text/plain")
        env = {"MODEL_DIR": str(tmp_path / "models"), "LABEL_STUDIO_URL": "", "LABEL_STUDIO_API_KEY": ""}
        with backend(BACKENDS / "sklearn_text", env, workers=2) as url:
            pinned = setup(url, ls, CLASSIFY)
            assert pinned == "SklearnTextClassifier-v0.0.1"
            assert [item["result"] for item in predict(url, CLASSIFY, [{"id": 9, "data": {"doc": "x"}}])] == [
                []
            ]

            version = train(url, ls, CLASSIFY, pinned)
            tasks = [
                {"id": 10, "data": {"doc": "s3://bucket/new.txt"}},
                {"id": 11, "data": {"doc": "s3://bucket/missing.txt"}},  # unreadable: an empty prediction
            ]
            first, missing = predict(url, CLASSIFY, tasks)
            # The version setup() pins is not put back when instances are rebuilt for the new version.
            assert {setup(url, ls, CLASSIFY) for _ in range(4)} == {version}
        assert first["model_version"] == version and missing["model_version"] == version
        assert first["result"][0]["value"]["choices"] == ["Food"] and 0.5 < first["score"] <= 1
        assert missing["result"] == []
        resolved = [seen for seen in ls.seen if seen.path.startswith("/projects/1/resolve/")]
        assert len(resolved) == 2 and all(
            seen.headers["Authorization"] == f"Token {TOKEN}" for seen in resolved
        )


def test_upstream_style_rule_ner_maps_its_labels_and_learns_a_gazetteer(tmp_path) -> None:
    text = "💩 Write to zoë@example.org before 2024-05-01, then fly to Zürich."
    city = {"start": 59, "end": 65, "text": "Zürich", "labels": ["City"]}
    assert text.encode("utf-16-le")[city["start"] * 2 : city["end"] * 2].decode("utf-16-le") == "Zürich"
    with serving(FakeLabelStudio(token=TOKEN)) as ls:
        region = {"from_name": "ner", "to_name": "text", "type": "labels", "value": city}
        ls.tasks.append(labeled(1, {"text": text}, [region]))
        env = {"MODEL_DIR": str(tmp_path / "models"), "LABEL_STUDIO_URL": "", "LABEL_STUDIO_API_KEY": ""}
        with backend(BACKENDS / "rule_ner", env, workers=1) as url:
            before = setup(url, ls, NER)
            (untrained,) = predict(url, NER, [{"id": 2, "data": {"text": text}}])
            version = train(url, ls, NER, before)
            (trained,) = predict(url, NER, [{"id": 2, "data": {"text": text}}])

    def spans(item: dict[str, Any]) -> list[tuple[int, int, str, str]]:
        return [
            (r["value"]["start"], r["value"]["end"], r["value"]["text"], r["value"]["labels"][0])
            for r in item["result"]
        ]

    email, date = (12, 27, "zoë@example.org", "Email"), (35, 45, "2024-05-01", "Date")
    assert spans(untrained) == [email, date]
    assert spans(trained) == [email, date, (59, 65, "Zürich", "City")]
    assert trained["model_version"] == version != before
