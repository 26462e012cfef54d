"""Learning from every annotation at once: events, per-task records, and which version Label Studio sees."""
