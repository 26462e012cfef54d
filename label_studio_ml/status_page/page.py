"""The status page's HTML, rendered from the ``/metrics`` report with the package's Jinja2 template."""

from __future__ import annotations

import functools
import time
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from werkzeug.datastructures import MIMEAccept

from label_studio_ml.status_page.curve import learning_curve_svg
from label_studio_ml.status_page.summary import project_views, training_active, worker_lines

#: Seconds between the page's own reloads while a training is queued or running.
REFRESH_S = 5


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescaping on: project names, reasons and tag names are user data.
    return Environment(
        loader=PackageLoader("label_studio_ml.status_page", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def status_html(report: dict[str, Any], model_class: str, now: float | None = None) -> str:
    """The page for people: every project of ``report``, the worker, and a learning curve each."""
    now = time.time() if now is None else now
    projects = project_views(report, now)
    # The curve is built by ``curve`` from numbers only, every text in it escaped there.
    curves = {view.name: Markup(learning_curve_svg(view.points)) for view in projects}
    template = _environment().get_template("status.html")
    return template.render(
        model_class=model_class,
        projects=projects,
        curves=curves,
        worker=worker_lines(report),
        refresh=REFRESH_S if training_active(report) else None,
        generated=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)),
    )


def prefers_html(accept: MIMEAccept) -> bool:
    """Whether a request's ``Accept`` prefers HTML to JSON (a browser; ``*/*`` from curl or Label
    Studio prefers JSON: the first offered wins a tie)."""
    return accept.best_match(["application/json", "text/html"]) == "text/html"
