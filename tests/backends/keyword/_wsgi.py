"""Serves KeywordModel; imports it the way upstream example directories do."""

from model import KeywordModel

from label_studio_ml.api import create_app

app = create_app(KeywordModel)

if __name__ == "__main__":
    from label_studio_ml.cli import serve

    serve(__file__)
