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
from label_studio_ml.studio.utf16 import code_points, utf16_length

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
    return read_dialogue(turns, keys).text


def read_dialogue(turns: Any, keys: DialogueKeys) -> DialogueText:
    """The turns as :func:`dialogue_text` reads them, with where each turn's words lie in that text."""
    if not isinstance(turns, list):
        raise TaskDataUnreadable(f"a dialogue is a list of turns, not {type(turns).__name__}")
    lines, words_at, position = [], [], 0
    for index, turn in enumerate(turns):
        words = turn.get(keys.text) if isinstance(turn, dict) else None
        if not _scalar(words):
            raise TaskDataUnreadable(f'dialogue turn {index} has no "{keys.text}" (textKey) words')
        name = turn.get(keys.name)
        speaker = str(name).strip() if _scalar(name) else ""
        prefix = f"{speaker}: " if speaker else ""
        lines.append(f"{prefix}{words}")
        words_at.append((position + len(prefix), str(words)))
        position += len(lines[-1]) + 1
    return DialogueText("\n".join(lines), tuple(words_at))


@dataclass(frozen=True)
class DialogueText:
    """A dialogue read as text, and how a span of it is a ``<ParagraphLabels>`` region.

    Label Studio 1.23.2's editor writes a region as the indices of its first and last turns, as
    strings (``"start": "3"``), and ``startOffset``/``endOffset`` in UTF-16 units within those turns'
    words (the speaker's name is not selectable text). ``words``: each turn's words and where they
    begin in ``text``.
    """

    text: str
    words: tuple[tuple[int, str], ...]

    def region(self, start: int, end: int) -> dict[str, Any] | None:
        """The region keys of the span ``[start, end)`` of ``text``; ``None`` when it is not inside
        one turn's words (a speaker's name, or across turns: not one utterance's words)."""
        for index, (begin, words) in enumerate(self.words):
            if begin <= start < end <= begin + len(words):
                return {
                    "start": str(index),
                    "end": str(index),
                    "startOffset": utf16_length(words[: start - begin]),
                    "endOffset": utf16_length(words[: end - begin]),
                    "text": self.text[start:end],
                }
        return None

    def span(self, value: Mapping[str, Any]) -> tuple[int, int] | None:
        """The span of ``text`` a region value covers (turn indices as strings or numbers)."""
        first = self._position(value.get("start"), value.get("startOffset"))
        last = self._position(value.get("end"), value.get("endOffset"))
        if first is None or last is None or last <= first:
            return None
        return first, last

    def _position(self, turn: Any, units: Any) -> int | None:
        try:
            index = int(turn)
        except (TypeError, ValueError):
            return None
        if not 0 <= index < len(self.words) or not isinstance(units, int) or isinstance(units, bool):
            return None
        begin, words = self.words[index]
        return begin + code_points(words, units) if 0 <= units <= utf16_length(words) else None


def _scalar(value: Any) -> bool:
    """A string or a number: what Label Studio shows as a speaker or as words."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)
