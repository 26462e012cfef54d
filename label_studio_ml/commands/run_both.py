"""``make run``: both backends side by side (classifier on 9090, NER on 9091) until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = (("bert_classifier", 9090), ("huggingface_ner", 9091))


def main() -> int:
    """Start both, stop both when either exits or on SIGINT/SIGTERM."""
    base = Path(os.environ.get("MODEL_DIR") or ROOT / "models")
    children = []
    for name, port in BACKENDS:
        env = dict(os.environ, MODEL_DIR=str(base / name))
        command = [
            sys.executable,
            "-m",
            "label_studio_ml.cli",
            "start",
            str(ROOT / name),
            "--port",
            str(port),
        ]
        children.append(subprocess.Popen(command, env=env))
        print(f"{name}: http://localhost:{port} (MODEL_DIR={base / name})", flush=True)

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    stop()
    codes = [child.wait() for child in children]
    return max(abs(code) for code in codes) if any(codes) else 0


if __name__ == "__main__":
    sys.exit(main())
