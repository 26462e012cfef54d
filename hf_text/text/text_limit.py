"""``MAX_TEXT_CHARS``: a task's text is read only up to the limit, and ``/metrics`` counts the cuts.

Inference and training cost grows with a text's length (every window goes through the model), so
one huge text would hold a worker for minutes while every other request waits. The text is cut as a
string, before any tokenizer sees it, so neither time nor memory depends on what a client sends.
The cut keeps a prefix of code points: a span inside the prefix has the same code-point and UTF-16
offsets as in the whole text, so predicted regions stay exact (``huggingface_ner.offsets``).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any, Protocol

from label_studio_ml.server.status import TEXTS_CUT_KEY

#: Distinct cut texts one model instance remembers having counted; past it the memory starts over
#: (a text may then be counted again: the count is a sign of trouble, not an audit).
_REMEMBERED = 4096


class HasProjectState(Protocol):
    """A model with per-project persistent state (``LabelStudioMLBase``)."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


def cut_text(text: str, limit: int) -> str:
    """``text``'s first ``limit`` characters (code points); ``text`` itself when it is shorter."""
    return text if len(text) <= limit else text[:limit]


class CutCounter:
    """Counts the texts cut at ``MAX_TEXT_CHARS`` in a project's state, each text once.

    One task's text is read several times per request (the light layers, the served heads, the
    abstention check) and again by later requests; remembering what was counted keeps the count
    one per text in this process and the state written only when a new long text arrives. Across
    processes a text is counted once per process and concurrent writers may lose an increment.
    """

    def __init__(self) -> None:
        self._counted: set[Hashable] = set()
        self._lock = threading.Lock()

    def record(self, model: HasProjectState, key: Hashable, length: int, limit: int) -> None:
        """Count the text known as ``key`` (``length`` characters) as cut, unless already counted."""
        with self._lock:
            if key in self._counted:
                return
            if len(self._counted) >= _REMEMBERED:
                self._counted.clear()
            self._counted.add(key)
            model.set(TEXTS_CUT_KEY, _updated(model.get(TEXTS_CUT_KEY), key, length, limit))


def _updated(report: Any, key: Hashable, length: int, limit: int) -> dict[str, Any]:
    """The ``/metrics`` report with one more cut text."""
    previous = report if isinstance(report, dict) else {}
    task = key[0] if isinstance(key, tuple) and key else key
    return {
        "max_text_chars": limit,
        "texts": int(previous.get("texts", 0)) + 1,
        "longest_chars": max(int(previous.get("longest_chars", 0)), length),
        "last_task": task if isinstance(task, int | str) else None,
    }
