"""Structured facts: extraction from passages and tables, the SQLite store, numeric answers."""
