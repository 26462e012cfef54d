"""Per-region choices of NER spans: the ``<Choices perRegion="true">`` a span answers (an aspect's
sentiment, an entity's attribute), read from annotations, learned from them, predicted for spans."""
