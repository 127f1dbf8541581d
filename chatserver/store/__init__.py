"""The Store: where conversations, messages and people are kept (SQLite by default)."""
