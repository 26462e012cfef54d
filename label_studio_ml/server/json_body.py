"""Parse a request body as JSON that the rest of the server can handle safely, or refuse it (400).

``json.loads`` accepts more than the server can safely carry on with: input nested so deep that it
(or any later recursive walk, such as ``json.dumps`` into the state store) hits the interpreter's
recursion limit, integers too long to convert, and escaped lone UTF-16 surrogates, which are legal
JSON but cannot be encoded as UTF-8 (the tokenizer, SQLite and the response encoder all fail on
them). This module is the one place that draws those lines. ``NaN`` and ``Infinity`` stay
accepted: Python's ``json.dumps`` (Label Studio's server) writes them for float data, and nothing
here does arithmetic on task data.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

from label_studio_ml.errors import BadRequest

#: Deepest nesting of arrays and objects accepted. Label Studio's own bodies stay under 10 levels
#: (a task with predictions inside a /predict body); 64 leaves room for nested task data while
#: keeping every recursive walk far from Python's recursion limit.
MAX_DEPTH = 64

#: A JSON string literal (the unrolled-loop form: linear time, no backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
#: Every byte except the four brackets, deleted to leave the bracket structure.
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
#: Opening brackets become +1 and closing ones -1 (as signed bytes).
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
#: An escaped surrogate code unit; only then can a parsed string hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` (UTF-8 JSON) as a dict, or ``BadRequest`` naming what is wrong with it."""
    try:
        text = raw.decode("utf-8-sig") if raw else "null"  # a BOM is tolerated, as RFC 8259 allows
    except UnicodeDecodeError:
        raise BadRequest("request body is not valid UTF-8") from None
    depth = nesting_depth(raw)
    if depth > MAX_DEPTH:
        raise BadRequest(f"request body is nested {depth} levels deep; at most {MAX_DEPTH} are accepted")
    try:
        body = json.loads(text)
    except RecursionError:  # cannot happen within MAX_DEPTH; kept so no parser limit is ever a 500
        raise BadRequest("request body is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    except ValueError:  # the only other one: an integer longer than Python converts (4,300 digits)
        raise BadRequest("request body holds a number too long to read") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    if _SURROGATE_ESCAPE.search(raw):
        body = replace_lone_surrogates(body)
    return body


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in the JSON text ``raw``, without parsing it.

    String literals are removed first (their brackets do not count); the rest runs at C speed.
    On text that is not valid JSON the number may be off, but the parser rejects such text anyway.
    """
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    steps = array("b", brackets.translate(_BRACKET_STEPS))
    return max(0, max(accumulate(steps)))


def replace_lone_surrogates(value: Any) -> Any:
    """``value`` with every unpaired surrogate in its strings (keys too) replaced by U+FFFD.

    JavaScript strings may hold them (Label Studio's task data is whatever was imported). U+FFFD is
    one UTF-16 code unit, like the surrogate it replaces, so span offsets in Label Studio's UTF-16
    units stay valid. The walk is iterative: depth is bounded already, but it needs no stack.
    """
    root = [value]
    pending: list[tuple[Any, Any]] = [(root, 0)]
    while pending:
        container, key = pending.pop()
        item = container[key]
        if isinstance(item, str):
            container[key] = _LONE_SURROGATE.sub("\ufffd", item)
        elif isinstance(item, list):
            pending.extend((item, index) for index in range(len(item)))
        elif isinstance(item, dict):
            fixed = {_LONE_SURROGATE.sub("\ufffd", name): child for name, child in item.items()}
            container[key] = fixed
            pending.extend((fixed, name) for name in fixed)
    return root[0]
