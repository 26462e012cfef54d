"""A ``<HyperText>`` page as Label Studio's editor counts it: its text nodes, their XPaths, global offsets.

Label Studio 1.23.2 (``RichText/domManager.ts``) sanitizes the page (``<script>`` and ``<iframe>`` go,
with their text; comments go), renders it in an iframe and walks the ``<body>``: every text node
counts its characters (code points, whitespace as written, hidden text such as a ``<style>`` in the
body included) and every ``<br>`` counts one; ``globalOffsets`` index that sequence. A region's
``start``/``end`` are the XPaths of its first and last text nodes relative to the body
(``/p[1]/b[1]/text()[1]``: lower-case tag names, ``text()`` for a text node, 1-based positions among
siblings of the same name) and ``startOffset``/``endOffset`` are UTF-16 units within those nodes.

A model reads those characters (a ``<br>`` as a line break) with a line break added where a block
element (``<p>``, ``<div>``, ``<li>``...) would otherwise glue two words together; the added breaks
belong to no node and no offset. Parsing is the standard library's: well-formed pages map exactly;
what only a browser's error recovery decides (a ``<p>`` left open inside another, text directly in
a ``<table>``) may differ.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from label_studio_ml.studio.utf16 import code_points, utf16_length

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
                  "param", "source", "track", "wbr"})  # fmt: skip
#: Removed with their contents by the editor's ``sanitizeHtml``.
DROPPED = frozenset({"script", "iframe"})
#: Parsed into ``<head>`` while no body content came before them (so not counted).
HEAD_TAGS = frozenset({"head", "title", "style", "meta", "link", "base", "noscript"})
#: Elements whose edges separate words when rendered.
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "dd", "details", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main",
    "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip


@dataclass
class _Element:
    name: str
    children: list[_Element | str] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    """The body's element tree, built as a browser would for a well-formed page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.body = _Element("body")
        self.stack = [self.body]
        self.dropping = 0  # depth inside a dropped element
        self.in_body = False  # body content seen: later head-like tags stay in the body
        self.head_depth = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if self.dropping or tag in DROPPED:
            self.dropping += tag not in VOID
            return
        if tag in ("html", "body") or (tag == "head" and not self.in_body):
            self.in_body |= tag == "body"  # whitespace after <body> is a text node of the body
            return
        if not self.in_body and tag in HEAD_TAGS:
            self.head_depth += tag not in VOID
            return
        self.in_body = True
        parent = self.stack[-1]
        if tag == "tr" and parent.name == "table":  # the parser adds the <tbody> a table row needs
            parent = self._open("tbody", parent)
        self._open(tag, parent)
        if tag in VOID:
            self.stack.pop()

    def _open(self, tag: str, parent: _Element) -> _Element:
        element = _Element(tag)
        parent.children.append(element)
        self.stack.append(element)
        return element

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if self.dropping or tag in DROPPED:
            return  # nothing inside it to drop
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack[-1].name == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if self.dropping:
            self.dropping -= 1
            return
        if self.head_depth and tag in HEAD_TAGS:
            self.head_depth -= 1
            return
        names = [element.name for element in self.stack]
        if tag in names[1:]:  # close it and whatever was left open inside it
            del self.stack[len(names) - 1 - names[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if self.dropping or self.head_depth:
            return
        if not self.in_body:
            if not data.strip():
                return  # whitespace before the body's content is not in the body
            self.in_body = True
        children = self.stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += data  # one text node, as the browser's DOM has
        else:
            children.append(data)


@dataclass(frozen=True)
class TextNode:
    """One text node: its XPath, where its characters begin in the page's counted characters."""

    path: str
    offset: int
    text: str

    @property
    def end(self) -> int:
        """The counted position after its last character."""
        return self.offset + len(self.text)


@dataclass(frozen=True)
class PageText:
    """What a model reads of a page, and how a span of it is a Label Studio HyperText region.

    ``counted``: the characters ``globalOffsets`` index (a ``<br>`` as ``\\n``); ``text``: the same
    with the block breaks added at ``breaks`` (positions in ``text``); ``nodes``: the text nodes.
    """

    text: str
    counted: str
    nodes: tuple[TextNode, ...]
    breaks: tuple[int, ...] = ()

    @functools.cached_property
    def _break_offsets(self) -> list[int]:
        # An added break's counted position: that of the character after it.
        return [position - index for index, position in enumerate(self.breaks)]

    def to_counted(self, position: int) -> int:
        """The counted position of a position in ``text``."""
        return position - bisect_left(self.breaks, position)

    def from_counted(self, offset: int, *, end: bool = False) -> int:
        """The position in ``text`` of a counted offset (a span's end stays before an added break)."""
        offsets = self._break_offsets
        return offset + (bisect_left(offsets, offset) if end else bisect_right(offsets, offset))

    def region(self, start: int, end: int) -> dict[str, Any] | None:
        """The region keys of the span ``[start, end)`` of ``text``; ``None`` when it begins or ends
        outside a text node (in a ``<br>``) or is empty."""
        first, last = self.to_counted(start), self.to_counted(end)
        begin = next((node for node in self.nodes if node.offset <= first < node.end), None)
        finish = next((node for node in self.nodes if node.offset < last <= node.end), None)
        if begin is None or finish is None or last <= first:
            return None
        return {
            "start": begin.path,
            "startOffset": utf16_length(begin.text[: first - begin.offset]),
            "end": finish.path,
            "endOffset": utf16_length(finish.text[: last - finish.offset]),
            "globalOffsets": {"start": first, "end": last},
            "text": self.counted[first:last],
        }

    def span(self, value: Mapping[str, Any]) -> tuple[int, int] | None:
        """The span of ``text`` a region value covers: by its ``globalOffsets``, else its XPaths."""
        offsets = value.get("globalOffsets")
        if isinstance(offsets, Mapping):
            first, last = offsets.get("start"), offsets.get("end")
        else:
            first = self._counted_at(value.get("start"), value.get("startOffset"))
            last = self._counted_at(value.get("end"), value.get("endOffset"))
        if not all(isinstance(item, int) and not isinstance(item, bool) for item in (first, last)):
            return None
        if not 0 <= first < last <= len(self.counted):
            return None
        return self.from_counted(first), self.from_counted(last, end=True)

    def _counted_at(self, path: Any, units: Any) -> int | None:
        if not isinstance(units, int) or isinstance(units, bool):
            return None
        node = next((node for node in self.nodes if node.path == path), None)
        return None if node is None else node.offset + code_points(node.text, units)


def page_text(html: str) -> PageText:
    """The page's counted characters, text nodes and model text (see the module docstring)."""
    builder = _TreeBuilder()
    # A browser reads CRLF and CR as LF before parsing: text nodes never hold a carriage return.
    builder.feed(html.replace("\r\n", "\n").replace("\r", "\n"))
    builder.close()
    walk = _Walk()
    walk.element(builder.body, "")
    return PageText("".join(walk.text), "".join(walk.counted), tuple(walk.nodes), tuple(walk.breaks))


class _Walk:
    """Document order over the body, as the editor's tree walker visits it."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.counted: list[str] = []
        self.nodes: list[TextNode] = []
        self.breaks: list[int] = []
        self.length = 0  # of ``text``
        self.offset = 0  # of ``counted``
        self.block_edge = False

    def element(self, element: _Element, path: str) -> None:
        seen: dict[str, int] = {}
        for child in element.children:
            name = "text()" if isinstance(child, str) else child.name
            seen[name] = seen.get(name, 0) + 1
            where = f"{path}/{name}[{seen[name]}]"
            if isinstance(child, str):
                self.node(child, where)
            elif child.name == "br":
                self.add("\n")
            else:
                self.block_edge |= child.name in BLOCKS
                self.element(child, where)
                self.block_edge |= child.name in BLOCKS

    def node(self, data: str, path: str) -> None:
        glued = self.text and data and not self.text[-1][-1:].isspace() and not data[0].isspace()
        if self.block_edge and glued:
            self.breaks.append(self.length)
            self.text.append("\n")
            self.length += 1
        self.block_edge = self.block_edge and not data
        self.nodes.append(TextNode(path, self.offset, data))
        self.add(data)

    def add(self, data: str) -> None:
        self.text.append(data)
        self.counted.append(data)
        self.length += len(data)
        self.offset += len(data)
