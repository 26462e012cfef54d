"""Tag names (BIO) and the mapping between a model's entity types and a config's ``<Label>`` values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

OUTSIDE = "O"
# Prefixes of the schemes seen on hub models; BIOES/BILOU collapse onto BIO for decoding.
_BEGIN = {"B", "S", "U"}
_INSIDE = {"I", "E", "L"}


@dataclass(frozen=True)
class Tag:
    """One token tag: ``begins`` marks the first word of an entity; ``entity`` is ``None`` for O."""

    entity: str | None
    begins: bool = False


def parse_tag(name: str) -> Tag:
    """Read a model's label name: ``B-PER``, ``I-PER``, ``S_PER``, ``O`` or a bare ``PER`` (IO scheme)."""
    stripped = name.strip()
    if stripped.upper() == OUTSIDE:
        return Tag(None)
    prefix, rest = stripped[:1].upper(), stripped[2:]
    if len(stripped) > 2 and stripped[1] in "-_" and prefix in _BEGIN | _INSIDE:
        return Tag(rest, begins=prefix in _BEGIN)
    return Tag(stripped)


def bio_labels(entities: Iterable[str]) -> list[str]:
    """The training label set: ``O`` then ``B-x``, ``I-x`` for each entity, in the given order."""
    labels = [OUTSIDE]
    for entity in entities:
        labels += [f"B-{entity}", f"I-{entity}"]
    return labels


@dataclass(frozen=True)
class ConfigLabel:
    """A ``<Label>`` of the config: the value results carry, and every name a model may use for it."""

    value: str
    names: tuple[str, ...]

    @classmethod
    def from_attrs(cls, value: str, attrs: Mapping[str, str]) -> ConfigLabel:
        """Build from a ``<Label>``'s attributes (``value``, ``alias``, ``predicted_values``)."""
        names = [value, attrs.get("value", ""), attrs.get("alias", "")]
        names += attrs.get("predicted_values", "").split(",")
        return cls(value=value, names=tuple(n.strip() for n in names if n and n.strip()))


class LabelMap:
    """Maps a model's entity types onto the config's labels; unknown types map to ``None``.

    An exact match on a label's value, alias or ``predicted_values`` wins; otherwise the match
    is case-insensitive (a model's ``per`` is a config's ``PER``).
    """

    def __init__(self, labels: Iterable[ConfigLabel]) -> None:
        self.labels = list(labels)
        self._exact: dict[str, str] = {}
        self._folded: dict[str, str] = {}
        for label in self.labels:
            for name in label.names:
                self._exact.setdefault(name, label.value)
                self._folded.setdefault(name.casefold(), label.value)

    @property
    def values(self) -> list[str]:
        """The config's label values in config order (the stable order of a new head)."""
        return [label.value for label in self.labels]

    def to_config(self, entity: str | None) -> str | None:
        """The config label for a model entity type, or ``None`` when the config has none."""
        if entity is None:
            return None
        return self._exact.get(entity) or self._folded.get(entity.casefold())

    def covers(self, model_labels: Iterable[str]) -> bool:
        """Whether at least one entity type of a model's label names has a config counterpart."""
        return any(self.to_config(parse_tag(name).entity) for name in model_labels)

    def tags_for(self, id2label: Mapping[int, str]) -> dict[int, Tag]:
        """A model's label ids as tags over config labels; types the config lacks become ``O``."""
        table = {}
        for index, name in id2label.items():
            tag = parse_tag(name)
            entity = self.to_config(tag.entity)
            table[int(index)] = Tag(entity, begins=tag.begins) if entity else Tag(None)
        return table
