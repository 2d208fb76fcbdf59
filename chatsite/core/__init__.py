"""Building blocks every app shares; imports no app and nothing of the server (docs/architecture.md)."""
