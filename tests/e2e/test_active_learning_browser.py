"""Active learning as a person sees it in a real Label Studio 1.23.2 (headless Chromium).

With ``ACTIVE_LEARNING=true`` the classifier writes its newest version's predictions for the least
confident unlabeled tasks and points the project at that version with "Uncertainty sampling". After
two annotations (and the round each triggers), the Data Manager's "Prediction score" column must
show exactly the scores of that version's predictions, and "Label All Tasks" must open the task
with the lowest of them. Both pages are kept as screenshots under ``test-artifacts/``.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.e2e.test_active_learning_e2e import ACTIVE, queued_version
from tests.support import bbc_news
from tests.support.backend_server import BERT_CLASSIFIER_DIR
from tests.support.browser import chromium
from tests.support.devtools import DevToolsPage, devtools_page
from tests.support.e2e_steps import choice, connect, metrics, personal_access_token
from tests.support.label_studio_server import LabelStudioServer
from tests.support.ls_user import LabelStudioUser, wait_for

pytestmark = pytest.mark.e2e

ANNOTATIONS = 2
#: The Data Manager's columns this test's tab shows (every other top-level task column is hidden).
SHOWN = {"id", "predictions_score"}
#: Tall enough for all 30 rows of 70 px: the Data Manager draws only the rows in view.
TALL = (1400, 2500)
WIDE = (1400, 1000)
#: ``[[id, shown score], ...]`` for every row the Data Manager drew (null before the table is drawn).
SCORE_CELLS = """(() => {
  const head = [...document.querySelectorAll('.lsf-table-head .lsf-table__cell')];
  const at = (id) => head.findIndex((cell) => cell.dataset.id === id);
  const [idAt, scoreAt] = [at('tasks:id'), at('tasks:predictions_score')];
  if (idAt < 0 || scoreAt < 0) return null;
  const rows = [...document.querySelectorAll('[data-testid=table-row]')];
  return rows.map((row) => {
    const cells = row.querySelectorAll(':scope > .lsf-table__cell');
    return [cells[idAt].textContent.trim(), cells[scoreAt].textContent.trim()];
  });
})()"""
LABEL_ALL = """(() => {
  const buttons = [...document.querySelectorAll('button')];
  const button = buttons.find((b) => b.textContent.trim() === 'Label All Tasks');
  if (!button) return false;
  button.click();
  return true;
})()"""
#: The task the editor shows: the id in its bottom bar ("#<id>") and the text it displays.
EDITOR_TASK = """(() => {
  const id = document.querySelector('[class*="current-task__task-id"]');
  const text = document.querySelector('.lsf-richtext');
  if (!id || !text || !id.firstChild || !text.innerText.trim()) return null;
  return [id.firstChild.textContent.trim(), text.innerText];
})()"""


def current_scores(ls_user: LabelStudioUser, tasks: list[int], version: str) -> dict[int, float]:
    """Each task's stored prediction score of ``version`` (tasks without one left out)."""
    scores = {}
    for task in tasks:
        found = [p for p in ls_user.predictions(task) if p["model_version"] == version]
        assert len(found) <= 1, (task, found)  # one prediction per task and version
        if found:
            scores[task] = float(found[0]["score"])
    return scores


def score_tab(ls_user: LabelStudioUser, project: int) -> int:
    """A Data Manager tab that shows the task id, "Prediction score" (hidden by default) and the text;
    no filter and no ordering, so "Label All Tasks" follows the project's sampling."""
    columns = ls_user.request("GET", "/api/dm/columns", params={"project": project}).json()["columns"]
    hidden = [f"tasks:{c['id']}" for c in columns if not c.get("parent") and c["id"] not in {*SHOWN, "data"}]
    data = {"title": "Active learning", "hiddenColumns": {"explore": hidden, "labeling": hidden}}
    return int(ls_user.request("POST", "/api/dm/views", json={"project": project, "data": data}).json()["id"])


def resize(page: DevToolsPage, size: tuple[int, int]) -> None:
    """The page's viewport, in CSS pixels."""
    page.call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1,
              mobile=False)  # fmt: skip


def shown_scores(page: DevToolsPage, url: str, rows: int) -> dict[int, str]:
    """Open the Data Manager; each task id and the text of its "Prediction score" cell."""
    resize(page, TALL)
    page.call("Page.navigate", url=url)
    cells = page.wait_for(f"(() => {{ const c = {SCORE_CELLS}; return c && c.length === {rows} && c; }})()",
                          120, f"the Data Manager's {rows} rows")  # fmt: skip
    time.sleep(1)  # fonts and the footer settle before the screenshot
    page.screenshot("active-learning-data-manager.png")
    return {int(task): score for task, score in cells}


def opened_by_label_all(page: DevToolsPage) -> tuple[int, str]:
    """Click "Label All Tasks"; the id and text of the task the editor opens."""
    resize(page, WIDE)
    assert page.evaluate(LABEL_ALL), "no 'Label All Tasks' button"
    task, text = page.wait_for(EDITOR_TASK, 120, "the editor opened by 'Label All Tasks'")
    time.sleep(1)
    page.screenshot("active-learning-label-all-tasks.png")
    assert "labeling=1" in page.evaluate("location.href")
    return int(task), text


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_data_manager_shows_the_current_scores_and_label_all_tasks_opens_the_least_confident(
    ls_user: LabelStudioUser, label_studio: LabelStudioServer, start_backend: Any
) -> None:
    chromium()  # skips here, not after the backend's rounds, where no Chromium can be had
    began = time.monotonic()
    env = {**ACTIVE, **personal_access_token(label_studio)}  # Label Studio refuses /setup's legacy token
    backend = start_backend(BERT_CLASSIFIER_DIR, env=env, workers=1)
    articles = bbc_news.articles(per_label=6, max_words=64)  # 30 tasks
    project = ls_user.create_project("e2e active learning in the browser", bbc_news.LABEL_CONFIG)
    ids = ls_user.import_tasks(project, [{"data": {"text": text}} for text, _ in articles])
    text_of = {task: text for task, (text, _) in zip(ids, articles, strict=True)}
    gold = {task: label for task, (_, label) in zip(ids, articles, strict=True)}
    connect(ls_user, project, backend)
    try:
        version = wait_for(lambda: queued_version(ls_user, backend, project, None), 120, "the first round")
    except TimeoutError:  # say what the backend's round did, and why
        raise AssertionError(metrics(backend, project).get("active_learning")) from None
    for task in ids[:ANNOTATIONS]:
        ls_user.annotate(task, choice(gold[task]))
        version = wait_for(lambda v=version: queued_version(ls_user, backend, project, v), 60, "a round")
    scores = current_scores(ls_user, ids, version)
    assert len(scores) == 20 and not set(scores) & set(ids[:ANNOTATIONS]), (scores, version)
    tab = score_tab(ls_user, project)
    ready = time.monotonic()

    with devtools_page(label_studio._web_session().cookies.get_dict(), label_studio.url) as page:
        shown = shown_scores(page, f"{label_studio.url}/projects/{project}/data?tab={tab}", len(ids))
        opened, text = opened_by_label_all(page)

    assert set(shown) == set(ids), shown
    assert {task for task, cell in shown.items() if cell} == set(scores), (shown, scores)
    for task, score in scores.items():  # the Data Manager shows toFixed(3)
        assert float(shown[task]) == pytest.approx(score, abs=5e-4 + 1e-9), (task, shown[task], score)
    least = min(scores, key=scores.__getitem__)
    assert opened == least, (opened, scores.get(opened), least, scores[least], version)
    assert words(text) == words(text_of[least]), (text, text_of[least])
    print(f"\nversion {version}: {len(scores)} scores shown, {min(scores.values()):.3f}-"
          f"{max(scores.values()):.3f}; 'Label All Tasks' opened task {opened}; "
          f"setup {ready - began:.1f} s, browser {time.monotonic() - ready:.1f} s")  # fmt: skip
