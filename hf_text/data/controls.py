"""The control tags a text model serves, read from the label config, and labeled examples for them."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hf_text.data.taxonomy import taxonomy_nodes
from label_studio_ml.errors import UnprocessableEntity
from label_studio_ml.studio.label_config import describe
from label_studio_ml.studio.paragraphs import PARAGRAPHS_VALUE_TYPES, DialogueKeys, dialogue_keys

#: ``valueType`` values the backends read, per object tag: a ``<Text>``'s text itself, or a URL to fetch
#: it from (a ``<HyperText>``'s page likewise); a ``<Paragraphs>``' list of turns, or a URL to one.
SERVABLE_VALUE_TYPES = {
    "Text": ("text", "url"), "HyperText": ("text", "url"), "Paragraphs": PARAGRAPHS_VALUE_TYPES
}  # fmt: skip
#: A tag, or the tags, a model serves (``HFTextModel.CONTROL_TAG``).
ControlTags = str | tuple[str, ...]


@dataclass(frozen=True)
class ControlSpec:
    """One control (``<Choices>``, ``<Taxonomy>``, ``<Labels>``) over a ``<Text>`` (or ``<Paragraphs>``).

    ``labels`` are the names Label Studio writes into results, in config order: a ``<Choice>``'s
    or ``<Label>``'s ``alias`` when it has one, else its ``value``. Predictions carry them too
    (Label Studio's ``<Choices>`` shows a choice as selected only by that name, and its prediction
    validation accepts only it). ``label_attrs`` holds each label's attributes (``value``,
    ``alias``, ``predicted_values``...). ``value_key`` is the task data key the ``<Text>``'s
    ``value="$key"`` names; ``multiple`` is ``choice="multiple"`` (a ``<Taxonomy>``'s
    ``maxUsages`` of 2 or more). ``tag`` is the control's tag; a ``<Taxonomy>``'s labels are its
    nodes, each named by its path (``hf_text.data.taxonomy``), the steps in ``paths``. ``dialogue``
    is set when the object is a ``<Paragraphs>``: its keys, and the text is the conversation as
    lines "speaker: words" (``label_studio_ml.studio.paragraphs``). ``object_tag``: the object's tag.
    """

    from_name: str
    to_name: str
    value_key: str
    value_type: str | None
    labels: tuple[str, ...]
    multiple: bool = False
    attrs: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    label_attrs: dict[str, dict[str, str]] = field(default_factory=dict, compare=False, hash=False)
    tag: str = ""
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)
    dialogue: DialogueKeys | None = None
    object_tag: str = "Text"

    def path_of(self, label: str) -> tuple[str, ...]:
        """The steps of a ``<Taxonomy>`` label's path (a choice's path is the choice alone)."""
        return self.paths.get(label, (label,))

    def leaves(self) -> tuple[str, ...]:
        """The labels no other label's path goes through (every ``<Choice>`` of a ``<Choices>``)."""
        inner = {self.path_of(label)[:-1] for label in self.labels}
        return tuple(label for label in self.labels if self.path_of(label) not in inner)

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


def _tags(control_tag: ControlTags) -> tuple[str, ...]:
    return (control_tag,) if isinstance(control_tag, str) else tuple(control_tag)


def _shown(control_tag: ControlTags) -> str:
    """``<Choices>``, or ``<Choices> or <Taxonomy>``."""
    return " or ".join(f"<{tag}>" for tag in _tags(control_tag))


def find_controls(
    label_interface: Any, control_tag: ControlTags, object_tags: tuple[str, ...] = ("Text",)
) -> list[ControlSpec]:
    """Every ``control_tag`` control whose ``toName`` is one of ``object_tags``, in config order."""
    found = []
    for control in label_interface.controls:
        if control.tag not in _tags(control_tag) or not control.to_name:
            continue
        target = label_interface.get_object(control.to_name[0]) if control.to_name[0] else None
        if target is None or target.tag not in object_tags:
            continue
        value = str(target.value or "")
        if not value.startswith("$") or len(value) < 2:
            continue  # a literal text in the config, not task data: nothing to learn from
        attrs = {str(key): str(val) for key, val in (control.attr or {}).items()}
        value_type = (target.attr or {}).get("valueType")
        dialogue = dialogue_keys(target.attr or {}) if target.tag == "Paragraphs" else None
        common = {"from_name": control.name, "to_name": target.name, "value_key": value[1:],
                  "value_type": value_type, "attrs": attrs, "tag": control.tag,
                  "dialogue": dialogue, "object_tag": target.tag}  # fmt: skip
        if control.tag == "Taxonomy":
            found.append(_taxonomy_spec(label_interface, common))
            continue
        labels = tuple(dict.fromkeys(str(label) for label in control.labels or []))
        multiple = attrs.get("choice", "single").lower() == "multiple"
        found.append(ControlSpec(**common, labels=labels, multiple=multiple,
                                 label_attrs=_label_attrs(control, labels)))  # fmt: skip
    return found


def _taxonomy_spec(label_interface: Any, common: dict[str, Any]) -> ControlSpec:
    """A ``<Taxonomy>``: one label per selectable node; several paths with ``maxUsages`` ≥ 2."""
    attrs = common["attrs"]
    nodes = taxonomy_nodes(
        label_interface.config, common["from_name"], attrs.get("leafsOnly", "").lower() == "true"
    )
    multiple = (max_usages(attrs) or 1) > 1
    return ControlSpec(**common, labels=nodes.labels, multiple=multiple, label_attrs=nodes.label_attrs,
                       paths=nodes.paths)  # fmt: skip


def max_usages(attrs: dict[str, str]) -> int | None:
    """A ``maxUsages`` attribute as a positive count (``None``: no limit, or one Label Studio ignores)."""
    try:
        limit = int(attrs.get("maxUsages", ""))
    except ValueError:
        return None
    return limit if limit > 0 else None


def _label_attrs(control: Any, labels: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Each label's tag attributes; the SDK already names labels by ``alias or value``."""
    tags = getattr(control, "labels_attrs", None) or {}
    return {
        label: {str(key): str(val) for key, val in (getattr(tags.get(label), "attr", None) or {}).items()}
        for label in labels
    }


def require_controls(
    label_interface: Any, control_tag: ControlTags, model_name: str, object_tags: tuple[str, ...] = ("Text",)
) -> list[ControlSpec]:
    """Like :func:`find_controls`, but a config with no such control, or one this model cannot
    serve as configured, is refused (422)."""
    check_servable(label_interface, control_tag, model_name, object_tags)
    controls = find_controls(label_interface, control_tag, object_tags)
    if not controls:
        others = [_described(control) for control in label_interface.controls or []]
        has = f"this label config has {', '.join(others)}" if others else "this label config has no control"
        objects = " or ".join(f'<{tag} value="$...">' for tag in object_tags)
        serves = f"{model_name} serves {_shown(control_tag)} over a {objects}"
        raise UnprocessableEntity(f"{serves}; {has}, which it cannot serve")
    labelled = [control for control in controls if control.labels]
    if not labelled:
        raise UnprocessableEntity(f"the label config's {_shown(control_tag)} has no labels")
    return labelled


def ignored_controls(
    label_interface: Any, control_tag: ControlTags, model_name: str, also_served: Collection[str] = ()
) -> list[str]:
    """The config's other controls (a ``<Rating>`` beside the ``<Choices>``...): served configs
    keep them, and ``/metrics`` says they get no predictions. ``also_served``: names of other
    controls the model predicts too (NER's per-region choices)."""
    return [
        f"{_described(control)}: {model_name} serves {_shown(control_tag)} only"
        for control in label_interface.controls or []
        if control.tag not in _tags(control_tag) and control.name not in also_served
    ]


def _described(control: Any) -> str:
    attrs = {str(key): str(value) for key, value in (control.attr or {}).items()}
    return describe(control.tag, attrs)


def check_servable(
    label_interface: Any, control_tag: ControlTags, model_name: str, object_tags: tuple[str, ...] = ("Text",)
) -> None:
    """Refuse (422) a config with a ``control_tag`` control that the model would serve wrongly.

    Serving only part of what such a control asks for (per-region choices as whole-text ones,
    choices read from task data as none, an image as no text) would give a wrong model; the
    message names the tag and the attribute to change instead.
    """
    objects = {obj.name: obj for obj in label_interface.objects or []}
    for control in label_interface.controls or []:
        if control.tag not in _tags(control_tag):
            continue
        problem = servability_problem(control, objects, model_name, object_tags)
        if problem:
            raise UnprocessableEntity(problem)


def servability_problem(
    control: Any, objects: dict[str, Any], model_name: str, object_tags: tuple[str, ...] = ("Text",)
) -> str | None:
    """Why ``model_name`` cannot serve ``control`` as configured, or ``None`` when it can."""
    attrs = {str(key): str(value) for key, value in (control.attr or {}).items()}
    where = describe(control.tag, attrs)
    kinds = " or ".join(f"<{tag}>" for tag in object_tags)
    if attrs.get("perRegion", "").lower() == "true":
        return f'{where}: perRegion="true" is not supported; {model_name} labels whole texts'
    if attrs.get("value", "").startswith("$"):
        return (
            f'{where}: value="{attrs["value"]}" (options read from task data) is not supported; '
            f"list the options as child tags"
        )
    for attr, what in (("labeling", "labeling regions"), ("apiUrl", "a taxonomy fetched from a URL")):
        if control.tag == "Taxonomy" and attrs.get(attr, "false").lower() != "false":
            return f'{where}: {attr}="{attrs[attr]}" ({what}) is not supported; list the nodes as <Choice>'
    targets = list(control.to_name or [])
    if len(targets) != 1:
        return f'{where}: toName="{attrs.get("toName", "")}" must name exactly one {kinds}'
    target = objects.get(targets[0])
    if target is None:
        return f'{where}: toName="{targets[0]}" names no object tag'
    if target.tag not in object_tags:
        serves = f"{model_name} serves <{control.tag}> over {kinds} only"
        return f'{where}: toName="{target.name}" names the <{target.tag}> tag; {serves}'
    return _object_problem(target)


def _object_problem(target: Any) -> str | None:
    attrs = {str(key): str(value) for key, value in (target.attr or {}).items()}
    where = describe(target.tag, attrs)
    value = str(target.value or "")
    if not value.startswith("$") or len(value) < 2:
        return f'{where}: value="{value}" is not a task field ("$name"), so there is no task text to label'
    value_type = attrs.get("valueType")
    servable = SERVABLE_VALUE_TYPES.get(target.tag, ())
    if value_type is not None and value_type not in servable:
        use = " or ".join(f'"{name}"' for name in servable)
        return f'{where}: valueType="{value_type}" is not supported (use {use})'
    return None
