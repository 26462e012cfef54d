"""What a backend keeps per project: the state contract, its SQLite and Redis stores, files."""
