"""``label-studio-ml create NAME``: a new backend directory that runs and passes its own tests at once.

It holds ``model.py`` (a small working model to start from), ``_wsgi.py``, ``test_api.py``,
``requirements.txt``, ``Dockerfile``, ``docker-compose.yml``, ``.dockerignore`` and ``README.md``.
With ``--script path.py[:Class]`` (upstream's option) the backend serves an existing model file
instead, copied with the ``requirements.txt``, ``test_api.py`` and ``README.md`` found next to it.
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).parents[1] / "templates" / "backend"
_RENAMED = {"dockerignore.tmpl": ".dockerignore"}
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_FROM_SCRIPT_DIR = ("requirements.txt", "test_api.py", "README.md")


class ScaffoldError(Exception):
    """The backend directory cannot be created as asked."""


@dataclass(frozen=True)
class ModelSource:
    """The module and class a backend serves, and the script to copy (``None``: our template)."""

    module: str
    model_class: str
    script: Path | None = None


def class_name_for(name: str) -> str:
    """``my_backend`` -> ``MyBackend``: the model class a new backend directory gets."""
    parts = [part for part in re.split(r"[^A-Za-z0-9]+", name) if part]
    candidate = "".join(part[:1].upper() + part[1:] for part in parts) or "NewModel"
    return candidate if candidate[0].isalpha() else f"Model{candidate}"


def model_classes_in(script: Path) -> list[str]:
    """Classes in ``script`` that derive from ``LabelStudioMLBase`` directly (read, not imported)."""
    tree = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(ast.unparse(base).endswith("LabelStudioMLBase") for base in node.bases)
    ]


def source_from_script(spec: str) -> ModelSource:
    """``path.py`` or ``path.py:Class`` (upstream's ``--script``/``--from``) as a ``ModelSource``."""
    path_text, _, model_class = spec.rpartition(":") if re.search(r":[A-Za-z_]\w*$", spec) else (spec, "", "")
    script = Path(path_text)
    if not script.is_file() or script.suffix != ".py":
        raise ScaffoldError(f"{script} is not a Python file")
    if not model_class:
        classes = model_classes_in(script)
        if len(classes) != 1:
            raise ScaffoldError(
                f"{script} defines {len(classes)} LabelStudioMLBase subclasses; pick one: {script}:ClassName"
            )
        model_class = classes[0]
    return ModelSource(module=script.stem, model_class=model_class, script=script)


def create_backend(directory: Path, source: ModelSource | None = None, force: bool = False) -> Path:
    """Write a backend directory; returns it. Refuses an existing one unless ``force``."""
    name = directory.name
    if not _NAME.match(name):
        raise ScaffoldError(f"{name!r} is not a usable directory name (letters, digits, _ . -)")
    if directory.exists():
        if not force:
            raise ScaffoldError(f"{directory} already exists; remove it or pass --force")
        shutil.rmtree(directory)
    source = source or ModelSource(module="model", model_class=class_name_for(name))
    directory.mkdir(parents=True)
    values = {"{{NAME}}": name, "{{MODULE}}": source.module, "{{MODEL_CLASS}}": source.model_class}
    skipped = set()
    if source.script is not None:
        shutil.copy2(source.script, directory / source.script.name)
        skipped = {"model.py", "test_api.py"}
        for sibling in _FROM_SCRIPT_DIR:
            if (source.script.parent / sibling).is_file():
                shutil.copy2(source.script.parent / sibling, directory / sibling)
    for template in sorted(TEMPLATES.glob("*.tmpl")):
        target = directory / _RENAMED.get(template.name, template.name.removesuffix(".tmpl"))
        if target.name in skipped or target.exists():
            continue
        text = template.read_text(encoding="utf-8")
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        target.write_text(text, encoding="utf-8")
    return directory


def next_steps(directory: Path) -> str:
    """What to tell the user after ``create``."""
    return (
        f"Created {directory}.\n"
        f"  label-studio-ml start {directory}     serve it on http://0.0.0.0:9090\n"
        f"  cd {directory} && pytest              run its API tests\n"
        f"Then connect http://<host>:9090 in Label Studio (project Settings -> Model)."
    )
