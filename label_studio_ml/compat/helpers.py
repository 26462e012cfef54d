"""The helper methods upstream's ``LabelStudioMLBase`` (label-studio-ml 2.x) gives backends.

``LabelStudioMLBase`` inherits them, so a backend written for upstream calls ``self.build_label_map``,
``self.preload_task_data``, ``self.get_local_path``, ``self.parsed_label_config`` or
``self.extra_params`` unchanged. Task data files are read only through the project's own Label Studio,
with the credentials the server holds for the project (``label_studio()``), never from another host.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from label_studio_ml.errors import LabelStudioUnavailable
from label_studio_ml.studio.task_files import TaskFiles, preload

if TYPE_CHECKING:
    from label_studio_sdk.label_interface import LabelInterface

    from label_studio_ml.context import BackendContext
    from label_studio_ml.studio.client import LabelStudioAccess

logger = logging.getLogger(__name__)

#: The version a model's ``setup()`` last pinned (upstream backends set ``model_version`` there).
SETUP_VERSION_KEY = "_setup_model_version"


class UpstreamHelpers:
    """Mixin of upstream's public model helpers; ``LabelStudioMLBase`` provides what they build on."""

    project_id: str
    context: BackendContext
    label_config: str | None

    if TYPE_CHECKING:

        @property
        def label_interface(self) -> LabelInterface: ...
        def get(self, key: str) -> Any: ...
        def set(self, key: str, value: Any) -> None: ...
        def label_studio(self) -> LabelStudioAccess: ...
        @property
        def label_studio_project(self) -> str: ...

    # -- label config ----------------------------------------------------------------------
    @property
    def parsed_label_config(self) -> dict[str, Any]:
        """The label config as upstream's ``parse_config`` gives it: ``{from_name: {type, to_name, ...}}``."""
        from label_studio_sdk._extensions.label_studio_tools.core.label_config import parse_config

        return parse_config(self.label_config) if self.label_config else {}

    def get_first_tag_occurence(
        self,
        control_type: str | tuple[str, ...],
        object_type: str | tuple[str, ...],
        name_filter: Callable[[str], bool] | None = None,
        to_name_filter: Callable[[str], bool] | None = None,
    ) -> tuple[str, str, str]:
        """``(from_name, to_name, value)`` of the first ``control_type`` tag over an ``object_type`` tag."""
        return self.label_interface.get_first_tag_occurence(
            control_type=control_type,
            object_type=object_type,
            name_filter=name_filter,
            to_name_filter=to_name_filter,
        )

    def build_label_map(self, tag_name: str, names: list[str]) -> dict[str, str]:
        """Map the model's label names to the labels of control tag ``tag_name``.

        A ``<Label predicted_values="car, truck">`` claims those model names; a label without a match
        there takes the model name equal to it, else one equal ignoring case. Labels no model name
        matches are left out.
        """
        names = list(names)
        by_lower = {}
        for name in names:
            by_lower.setdefault(name.lower(), name)
        label_map: dict[str, str] = {}
        for label, tag in self.label_interface.get_control(tag_name).labels_attrs.items():
            claimed = [value.strip() for value in str(tag.attr.get("predicted_values", "")).split(",")]
            matched = [value for value in claimed if value and value in names]
            for value in matched:
                label_map[value] = label
            if matched:
                continue
            if label in names:
                label_map[label] = label
            elif label.lower() in by_lower:
                label_map[by_lower[label.lower()]] = label
        logger.debug("model labels -> Label Studio labels for %s: %s", tag_name, label_map)
        return label_map

    # -- extra params ----------------------------------------------------------------------
    @property
    def extra_params(self) -> dict[str, Any]:
        """The ML backend's "extra params" from Label Studio (a JSON object; ``{}`` when none)."""
        raw = self.get("extra_params")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                logger.warning("project %s: extra_params is not JSON; ignored", self.project_id)
                return {}
        return raw if isinstance(raw, dict) else {}

    def set_extra_params(self, extra_params: Any) -> None:
        """Remember the extra params Label Studio sent with ``/setup``."""
        self.set("extra_params", extra_params)

    # -- task data files -------------------------------------------------------------------
    def get_local_path(
        self,
        url: str,
        project_dir: str | None = None,
        ls_host: str | None = None,
        ls_access_token: str | None = None,
        task_id: int | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> str:
        """A local copy of a task data file: an upload, a Local Files URL or a cloud storage URI.

        It is downloaded once through the project's own Label Studio, with the credentials the server
        holds for the project; ``ls_host`` may only name that Label Studio, and ``ls_access_token``,
        ``project_dir`` and ``task_id`` are accepted for compatibility but not needed.
        """
        files = TaskFiles(self.context.data_dir / "task-files", self.label_studio_project, self.label_studio)
        return files.local_path(url, ls_host=ls_host)

    def preload_task_data(self, task: dict[str, Any], value: Any = None, read_file: bool = True) -> Any:
        """``value`` (usually a task's data or one field of it) with file references replaced by content.

        Strings naming a file (see ``utils.is_preload_needed``) become the file's text, or its local
        path with ``read_file=False``; dicts and lists are walked recursively; anything else is kept.
        """
        task_id = task.get("id") if isinstance(task, dict) else None
        return preload(value, lambda url: self.get_local_path(url=url, task_id=task_id), read_file)

    def get_label_studio_access_token(self) -> str | None:
        """The token for this project's Label Studio (a PAT is exchanged for an access token)."""
        try:
            return self.label_studio().access_token()
        except LabelStudioUnavailable:
            return None

    # -- versions pinned in setup() --------------------------------------------------------
    def _accepts_setup_version(self, version: Any) -> bool:
        """Whether a ``model_version`` set inside ``setup()`` replaces the project's current one.

        Upstream backends pin a constant version in ``setup()``, which upstream runs on every request.
        Here it runs when an instance is created, also after a training published a newer version: the
        pinned constant then must not undo it. A new constant (the code changed) is taken.
        """
        if self.get("model_version") is not None and self.get(SETUP_VERSION_KEY) == version:
            return False
        self.context.state.set(self.project_id, SETUP_VERSION_KEY, version)
        return True
