"""Bounds on what one project's per-task stores keep on disk, and the small ledger counting it.

Three stores write one file per task (and control): the annotations webhooks brought
(``label_studio_ml.studio.received``), the instant records of labeled tasks and the embeddings of
predicted tasks (``hf_text.instant.records``). Each request or webhook adds files, so a client could
fill the disk; each store therefore has ``Bounds`` (files, bytes, bytes of one file) and keeps
``<store>/.usage.json`` up to date as it writes, under a lock: the bounds are checked without
listing the folder, and ``/metrics`` reads one small file per store (``disk_report``).

When a store is full it either evicts its oldest files (least recently written first) or refuses
new ones (``Bounds.evicts``); a file over ``file_bytes`` is always refused. Either way the ledger
counts it (``evicted``, ``refused``) and the first refusal of a process is logged as a warning.
A store written before the ledger existed is counted once, by a scan, when first read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from label_studio_ml.state.files import folder_lock, write_atomically

logger = logging.getLogger(__name__)

USAGE_FILE = ".usage.json"
_LOCK = ".usage.lock"  # not the stores' own ``.lock``: flock on a second handle would deadlock
_WARNED: set[str] = set()
_REPORTED = ("files", "bytes", "evicted", "refused", "limits")


@dataclass(frozen=True)
class Bounds:
    """What one project's store may keep: files, bytes, bytes of one file; evict or refuse when full."""

    files: int
    bytes: int
    file_bytes: int
    evicts: bool


@dataclass
class Usage:
    """What a store keeps now, and what it evicted or refused since it was created."""

    files: int = 0
    bytes: int = 0
    evicted: int = 0
    refused: int = 0
    groups: dict[str, int] = field(default_factory=dict)  # files per sub-folder (a control)

    def over(self, bounds: Bounds) -> bool:
        """Whether more is kept than ``bounds`` allow."""
        return self.files > bounds.files or self.bytes > bounds.bytes


def _size(path: Path) -> int | None:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


def _is_kept(name: str) -> bool:
    return name.endswith(".json") and not name.startswith(".")


class Ledger:
    """The usage of the store in ``root``: its files lie in ``root`` (``depth`` 0) or in its
    sub-folders, one per control (``depth`` 1)."""

    def __init__(self, root: Path, bounds: Bounds, depth: int = 0) -> None:
        self.root = Path(root)
        self.bounds = bounds
        self.depth = depth

    # -- reading -----------------------------------------------------------------------------
    def usage(self) -> Usage:
        """The ledger, or (a store from before it existed) a count of the files."""
        try:
            raw = json.loads((self.root / USAGE_FILE).read_text(encoding="utf-8"))
            return Usage(**{key: raw[key] for key in ("files", "bytes", "evicted", "refused", "groups")})
        except (OSError, ValueError, KeyError, TypeError):
            return self._scan()

    def oldest_first(self) -> list[tuple[int, int, Path]]:
        """Every kept file's (time, size, path), least recently written first."""
        found = []
        for folder in self._folders():
            with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
                for entry in entries:
                    if _is_kept(entry.name) and entry.is_file():
                        with contextlib.suppress(FileNotFoundError):
                            info = entry.stat()
                            found.append((info.st_mtime_ns, info.st_size, Path(entry.path)))
        return sorted(found)

    def _folders(self) -> list[Path]:
        if self.depth == 0:
            return [self.root]
        try:
            return [Path(e.path) for e in os.scandir(self.root) if e.is_dir() and not e.name.startswith(".")]
        except FileNotFoundError:
            return []

    def _scan(self) -> Usage:
        usage = Usage()
        for _, size, path in self.oldest_first():
            self._count(usage, path, size, 1)
        return usage

    def _group(self, path: Path) -> str:
        return path.parent.name if self.depth else ""

    def _count(self, usage: Usage, path: Path, size: int, files: int) -> None:
        usage.files += files
        usage.bytes += size
        if self.depth:
            group = self._group(path)
            usage.groups[group] = max(usage.groups.get(group, 0) + files, 0)

    # -- writing (inside ``update``) ---------------------------------------------------------
    @contextlib.contextmanager
    def update(self, locked: bool = True) -> Iterator[Usage]:
        """The usage to change, saved afterwards; ``locked=False`` where the caller holds a lock
        over every writer of the store already."""
        lock = folder_lock(self.root, _LOCK) if locked else contextlib.nullcontext()
        with lock:
            usage = self.usage()
            yield usage
            when_full = "evict oldest" if self.bounds.evicts else "refuse new"
            limits = {**asdict(self.bounds), "when_full": when_full}
            write_atomically(self.root / USAGE_FILE, json.dumps({**asdict(usage), "limits": limits}))

    def write(self, usage: Usage, path: Path, text: str, group_limit: int | None = None) -> bool:
        """Write ``text`` to ``path`` if the bounds allow (evicting the oldest files after, for an
        evicting store); whether it was written."""
        size, old = len(text.encode("utf-8", "surrogatepass")), _size(path)
        why = self._refusal(usage, path, size, old, group_limit)
        if why is not None:
            usage.refused += 1
            self._warn(f"{path.parent}: not kept: {why}")
            return False
        write_atomically(path, text)
        self._count(usage, path, size - (old or 0), 0 if old is not None else 1)
        return True

    def _refusal(
        self, usage: Usage, path: Path, size: int, old: int | None, group_limit: int | None
    ) -> str | None:
        """Why writing ``size`` bytes over ``old`` (``None``: a new file) exceeds the bounds."""
        bounds = self.bounds
        if size > bounds.file_bytes:
            return f"{size} bytes, more than {bounds.file_bytes} in one file"
        if bounds.evicts:
            return None
        if old is None and usage.files >= bounds.files:
            return f"the store is full ({bounds.files} files)"
        if old is None and group_limit is not None and usage.groups.get(self._group(path), 0) >= group_limit:
            return f"the control is full ({group_limit} files)"
        if usage.bytes - (old or 0) + size > bounds.bytes:
            return f"the store is full ({bounds.bytes} bytes)"
        return None

    def remove(self, usage: Usage, path: Path) -> bool:
        """Delete ``path``; whether it was there."""
        size = _size(path)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        self._count(usage, path, -(size or 0), -1)
        return True

    def evict(self, usage: Usage, keep: Path, before: Callable[[Path], None] | None = None) -> None:
        """Delete the oldest files (never ``keep``) until within bounds, and a hundredth more so that
        the next writes do not list the folder again; ``before`` sees each one first. The count is
        taken from the listing, which also corrects any drift of the ledger."""
        found = [item for item in self.oldest_first() if item[2] != keep]
        usage.files, usage.bytes = len(found) + 1, sum(size for _, size, _ in found) + (_size(keep) or 0)
        bounds = self.bounds
        files, size = bounds.files - bounds.files // 100, bounds.bytes - bounds.bytes // 100
        for _, _, path in found:
            if usage.files <= files and usage.bytes <= size:
                break
            if before is not None:
                before(path)
            if self.remove(usage, path):
                usage.evicted += 1
        self._warn(f"{self.root}: full ({bounds.files} files, {bounds.bytes} bytes): oldest evicted")

    def _warn(self, message: str) -> None:
        key = f"{self.root}"
        if key not in _WARNED:  # once per store and process: a full store refuses every request
            _WARNED.add(key)
            logger.warning("%s", message)
        else:
            logger.debug("%s", message)


def disk_report(data_dir: Path, project: str) -> dict[str, Any]:
    """Each of the project's bounded stores' usage, by folder name (reads the ledgers only)."""
    report: dict[str, Any] = {}
    try:
        entries = list(os.scandir(Path(data_dir) / project))  # a handful of folders, not the files
    except (FileNotFoundError, NotADirectoryError):
        return report
    for entry in entries:
        try:
            usage = json.loads(Path(entry.path, USAGE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(usage, dict):
            report[entry.name] = {key: usage.get(key) for key in _REPORTED}
    return report
