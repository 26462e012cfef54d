"""Active learning: Label Studio's "Label All Tasks" hands out the task the model is least sure of.

``driver`` runs rounds in the background when a project publishes a version (or connects);
``rounds`` is one round: score the unlabeled pool with the served version, write predictions of
that version for the least confident tasks, point the project at it; ``selection`` picks them.
"""
