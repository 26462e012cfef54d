"""The control tags a text model serves, read from the label config, and labeled examples for them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from label_studio_ml.errors import UnprocessableEntity


@dataclass(frozen=True)
class ControlSpec:
    """One control (``<Choices>``, ``<Labels>``) over a ``<Text>`` object.

    ``labels`` keeps the config's order; ``value_key`` is the task data key the ``<Text>``'s
    ``value="$key"`` names; ``multiple`` is ``choice="multiple"``.
    """

    from_name: str
    to_name: str
    value_key: str
    value_type: str | None
    labels: tuple[str, ...]
    multiple: bool = False
    attrs: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Example:
    """A text and its training target for one control, from a task's chosen annotation."""

    text: str
    target: Any
    annotated_at: datetime
    task_id: Any = None


def find_controls(
    label_interface: Any, control_tag: str, object_tags: tuple[str, ...] = ("Text",)
) -> list[ControlSpec]:
    """Every ``control_tag`` control whose ``toName`` is one of ``object_tags``, in config order."""
    found = []
    for control in label_interface.controls:
        if control.tag != control_tag or not control.to_name:
            continue
        target = label_interface.get_object(control.to_name[0]) if control.to_name[0] else None
        if target is None or target.tag not in object_tags:
            continue
        value = str(target.value or "")
        if not value.startswith("$") or len(value) < 2:
            continue  # a literal text in the config, not task data: nothing to learn from
        attrs = {str(key): str(val) for key, val in (control.attr or {}).items()}
        found.append(
            ControlSpec(
                from_name=control.name,
                to_name=target.name,
                value_key=value[1:],
                value_type=(target.attr or {}).get("valueType"),
                labels=tuple(dict.fromkeys(str(label) for label in control.labels or [])),
                multiple=attrs.get("choice", "single").lower() == "multiple",
                attrs=attrs,
            )
        )
    return found


def require_controls(label_interface: Any, control_tag: str, model_name: str) -> list[ControlSpec]:
    """Like :func:`find_controls`, but a config with no such control cannot be served (422)."""
    controls = find_controls(label_interface, control_tag)
    if not controls:
        raise UnprocessableEntity(
            f'{model_name} needs a <{control_tag}> tag whose toName is a <Text> with value="$..." '
            "in the label config"
        )
    labelled = [control for control in controls if control.labels]
    if not labelled:
        raise UnprocessableEntity(f"the label config's <{control_tag}> has no labels")
    return labelled
