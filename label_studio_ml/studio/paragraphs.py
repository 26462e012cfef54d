"""A ``<Paragraphs>`` dialogue in task data as one text: a line "speaker: words" per turn.

Label Studio (1.23.2, ``tags/object/Paragraphs``) takes a list of objects, each with the speaker
under ``nameKey`` ("author" by default) and the turn's words under ``textKey`` ("text"); with
``valueType="url"`` the task data holds a URL to a JSON document of that list (``"json"``, the
default, is the list itself). A model that reads the conversation as text keeps who said what.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from label_studio_ml.errors import TaskDataUnreadable

#: ``valueType`` values of a ``<Paragraphs>``: the list in the task data, or a URL to it.
PARAGRAPHS_VALUE_TYPES = ("json", "url")


@dataclass(frozen=True)
class DialogueKeys:
    """The keys of one turn: the speaker's (``nameKey``) and the words' (``textKey``)."""

    name: str = "author"
    text: str = "text"


def dialogue_keys(attrs: Mapping[str, Any]) -> DialogueKeys:
    """The keys a ``<Paragraphs>`` tag's attributes name; Label Studio reads attribute names in any
    case (``nameKey``, ``namekey``), and an empty one as the default."""
    lowered = {str(key).lower(): str(value) for key, value in attrs.items()}
    default = DialogueKeys()
    return DialogueKeys(lowered.get("namekey") or default.name, lowered.get("textkey") or default.text)


def parse_dialogue(document: str) -> Any:
    """The turns of a JSON document fetched for ``valueType="url"`` (``TaskDataUnreadable`` if not JSON)."""
    try:
        return json.loads(document)
    except ValueError as exc:
        raise TaskDataUnreadable(f"the dialogue document is not JSON: {str(exc)[:100]}") from exc


def dialogue_text(turns: Any, keys: DialogueKeys) -> str:
    """The turns as lines "speaker: words" joined by newlines (a turn with no speaker: its words).

    Anything but a list of objects with words under ``keys.text`` is ``TaskDataUnreadable``: a
    conversation read in part would be labeled as if it were whole.
    """
    if not isinstance(turns, list):
        raise TaskDataUnreadable(f"a dialogue is a list of turns, not {type(turns).__name__}")
    lines = []
    for index, turn in enumerate(turns):
        words = turn.get(keys.text) if isinstance(turn, dict) else None
        if not _scalar(words):
            raise TaskDataUnreadable(f'dialogue turn {index} has no "{keys.text}" (textKey) words')
        name = turn.get(keys.name)
        speaker = str(name).strip() if _scalar(name) else ""
        lines.append(f"{speaker}: {words}" if speaker else str(words))
    return "\n".join(lines)


def _scalar(value: Any) -> bool:
    """A string or a number: what Label Studio shows as a speaker or as words."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)
