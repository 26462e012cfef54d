"""The status page for people (``GET /status``): projects, learning curves and trainings, drawn
from the ``/metrics`` report; the terminal's ``label-studio-ml status`` reads the same summary."""
