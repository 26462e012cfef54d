"""A ``<Taxonomy>``'s tree read from the label config: every selectable node as a path of names.

Label Studio (1.23.2, ``tags/control/Taxonomy``) names a node in results by the path from the
root, each step the node's ``alias`` when it has one, else its ``value``; siblings with the same
``value`` are one node (the first). ``leafsOnly="true"`` makes only leaves selectable. A classifier
label is one node, named by its path joined with ``PATH_SEPARATOR`` (also the words zero-shot
reads: "News / business").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

#: Joins a path's steps into a label name (Label Studio's default ``pathSeparator``).
PATH_SEPARATOR = " / "
#: No entity is expanded and nothing is fetched: a config is markup, never a document type.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True)
class TaxonomyNodes:
    """The selectable nodes of one ``<Taxonomy>``, in config (depth-first) order."""

    labels: tuple[str, ...]
    #: Each label's path, as results write it (alias or value per step).
    paths: dict[str, tuple[str, ...]]
    #: Each label's attributes: ``value`` is the path of values (what a result written before an
    #: alias existed carries), ``hint`` the node's own.
    label_attrs: dict[str, dict[str, str]]


def path_label(path: Any) -> str | None:
    """The label name of a result's path (a list of step names), ``None`` when it is not one."""
    if not isinstance(path, list | tuple) or not path:
        return None
    return PATH_SEPARATOR.join(str(step) for step in path)


def taxonomy_nodes(label_config: str, name: str, leafs_only: bool) -> TaxonomyNodes:
    """The nodes of the ``<Taxonomy name=name>`` in ``label_config`` (empty when there is none)."""
    root = etree.fromstring(label_config.encode(), parser=_PARSER)
    element = next((e for e in root.iter("Taxonomy") if e.get("name") == name), None)
    labels: list[str] = []
    paths: dict[str, tuple[str, ...]] = {}
    attrs: dict[str, dict[str, str]] = {}
    if element is None:
        return TaxonomyNodes((), {}, {})
    for path, values, node in _walk(element, (), ()):
        label = PATH_SEPARATOR.join(path)
        if label in paths or (leafs_only and _children(node)):
            continue
        labels.append(label)
        paths[label] = path
        attrs[label] = {"value": PATH_SEPARATOR.join(values), **_own(node)}
    return TaxonomyNodes(tuple(labels), paths, attrs)


def _walk(element: Any, path: tuple[str, ...], values: tuple[str, ...]) -> Any:
    """``(path, values path, node)`` of every node under ``element``, parents first."""
    seen: set[str] = set()
    for node in _children(element):
        value = node.get("value")
        if value is None or value in seen:
            continue  # Label Studio keeps the first of same-valued siblings
        seen.add(value)
        steps, named = (*path, node.get("alias") or value), (*values, value)
        yield steps, named, node
        yield from _walk(node, steps, named)


def _children(element: Any) -> list[Any]:
    return [child for child in element if isinstance(child.tag, str) and child.tag == "Choice"]


def _own(node: Any) -> dict[str, str]:
    """The node's attributes zero-shot and ``/metrics`` may read (its ``hint``, its ``alias``)."""
    return {key: str(node.get(key)) for key in ("alias", "hint") if node.get(key) is not None}
