"""The control tags a text model serves, read from the label config, and labeled examples for them."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from label_studio_ml.errors import UnprocessableEntity


@dataclass(frozen=True)
class ControlSpec:
    """One control (``<Choices>``, ``<Labels>``) over a ``<Text>`` object.

    ``labels`` are the names Label Studio writes into results, in config order: a ``<Choice>``'s
    or ``<Label>``'s ``alias`` when it has one, else its ``value``. Predictions carry them too
    (Label Studio's ``<Choices>`` shows a choice as selected only by that name, and its prediction
    validation accepts only it). ``label_attrs`` holds each label's attributes (``value``,
    ``alias``, ``predicted_values``...). ``value_key`` is the task data key the ``<Text>``'s
    ``value="$key"`` names; ``multiple`` is ``choice="multiple"``.
    """

    from_name: str
    to_name: str
    value_key: str
    value_type: str | None
    labels: tuple[str, ...]
    multiple: bool = False
    attrs: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    label_attrs: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, hash=False)

    def label_for(self, name: object) -> str | None:
        """The label (an entry of ``labels``) that a result's or a trained head's ``name`` stands for.

        A result carries a label's alias, or its ``value`` when it was written before the alias
        existed (or imported from elsewhere); both count. ``None`` when the config has no such label.
        """
        return None if name is None else self._names.get(str(name))

    @functools.cached_property
    def _names(self) -> dict[str, str]:
        names = {label: label for label in self.labels}
        for label in self.labels:
            # A label's own name wins: another label's value that equals it never redirects it.
            names.setdefault(self.label_attrs.get(label, {}).get("value", label), label)
        return names


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
        labels = tuple(dict.fromkeys(str(label) for label in control.labels or []))
        found.append(
            ControlSpec(
                from_name=control.name,
                to_name=target.name,
                value_key=value[1:],
                value_type=(target.attr or {}).get("valueType"),
                labels=labels,
                multiple=attrs.get("choice", "single").lower() == "multiple",
                attrs=attrs,
                label_attrs=_label_attrs(control, labels),
            )
        )
    return found


def _label_attrs(control: Any, labels: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Each label's tag attributes; the SDK already names labels by ``alias or value``."""
    tags = getattr(control, "labels_attrs", None) or {}
    return {
        label: {str(key): str(val) for key, val in (getattr(tags.get(label), "attr", None) or {}).items()}
        for label in labels
    }


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
