"""Projects an earlier release kept under their id alone move to their full key on first sight.

Before projects were told apart by creation time (``project_key``), project 1 of any Label Studio
was ``"1"``. The first ``"1.<created_at>"`` that arrives claims that state and those versions (it
is, in all likelihood, the Label Studio that made them); a second instance's project 1 arrives
with another creation time and starts fresh.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from label_studio_ml.state.contract import StateStore
from label_studio_ml.state.files import folder_lock
from label_studio_ml.state.project_key import legacy_key

logger = logging.getLogger(__name__)

#: A project's state always holds its label config once it was ever set up or predicted.
_MARKER = "label_config"


def adopt_id_only_project(state: StateStore, data_dir: Path, key: str) -> bool:
    """Move project ``label_studio_id(key)``'s state and folder to ``key`` when ``key`` is new and the
    id-only project exists; whether it moved. Costs one read for a known project."""
    old = legacy_key(key)
    if old is None or state.has(key, _MARKER) or not state.has(old, _MARKER):
        return False
    with folder_lock(Path(data_dir), ".adoption.lock"):  # every worker may see the first request
        if state.has(key, _MARKER) or not state.has(old, _MARKER):
            return False  # another worker moved it while this one waited
        # The folder first: a worker that sees the new key's state must find its versions too.
        source, target = Path(data_dir) / old, Path(data_dir) / key
        if source.is_dir() and not target.exists():
            os.rename(source, target)
        moved = state.rename_project(old, key)
    if moved:
        logger.info("project %s: adopted the state and versions an earlier release kept as project %s",
                    key, old)  # fmt: skip
    return moved
