"""Prometheus metrics for operators: what is counted (``metrics``), how ``/metrics`` shows it in the
Prometheus text format (``exposition``, ``http``), and the shared directory gunicorn's workers count
in (``multiproc``, ``gunicorn_hooks``)."""
