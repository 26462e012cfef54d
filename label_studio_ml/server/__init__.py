"""The HTTP side: request parsing, auth, logs, what /versions and /metrics report, live models."""
