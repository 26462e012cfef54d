"""Which ``<Choices perRegion="true">`` a ``<Labels>`` control's spans answer, and reading them from results.

Label Studio writes a region's per-region choice as a second result with the region's ``id``
(``type: "choices"``, the region's offsets and text, and ``choices``), so a choice belongs to the
labels region whose ``id`` it carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hf_text.data.controls import ControlSpec, find_controls
from huggingface_ner.bio import RegionChoice


def per_region_choices(label_interface: Any, labels: ControlSpec) -> list[ControlSpec]:
    """The ``<Choices perRegion="true">`` over the same object as ``labels`` (with listed choices,
    and no ``whenTagName`` naming another control), in config order."""
    return [
        control
        for control in find_controls(label_interface, "Choices", (labels.object_tag,))
        if control.attrs.get("perRegion", "").lower() == "true"
        and control.to_name == labels.to_name
        and control.labels
        and control.attrs.get("whenTagName", labels.from_name) == labels.from_name
    ]


def applies_to(control: ControlSpec, entity: str) -> bool:
    """Whether ``control`` is shown for a region of ``entity`` (``whenLabelValue``, when set)."""
    when = control.attrs.get("whenLabelValue")
    return not when or entity in {value.strip() for value in when.split(",")}


def region_choices(results: Iterable[dict[str, Any]]) -> dict[str, tuple[RegionChoice, ...]]:
    """Each region ``id``'s choices, from the ``choices`` results that carry one."""
    found: dict[str, list[RegionChoice]] = {}
    for result in results:
        value = result.get("value")
        if result.get("type") != "choices" or result.get("id") is None or not isinstance(value, dict):
            continue
        chosen = [item for item in value.get("choices") or [] if isinstance(item, str)]
        mine = found.setdefault(str(result["id"]), [])
        mine.extend(RegionChoice(str(result.get("from_name")), item) for item in chosen)
    return {key: tuple(value) for key, value in found.items() if value}
