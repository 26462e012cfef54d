"""Serves SklearnTextClassifier exactly as upstream backends' ``_wsgi.py`` files do."""

from model import SklearnTextClassifier

from label_studio_ml.api import init_app

app = init_app(model_class=SklearnTextClassifier)
