"""Parse a project's label config and check that its tags fit together, whatever the model (422).

Label Studio validates a config before it saves it, but a backend also gets configs from callers
that never went through it, and the SDK's ``LabelInterface`` accepts broken structure silently (a
control whose ``toName`` names nothing is kept, and fails later, deep in a model). The checks here
are model-agnostic; what a particular model can serve is the model's own business.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from label_studio_sdk.label_interface import LabelInterface
from label_studio_sdk.label_interface import control_tags as sdk_control_tags
from lxml import etree

from label_studio_ml.errors import UnprocessableEntity

#: Control tags (lower case, as the SDK keys them) that only mean something with a ``toName``.
#: Self-referencing tags (a chat message, React code) name themselves, and ``<Relations>`` lists
#: relation labels for regions of any object: none of them needs one.
_NO_TO_NAME = frozenset({"chatmessage", "reactcode", "relations"})
CONTROL_TAGS = frozenset(getattr(sdk_control_tags, "_TAG_TO_CLASS", {})) - _NO_TO_NAME

#: No entity is expanded and nothing is fetched: a config is markup, never a document type.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def parse_label_config(label_config: str) -> LabelInterface:
    """The SDK's ``LabelInterface`` over ``label_config``, after structural checks.

    Raises ``UnprocessableEntity`` naming the tag and attribute at fault: not XML, a DOCTYPE, a
    name used twice, a control without ``name`` or ``toName``, a ``toName`` that names no object.
    """
    root = _parse_xml(label_config)
    elements = [element for element in root.iter() if isinstance(element.tag, str)]
    _check_names(elements)
    try:
        interface = LabelInterface(label_config)
    except Exception as exc:  # the SDK raises several types for configs it cannot read
        raise UnprocessableEntity(f"label config cannot be parsed: {_short(exc)}") from exc
    _check_references(elements, {obj.name for obj in interface.objects or []})
    return interface


def describe(tag: str, attrs: dict[str, Any]) -> str:
    """How error messages name a tag: ``<Choices name="label">``."""
    name = attrs.get("name")
    return f'<{tag} name="{_clip(name)}">' if name else f"<{tag}>"


@functools.lru_cache(maxsize=256)
def describe_controls(label_config: str) -> tuple[str, ...]:
    """Every control tag of ``label_config`` as error messages name it (``<Choices name="label">``),
    in config order; none for a config that cannot be parsed. Cached: ``/metrics`` asks per project."""
    try:
        interface = parse_label_config(label_config)
    except UnprocessableEntity:
        return ()
    return tuple(
        describe(control.tag, {str(key): str(value) for key, value in (control.attr or {}).items()})
        for control in interface.controls or []
    )


def _parse_xml(label_config: str) -> Any:
    try:
        root = etree.fromstring(label_config, parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise UnprocessableEntity(f"label config is not valid XML: {_short(exc)}") from None
    if root is None:
        raise UnprocessableEntity("label config is empty")
    if root.getroottree().docinfo.doctype:
        raise UnprocessableEntity("label config must not declare a DOCTYPE")
    return root


def _check_names(elements: Iterable[Any]) -> None:
    owners: dict[str, str] = {}
    for element in elements:
        attrs = dict(element.attrib)
        name = attrs.get("name")
        if "toName" in attrs and not name:
            raise UnprocessableEntity(f"{describe(element.tag, attrs)} has a toName but no name attribute")
        if element.tag.lower() in CONTROL_TAGS and name and not attrs.get("toName"):
            raise UnprocessableEntity(
                f"{describe(element.tag, attrs)} has no toName attribute: it must name the object it labels"
            )
        if not name:
            continue
        if name in owners:
            raise UnprocessableEntity(
                f'{describe(element.tag, attrs)}: name="{_clip(name)}" is already used by {owners[name]}'
            )
        owners[name] = f"<{element.tag}>"


def _check_references(elements: Iterable[Any], object_names: set[str]) -> None:
    tags = {element.get("name"): element for element in elements if element.get("name")}
    for element in tags.values():
        to_name = element.get("toName")
        if not to_name:
            continue
        for target in to_name.split(","):
            if target in object_names:
                continue
            where = f'{describe(element.tag, dict(element.attrib))}: toName="{_clip(to_name)}"'
            if target in tags:
                raise UnprocessableEntity(
                    f"{where} names <{tags[target].tag}>, which is not an object tag with a value"
                )
            raise UnprocessableEntity(f'{where} names no tag: there is no tag with name="{_clip(target)}"')


def _clip(value: Any, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(exc: Exception) -> str:
    return _clip(exc, 300)
