"""``init_app``: upstream's way (label-studio-ml 2.x) to build the app, as every upstream ``_wsgi.py`` does.

``app = init_app(model_class=MyModel, basic_auth_user=..., basic_auth_pass=...)`` returns the same
Flask app as ``create_app(MyModel)``, configured from the environment; explicit basic-auth
credentials win over ``BASIC_AUTH_USER``/``BASIC_AUTH_PASS``.
"""

from __future__ import annotations

import dataclasses

from flask import Flask

from label_studio_ml.config import Settings
from label_studio_ml.errors import ConfigurationError
from label_studio_ml.model import LabelStudioMLBase


def init_app(
    model_class: type[LabelStudioMLBase],
    basic_auth_user: str | None = None,
    basic_auth_pass: str | None = None,
) -> Flask:
    """A Flask app serving ``model_class``, with upstream's signature."""
    from label_studio_ml.api import create_app  # api re-exports this function

    if not (isinstance(model_class, type) and issubclass(model_class, LabelStudioMLBase)):
        raise ValueError("Inference class should be the subclass of LabelStudioMLBase")
    settings = Settings.from_env()
    if basic_auth_user or basic_auth_pass:
        if not (basic_auth_user and basic_auth_pass):
            raise ConfigurationError("basic_auth_user and basic_auth_pass must be given together")
        settings = dataclasses.replace(
            settings, basic_auth_user=basic_auth_user, basic_auth_pass=basic_auth_pass
        )
    return create_app(model_class, settings)
