"""Label Studio 1.23.2's own text templates (read from its installed package) and what a backend's
``/setup`` makes of each: served, served in part (controls ignored, objects not read) or refused."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from label_studio_sdk.label_interface import LabelInterface

from tests.support.label_studio_server import venv_path

#: Object tags that show text (``<Header>`` is a caption): a template whose objects are all of these
#: is a text template, whichever group Label Studio files it under.
TEXT_OBJECTS = frozenset({"Text", "HyperText", "Paragraphs", "Chat", "List", "Header"})


@dataclass(frozen=True)
class Template:
    """One template folder: ``group/folder``, its title, its label config and its tags."""

    group: str
    folder: str
    title: str
    config: str
    objects: tuple[str, ...]
    controls: tuple[str, ...]

    @property
    def key(self) -> str:
        """``group/folder``, as the README table names it."""
        return f"{self.group}/{self.folder}"


def templates_dir() -> Path | None:
    """``label_studio/annotation_templates`` of the installed Label Studio, or ``None``."""
    found = sorted(venv_path().glob("lib/python3*/site-packages/label_studio/annotation_templates"))
    return found[0] if found else None


def text_templates(root: Path) -> list[Template]:
    """Every template under ``root`` whose objects all show text, sorted by group and folder."""
    found = []
    for path in sorted(root.glob("*/*/config.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        config = str(data.get("config") or "")
        interface = LabelInterface(config)
        objects = tuple(sorted({obj.tag for obj in interface.objects}))
        if not objects or not set(objects) <= TEXT_OBJECTS:
            continue
        controls = tuple(sorted({control.tag for control in interface.controls}))
        title = str(data.get("title") or path.parent.name)
        found.append(Template(path.parent.parent.name, path.parent.name, title, config, objects, controls))
    return found


def setup_outcome(client: Any, project: str, config: str) -> tuple[str, list[str]]:
    """``("served" | "in part" | "refused", reasons)`` of one ``/setup`` through a Flask test client."""
    body = {"project": project, "schema": config, "hostname": "", "access_token": ""}
    answer = client.post("/setup", json=body)
    if answer.status_code == 422:
        return "refused", [answer.get_json()["error"]]
    assert answer.status_code == 200, (answer.status_code, answer.get_data(as_text=True))
    entry = client.get("/metrics").get_json()["projects"][project]
    reasons = list(entry.get("ignored_controls") or []) + list(entry.get("unread_objects") or [])
    return ("in part" if reasons else "served"), reasons
