"""Hypothesis strategies for hostile request bodies, grown from Label Studio's real ones.

A body starts as a captured request (``tests/fixtures/``) and is mutated: fields dropped,
retyped, nested, enlarged and unicode-mangled. Raw bodies cover what a JSON value cannot
express: bytes that are not UTF-8, non-standard constants, absurd nesting and numbers. Label
configs come from ``tests.support.fuzz_configs``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

#: Characters that break naive text handling: astral (two UTF-16 units), lone surrogates, joiners,
#: combining marks, case mappings that change length ("İ".lower() has two code points),
#: compatibility forms the tokenizer normalizes ("ﬁ"), controls, bidi overrides, a BOM, NUL.
# fmt: off
TRICKY_CHARS = [
    "😀", "👨\u200d👩\u200d👧", "🇩🇪", "\U0001d518", "\U0010ffff", "\ud800", "\udfff", "\udc00\ud800",
    "e\u0301", "\u0345", "İ", "ß", "ﬁ", "Ⅻ", "﷽", "\u200b", "\u200d", "\u202e", "\u2028",
    "\ufeff", "\ufffe", "\x00", "\x1b", "\t", "\n", "\r\n", "東京", "ア", "한국어", "\u3000", "  ",
    "<", "&amp;", '"', "\\", "$text", "%s", "{}",
]
# fmt: on

# fmt: off
JSON_KEYS = [
    "project", "tasks", "label_config", "params", "context", "schema", "hostname", "access_token",
    "extra_params", "action", "annotation", "data", "text", "id", "result", "value", "label", "self",
]
# fmt: on


def tricky_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Short strings mixing any code point (surrogates included) with the tricky ones above."""
    alphabet = st.one_of(st.characters(codec=None, exclude_categories=()), st.sampled_from(TRICKY_CHARS))
    return st.lists(alphabet, max_size=max_size).map("".join)


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, small: what a retyped field becomes."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        tricky_text(12),
        st.sampled_from(["1", "1.5", "-1", "a/b", "../x", "1" * 80, "http://x", "START_TRAINING"]),
    )
    return st.recursive(leaves, _containers, max_leaves=8)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(JSON_KEYS) | tricky_text(6)
    return st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3)


# -- mutations of a captured body ------------------------------------------------------------------
def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) into ``value``, the root excluded."""
    found = []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return found
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def _parent(body: Any, path: tuple) -> tuple[Any, Any]:
    node = body
    for key in path[:-1]:
        node = node[key]
    return node, path[-1]


@st.composite
def mangled_text(draw: st.DrawFn, original: str) -> str:
    """``original`` with tricky characters inserted, replaced entirely, or repeated into windows."""
    how = draw(st.sampled_from(["insert", "replace", "repeat", "empty"]))
    if how == "replace":
        return draw(tricky_text())
    if how == "repeat":  # long enough for several 32-token windows
        piece = original + draw(tricky_text(8))
        return " ".join([piece] * draw(st.integers(2, 40)))
    if how == "empty":
        return draw(st.sampled_from(["", " ", "\n\t", "\u200b"]))
    text = list(original)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(text)))
        text.insert(position, draw(st.sampled_from(TRICKY_CHARS) | tricky_text(3)))
    return "".join(text)


OPERATIONS = ["drop", "retype", "nest", "enlarge", "mangle"]


@st.composite
def mutate_at(draw: st.DrawFn, body: Any, path: tuple, operations: list[str] = OPERATIONS) -> None:
    """Apply one of ``operations`` to ``body`` at ``path``, in place."""
    parent, key = _parent(body, path)
    value = parent[key]
    operation = draw(st.sampled_from(operations))
    if operation == "drop":
        del parent[key]
    elif operation == "retype":
        parent[key] = draw(json_values())
    elif operation == "nest":
        for _ in range(draw(st.sampled_from([1, 2, 5, 30, 63, 70]))):
            value = draw(st.sampled_from([lambda v: [v], lambda v: {"x": v}, lambda v: {"text": v}]))(value)
        parent[key] = value
    elif operation == "enlarge":
        if isinstance(value, list) and value:
            parent[key] = value * draw(st.integers(2, 6))
        elif isinstance(value, str):
            parent[key] = value * draw(st.integers(2, 200))
        elif isinstance(value, dict):
            added = draw(
                st.dictionaries(st.sampled_from(JSON_KEYS) | tricky_text(6), json_values(), max_size=3)
            )
            parent[key] = {**value, **added}
        else:
            parent[key] = draw(st.sampled_from([2**63, -(2**63) - 1, 10**300, 1e308, -0.0]))
    elif isinstance(value, str):
        parent[key] = draw(mangled_text(value))
    else:
        parent[key] = draw(tricky_text())


@st.composite
def mutated_body(draw: st.DrawFn, base: dict[str, Any], focus: list[tuple] = ()) -> dict[str, Any]:
    """A deep copy of ``base`` with one to four mutations, often at the ``focus`` paths."""
    body = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        focused = [path for path in focus if _exists(body, path)]
        every = paths(body)
        if not every:
            break
        if focused and draw(st.booleans()):  # a focus path: mangled more often than not
            draw(mutate_at(body, draw(st.sampled_from(focused)), ["mangle"] * 4 + OPERATIONS))
        else:
            draw(mutate_at(body, draw(st.sampled_from(every))))
    return body


def _exists(body: Any, path: tuple) -> bool:
    node = body
    for key in path:
        found = isinstance(node, dict) and key in node
        found = found or (isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node))
        if not found:
            return False
        node = node[key]
    return True


def text_paths(body: dict[str, Any]) -> list[tuple]:
    """Where a predict body keeps its task texts, so they are mangled more often than the rest."""
    tasks = body.get("tasks") if isinstance(body.get("tasks"), list) else []
    return [("tasks", index, "data", "text") for index in range(len(tasks))]


# -- raw bodies ------------------------------------------------------------------------------------
@st.composite
def raw_body(draw: st.DrawFn, base: dict[str, Any]) -> tuple[bytes, str]:
    """Bytes (and a content type) a JSON value cannot express, built around ``base``."""
    text = json.dumps(base)
    placeholder = '"__HERE__"'
    marked = json.dumps({**base, "x": "__HERE__"})
    how = draw(
        st.sampled_from(
            [
                "deep",
                "constant",
                "big int",
                "bad utf8",
                "utf16",
                "bom",
                "truncated",
                "duplicate keys",
                "empty",
                "whitespace",
                "escaped surrogates",
                "charset",
            ]
        )
    )
    content_type = "application/json"
    if how == "deep":
        depth = draw(st.sampled_from([64, 65, 1000, 100_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        raw = marked.replace(placeholder, opener * depth + "1" + closer * depth).encode()
    elif how == "constant":
        raw = marked.replace(placeholder, draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))).encode()
    elif how == "big int":
        raw = marked.replace(placeholder, "9" * draw(st.sampled_from([400, 4300, 4301, 100_000]))).encode()
    elif how == "bad utf8":
        raw = marked.replace(placeholder, '"\xff"').encode("latin-1", "replace")
    elif how == "utf16":
        raw = text.encode("utf-16")
    elif how == "bom":
        raw = b"\xef\xbb\xbf" + text.encode()
    elif how == "truncated":
        raw = text.encode()[: draw(st.integers(0, len(text) - 1))]
    elif how == "duplicate keys":
        raw = ("{" + text[1:-1] + ', "project": [1], "tasks": 5}').encode()
    elif how == "empty":
        raw = b""
    elif how == "whitespace":
        raw = b" \n\t "
    elif how == "escaped surrogates":
        raw = marked.replace(placeholder, '"\\ud800 \\udfff \\ud83d\\ude00"').encode()
        raw = raw.replace(b'"text": "', b'"text": "\\udc00', 1)
    else:
        content_type = draw(st.sampled_from(["application/json; charset=latin-1", "application/vnd.x+json"]))
        raw = text.encode()
    return raw, content_type
