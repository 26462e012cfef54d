"""Talking to Label Studio: SDK client, pinned connections, task data, label configs, webhooks."""
