"""WSGI entry point: ``label-studio-ml start bert_classifier`` or ``python bert_classifier/_wsgi.py``."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Loaded by path (gunicorn's ``_wsgi:app``, or run as a script): make the repository root
    # importable so the package imports below resolve without an install.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    # The launcher only execs gunicorn; the app is built in the workers, not here.
    from label_studio_ml.cli import serve

    serve(__file__)
else:
    from bert_classifier.model import BertClassifier
    from label_studio_ml.api import create_app

    app = create_app(BertClassifier)
