"""Hypothesis strategies for label configs: Label Studio's real ones changed a little, ones
assembled from its object and control tags and their attributes, and ones broken as XML."""

from __future__ import annotations

import copy
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

from hypothesis import strategies as st

from tests.support.fuzz_strategies import tricky_text

OBJECT_TAGS = ["Text", "HyperText", "Paragraphs", "Image", "Audio", "Table", "List", "TimeSeries", "Video"]
CONTROL_TAGS = [
    "Choices",
    "Labels",
    "TextArea",
    "Rating",
    "Taxonomy",
    "Number",
    "RectangleLabels",
    "HyperTextLabels",
    "ParagraphLabels",
    "Relations",
]
NAMES = ["text", "label", "text2", "label2", "img", "t", ""]


def _attribute(name: str, value: str | None) -> str:
    return "" if value is None else f" {name}={quoteattr(value)}"


@st.composite
def object_tag(draw: st.DrawFn) -> str:
    """An object tag: a ``<Text>`` mostly, with good, missing and wrong attributes."""
    tag = draw(st.sampled_from(["Text"] * 4 + OBJECT_TAGS))
    attrs = _attribute("name", draw(st.sampled_from(NAMES) | st.none()))
    attrs += _attribute(
        "value", draw(st.sampled_from(["$text", "$text", "$other", "$", "text", "$a b"]) | st.none())
    )
    attrs += _attribute("valueType", draw(st.sampled_from(["text", "url", "html", "URL"]) | st.none()))
    return f"<{tag}{attrs}/>"


@st.composite
def control_tag(draw: st.DrawFn) -> str:
    """A control tag over some name, with options (``<Choice>``/``<Label>``) and attributes."""
    tag = draw(st.sampled_from(["Choices", "Labels"] * 3 + CONTROL_TAGS))
    attrs = _attribute("name", draw(st.sampled_from(["label"] * 3 + NAMES) | st.none()))
    attrs += _attribute(
        "toName", draw(st.sampled_from(["text"] * 3 + [*NAMES, "nope", "text,text2"]) | st.none())
    )
    for attribute, values in (
        ("choice", ["single", "multiple", "bogus"]),
        ("perRegion", ["true", "false"]),
        ("value", ["$options", "static"]),
        ("showInline", ["true"]),
        ("required", ["true"]),
    ):
        attrs += _attribute(attribute, draw(st.sampled_from(values) | st.none()))
    child = {"Labels": "Label", "HyperTextLabels": "Label", "ParagraphLabels": "Label"}.get(tag, "Choice")
    options = ""
    for _ in range(draw(st.integers(0, 4))):
        value = draw(
            st.sampled_from(["positive", "negative", "PER", "LOC", "ORG", "MISC", ""]) | tricky_text(6)
        )
        value = "".join(char for char in value if _xml_char(char))
        options += f"<{child}{_attribute(draw(st.sampled_from(['value', 'alias'])), value)}/>"
    return f"<{tag}{attrs}>{options}</{tag}>"


def _xml_char(char: str) -> bool:
    code = ord(char)
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code > 0xFFFF


@st.composite
def mutated_config(draw: st.DrawFn, config: str) -> str:
    """A real config with one or two of its tags' attributes changed, dropped or added, or a tag
    renamed: near misses, which is where a backend most easily serves something wrongly."""
    root = ElementTree.fromstring(config)
    elements = list(root)
    for _ in range(draw(st.integers(1, 2))):
        element = draw(st.sampled_from(elements))
        change = draw(st.sampled_from(["set", "set", "drop", "rename", "clear", "duplicate"]))
        if change == "set":
            attribute, values = draw(st.sampled_from(sorted(CONFIG_ATTRIBUTES.items())))
            element.set(attribute, draw(st.sampled_from(values)))
        elif change == "drop" and element.attrib:
            del element.attrib[draw(st.sampled_from(sorted(element.attrib)))]
        elif change == "rename":
            element.tag = draw(st.sampled_from(OBJECT_TAGS + CONTROL_TAGS))
        elif change == "clear":
            element[:] = []
        elif change == "duplicate":
            root.append(copy.deepcopy(element))
    return ElementTree.tostring(root, encoding="unicode")


#: Attributes of Label Studio's tags and values worth trying, valid and not.
CONFIG_ATTRIBUTES = {
    "toName": ["text", "label", "nope", "text,text2", ""],
    "name": ["text", "label", "label2", ""],
    "value": ["$text", "$other", "$", "hello", "$options", ""],
    "valueType": ["text", "url", "html", "URL"],
    "perRegion": ["true", "false"],
    "choice": ["single", "multiple", "bogus"],
}


@st.composite
def label_configs(draw: st.DrawFn, valid: list[str]) -> str:
    """A label config: one of ``valid`` as it is or changed a little, one assembled from tags,
    or one broken as XML."""
    kind = draw(
        st.sampled_from(["valid", "mutated", "mutated", "mutated", "assembled", "assembled", "broken"])
    )
    if kind == "valid":
        return draw(st.sampled_from(valid))
    if kind == "mutated":
        return draw(mutated_config(draw(st.sampled_from(valid))))
    tags = draw(st.lists(object_tag() | control_tag(), min_size=0, max_size=5))
    config = "<View>" + "".join(tags) + "</View>"
    if kind == "assembled":
        return config
    breakage = draw(st.sampled_from(["truncate", "doctype", "deep", "comment", "encoding", "not xml", "nul"]))
    if breakage == "truncate":
        return config[: draw(st.integers(0, max(len(config) - 1, 0)))]
    if breakage == "doctype":
        entities = '<!DOCTYPE v [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        return entities + config.replace("<View>", '<View><Header value="&b;"/>', 1)
    if breakage == "deep":
        depth = draw(st.sampled_from([10, 300, 3000]))
        return "<View>" * depth + "".join(tags) + "</View>" * depth
    if breakage == "comment":  # the SDK reads a sample task from such a comment
        return config.replace("<View>", "<View><!-- {" + "[" * 2000 + " -->", 1)
    if breakage == "encoding":
        return '<?xml version="1.0" encoding="UTF-8"?>' + config
    if breakage == "nul":
        return config.replace("<View>", "<View>\x00", 1)
    return draw(tricky_text())
