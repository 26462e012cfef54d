"""``label-studio-ml status URL``: the status page's summary in a terminal, read from ``URL/metrics``."""

from __future__ import annotations

import sys
import time
from typing import Any

import requests

from label_studio_ml.status_page.progress import Progress
from label_studio_ml.status_page.summary import ProjectView, project_views, worker_lines

#: Characters of a text progress bar.
BAR_WIDTH = 30
HEADERS = ("project", "serves", "labels", "training")


class StatusError(Exception):
    """The backend could not be read: one line for the terminal."""


def fetch_report(url: str, auth: tuple[str, str] | None = None, timeout: float = 10) -> dict[str, Any]:
    """The JSON ``/metrics`` report of the backend at ``url``."""
    address = url.rstrip("/") + "/metrics"
    try:
        response = requests.get(address, auth=auth, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise StatusError(f"{url} does not answer ({type(exc).__name__})") from None
    if response.status_code == 401:
        raise StatusError(f"{url} asks for basic auth: give --user and --password")
    if not response.ok:
        raise StatusError(f"{address} answered {response.status_code}")
    try:
        report = response.json()
    except ValueError:
        raise StatusError(f"{address} did not answer JSON: is it a Label Studio ML backend?") from None
    if not isinstance(report, dict) or "projects" not in report:
        raise StatusError(f"{address} is not a Label Studio ML backend's report")
    return report


def render(report: dict[str, Any], now: float | None = None) -> str:
    """The summary: a table of projects, a progress bar per active training, then what needs a look."""
    views = project_views(report, time.time() if now is None else now)
    if not views:
        lines = ["No project has reached this backend yet."]
    else:
        lines = _table([_row(view) for view in views])
    for view in views:
        if view.progress is not None:
            lines += ["", f"{view.name}: {progress_bar(view.progress)}", f"  {view.progress.line()}"]
    for view in views:
        details = [("last error", view.error)] if view.error else []
        details += view.notes
        if details:
            lines += ["", f"{view.name}:"] + [f"  {what}: {text}" for what, text in details]
    lines += [""] + [f"{what}: {value}" for what, value in worker_lines(report)]
    return "\n".join(lines)


def _row(view: ProjectView) -> tuple[str, ...]:
    serves = " ".join(part for part in (view.layer, view.version) if part) or "-"
    labels = "-" if view.labels is None else str(view.labels)
    return view.name, serves, labels, view.state


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(len(HEADERS))]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()

    return [line(HEADERS), line(tuple("-" * width for width in widths)), *map(line, rows)]


def progress_bar(progress: Progress, width: int = BAR_WIDTH) -> str:
    """``[#########.....................]  30%`` (``[?...]`` when the model reports no count)."""
    if progress.fraction is None:
        return "[" + "?" * width + "]"
    done = round(progress.fraction * width)
    return f"[{'#' * done}{'.' * (width - done)}] {round(progress.fraction * 100):3d}%"


def main(url: str, user: str | None = None, password: str | None = None) -> int:
    """Print the summary of the backend at ``url``; 1 with one line on stderr when it cannot be read."""
    auth = (user, password or "") if user else None
    try:
        report = fetch_report(url, auth)
    except StatusError as exc:
        print(f"label-studio-ml status: {exc}", file=sys.stderr)
        return 1
    print(render(report))
    return 0
