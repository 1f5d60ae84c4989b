"""Thumbs up/down feedback in SQLite under ``settings.data_dir`` (``feedback.sqlite``)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,              -- unix time (seconds)
    source TEXT NOT NULL,          -- 'ui' | 'api'
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,       -- JSON list of citations as returned by /api/ask
    vote INTEGER NOT NULL,         -- +1 thumbs up, -1 thumbs down
    comment TEXT NOT NULL DEFAULT ''
);
"""

FILENAME = "feedback.sqlite"


class FeedbackStore:
    """Append-only feedback log; safe to call from the server's worker threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._ready = False

    @classmethod
    def in_dir(cls, data_dir: Path) -> FeedbackStore:
        return cls(Path(data_dir) / FILENAME)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=10)
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)
            self._ready = True
        return con

    def add(
        self,
        question: str,
        answer: str,
        citations: list[dict[str, Any]] | None,
        vote: int,
        source: str = "api",
        comment: str = "",
    ) -> int:
        if vote not in (1, -1):
            raise ValueError("vote must be +1 or -1")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._connect()
            try:
                with con:
                    cur = con.execute(
                        "INSERT INTO feedback (ts, source, question, answer, citations, vote, comment)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (time.time(), source, question, answer, json.dumps(citations or [], ensure_ascii=False), vote, comment),
                    )
                return int(cur.lastrowid or 0)
            finally:
                con.close()

    def set_comment(self, feedback_id: int, comment: str) -> bool:
        """Attach a reason to a stored vote (a thumbs-down's "what was wrong")."""
        with self._lock:
            con = self._connect()
            try:
                with con:
                    cur = con.execute("UPDATE feedback SET comment = ? WHERE id = ?", (comment, int(feedback_id)))
                return cur.rowcount == 1
            finally:
                con.close()
