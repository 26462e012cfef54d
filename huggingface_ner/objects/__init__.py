"""Where a span lies in the object a ``<Labels>``-like control labels: ``<Text>``, ``<HyperText>``,
``<Paragraphs>``."""
