"""What a model folder holds, cheaply: a stat signature (did it change?) and a tokenizer content hash.

Every trained version saves its own copy of the baseline's tokenizer. Hashing the files a tokenizer
is read from lets all those copies share one tokenizer in memory; the signature lets a folder
that was repaired or replaced be told apart from the one that failed to load.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from label_studio_ml.caching import BoundedCache

#: Files ``AutoTokenizer`` never reads: weights, the model config (which differs between versions in
#: its labels; only its ``model_type``/``tokenizer_class`` matter and are hashed separately) and notes.
_NOT_TOKENIZER = {"config.json", "generation_config.json", "meta.json", "README.md", "training_args.bin"}
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".ckpt", ".onnx", ".gguf")
_CONFIG_KEYS = ("model_type", "tokenizer_class")
#: Folders whose tokenizer hash is remembered (by signature, so a changed folder is hashed again).
_REMEMBERED = 256

Signature = tuple[tuple[str, int, int], ...]


def folder_signature(folder: Path) -> Signature:
    """Name, size and modification time of every file directly in ``folder`` (empty when absent)."""
    try:
        entries = sorted(Path(folder).iterdir())
    except OSError:
        return ()
    signature = []
    for entry in entries:
        try:
            stat = entry.stat()
        except OSError:
            continue
        signature.append((entry.name, stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


def _is_tokenizer_file(path: Path) -> bool:
    return path.is_file() and path.name not in _NOT_TOKENIZER and not path.name.endswith(_WEIGHT_SUFFIXES)


def _config_part(folder: Path) -> bytes:
    # A tokenizer_config.json without tokenizer_class makes AutoTokenizer pick the class from config.json.
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return b""
    if not isinstance(config, dict):
        return b""
    return json.dumps({key: config.get(key) for key in _CONFIG_KEYS}, sort_keys=True).encode()


def _hash_tokenizer(folder: Path) -> str:
    digest = hashlib.sha256(_config_part(folder))
    for path in sorted(path for path in folder.iterdir() if _is_tokenizer_file(path)):
        digest.update(b"\0" + path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class TokenizerFingerprints:
    """Content hashes of folders' tokenizer files, remembered per folder while it is unchanged."""

    def __init__(self, remembered: int = _REMEMBERED) -> None:
        self._known: BoundedCache[str, str] = BoundedCache(remembered)

    def of(self, folder: Path) -> str:
        """The hash of ``folder``'s tokenizer files (raises ``OSError`` when it cannot be read)."""
        signature = folder_signature(folder)
        return self._known.get_or_compute(str(folder), lambda: _hash_tokenizer(Path(folder)), signature)
