"""Serves RuleNER exactly as upstream backends' ``_wsgi.py`` files do."""

from model import RuleNER

from label_studio_ml.api import init_app

app = init_app(model_class=RuleNER)
