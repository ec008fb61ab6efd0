"""A versioned prompt catalog in one SQLite file (stdlib ``sqlite3``).

    catalog = PromptCatalog("experiments.db")
    v1 = catalog.store_prompt("sentiment", "hf:workbench-tiny", "Classify: {content}")
    v2 = catalog.store_prompt("sentiment", "hf:workbench-tiny", "Label the mood: {content}",
                              parent=v1, mutation_prompt="Be more direct.", labels=["best"])
    catalog.retrieve_last("sentiment", "hf:workbench-tiny").version     # 2
    catalog.diff(v1, v2)

Versions count 1, 2, 3... per (name, model_id). A version is assigned inside one write
transaction (``BEGIN IMMEDIATE``) under a unique constraint, so two processes storing at
once get distinct versions, never the same one. Each prompt keeps its lineage (the parent
it was derived from and the mutation prompt that derived it), labels, metrics and a
content hash (the same text stored twice is two versions with one hash).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from workbench.errors import RunStoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS prompts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    model_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    parent_id INTEGER REFERENCES prompts(id),
    mutation_prompt TEXT,
    labels TEXT NOT NULL DEFAULT '[]',
    metrics TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    UNIQUE (name, model_id, version)
);
CREATE INDEX IF NOT EXISTS prompts_by_name ON prompts (name, model_id, version);
"""


@dataclass(frozen=True)
class Prompt:
    id: int
    name: str
    model_id: str
    version: int
    prompt: str
    content_hash: str
    parent_id: int | None = None
    mutation_prompt: str | None = None
    labels: tuple[str, ...] = ()
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0

    def __str__(self) -> str:
        return self.prompt


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection for a catalog or run store: WAL, a busy timeout, autocommit (explicit
    transactions only)."""
    try:
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        _enter_wal(conn)
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise RunStoreError(f"Cannot open the SQLite file {str(path)!r} ({exc}); check the path and that "
                            "its folder is writable.") from exc
    return conn


def _enter_wal(conn: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """Switch to WAL. Several processes opening one new file at once can get "database is
    locked" here at once (SQLite does not call the busy handler for this switch), so it is
    tried again until ``wait_s`` has passed."""
    deadline = time.monotonic() + wait_s
    delay = 0.01
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


class PromptCatalog:
    def __init__(self, path: str | Path = "prompts.db"):
        self.path = Path(path)
        self._conn = connect(self.path)
        self._conn.executescript(SCHEMA)

    # -- writing --------------------------------------------------------------------------
    def store_prompt(self, name: str, model_id: str, prompt: str, *, parent: "Prompt | int | None" = None,
                     mutation_prompt: str | None = None, labels: Iterable[str] = (),
                     metrics: dict[str, Any] | None = None) -> Prompt:
        """Store ``prompt`` as the next version of (name, model_id) and return it."""
        text = str(prompt)
        parent_id = parent.id if isinstance(parent, Prompt) else parent
        if parent_id is not None:
            self._get(parent_id)          # RunStoreError naming the id, not an IntegrityError
        row = (name, model_id, text, content_hash(text), parent_id, mutation_prompt,
               json.dumps(sorted(set(labels))), json.dumps(metrics or {}, default=str), time.time())
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")       # the version is read and taken in one transaction
        try:
            (latest,) = conn.execute("SELECT COALESCE(MAX(version), 0) FROM prompts WHERE name=? AND model_id=?",
                                     (name, model_id)).fetchone()
            cur = conn.execute(
                "INSERT INTO prompts (name, model_id, version, prompt, content_hash, parent_id, mutation_prompt,"
                " labels, metrics, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (name, model_id, latest + 1) + row[2:])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return self._get(cur.lastrowid)

    def label(self, prompt: "Prompt | int", *labels: str) -> Prompt:
        """Add labels ("best", "prod") to a stored prompt; a label names one version per
        (name, model_id), so it moves off any other version that had it."""
        current = self._get(prompt.id if isinstance(prompt, Prompt) else prompt)
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for other in self.retrieve_all(current.name, current.model_id):
                if other.id != current.id and set(labels) & set(other.labels):
                    conn.execute("UPDATE prompts SET labels=? WHERE id=?",
                                 (json.dumps(sorted(set(other.labels) - set(labels))), other.id))
            conn.execute("UPDATE prompts SET labels=? WHERE id=?",
                         (json.dumps(sorted(set(current.labels) | set(labels))), current.id))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return self._get(current.id)

    def delete_all(self, name: str, model_id: str | None = None) -> int:
        """Delete every version of ``name`` (for one model, or all); returns how many."""
        where, args = ("name=? AND model_id=?", (name, model_id)) if model_id is not None else ("name=?", (name,))
        cur = self._conn.execute(f"DELETE FROM prompts WHERE {where}", args)
        return cur.rowcount

    # -- reading --------------------------------------------------------------------------
    def retrieve_last(self, name: str, model_id: str) -> Prompt | None:
        row = self._conn.execute("SELECT * FROM prompts WHERE name=? AND model_id=? ORDER BY version DESC LIMIT 1",
                                 (name, model_id)).fetchone()
        return _prompt(row) if row else None

    def retrieve_all(self, name: str, model_id: str | None = None) -> list[Prompt]:
        if model_id is None:
            rows = self._conn.execute("SELECT * FROM prompts WHERE name=? ORDER BY model_id, version", (name,))
        else:
            rows = self._conn.execute("SELECT * FROM prompts WHERE name=? AND model_id=? ORDER BY version",
                                      (name, model_id))
        return [_prompt(r) for r in rows]

    def retrieve_label(self, name: str, model_id: str, label: str) -> Prompt | None:
        return next((p for p in reversed(self.retrieve_all(name, model_id)) if label in p.labels), None)

    def retrieve_version(self, name: str, model_id: str, version: int) -> Prompt | None:
        row = self._conn.execute("SELECT * FROM prompts WHERE name=? AND model_id=? AND version=?",
                                 (name, model_id, version)).fetchone()
        return _prompt(row) if row else None

    def retrieve_model_ids(self, name: str | None = None) -> list[str]:
        query, args = ("SELECT DISTINCT model_id FROM prompts WHERE name=? ORDER BY model_id", (name,)) \
            if name is not None else ("SELECT DISTINCT model_id FROM prompts ORDER BY model_id", ())
        return [r[0] for r in self._conn.execute(query, args)]

    def retrieve_names(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT DISTINCT name FROM prompts ORDER BY name")]

    def lineage(self, prompt: "Prompt | int") -> list[Prompt]:
        """The prompt and its ancestors, oldest first."""
        chain = [self._get(prompt.id if isinstance(prompt, Prompt) else prompt)]
        while chain[0].parent_id is not None and len(chain) < 10_000:
            chain.insert(0, self._get(chain[0].parent_id))
        return chain

    def diff(self, a: "Prompt | int", b: "Prompt | int") -> str:
        """A unified diff from prompt ``a`` to prompt ``b``."""
        old, new = (self._get(p.id if isinstance(p, Prompt) else p) for p in (a, b))
        return "\n".join(difflib.unified_diff(old.prompt.splitlines(), new.prompt.splitlines(), lineterm="",
                                              fromfile=f"{old.name} v{old.version}", tofile=f"{new.name} v{new.version}"))

    def close(self) -> None:
        self._conn.close()

    def _get(self, prompt_id: int) -> Prompt:
        row = self._conn.execute("SELECT * FROM prompts WHERE id=?", (prompt_id,)).fetchone()
        if row is None:
            raise RunStoreError(f"No prompt with id {prompt_id} in {self.path}.")
        return _prompt(row)

    def __repr__(self) -> str:
        return f"<PromptCatalog {self.path} names={len(self.retrieve_names())}>"


_COLUMNS = ("id", "name", "model_id", "version", "prompt", "content_hash", "parent_id", "mutation_prompt",
            "labels", "metrics", "created_at")


def _prompt(row: tuple) -> Prompt:
    data = dict(zip(_COLUMNS, row))
    data["labels"] = tuple(json.loads(data["labels"] or "[]"))
    data["metrics"] = json.loads(data["metrics"] or "{}")
    return Prompt(**data)
