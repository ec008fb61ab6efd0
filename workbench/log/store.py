"""The call log: one SQLite file, one row per chat() / generate(), searchable by FTS5.

Table ``calls``: ``id``, ``started_at`` (unix seconds), ``duration_s``, ``kind`` (chat |
generate), ``model`` (the model string, without any credential in a URL), ``provider``,
``client_id`` (one per client object), ``conversation`` (a ConversationManager name),
``run_id`` and ``agent`` (from ``log.context``), ``tags`` (JSON: the rest of the context),
``options`` (JSON), ``messages`` (JSON: what was sent), ``prompt`` (the last user text),
``answer``, ``thinking``, ``tool_calls`` (JSON), ``input_tokens``, ``output_tokens``,
``finish_reason``, ``error``. ``calls_fts`` indexes ``prompt``, ``answer`` and ``thinking``.

Writes go through one writer thread (``BatchWriter``); the JSON and the redaction of the
client's credentials happen there. A write that fails is a ``CallLogWarning``, never an
error in the call.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from workbench.errors import StoreError
from workbench.sqlite_writer import BatchWriter

FIELDS = ("started_at", "duration_s", "kind", "model", "provider", "client_id", "conversation", "run_id", "agent",
          "tags", "options", "messages", "prompt", "answer", "thinking", "tool_calls", "input_tokens",
          "output_tokens", "finish_reason", "error")

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY, started_at REAL NOT NULL, duration_s REAL, kind TEXT, model TEXT, provider TEXT,
    client_id TEXT, conversation TEXT, run_id TEXT, agent TEXT, tags TEXT, options TEXT, messages TEXT,
    prompt TEXT, answer TEXT, thinking TEXT, tool_calls TEXT, input_tokens INTEGER, output_tokens INTEGER,
    finish_reason TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS calls_started ON calls (started_at);
CREATE VIRTUAL TABLE IF NOT EXISTS calls_fts USING fts5(prompt, answer, thinking, content='calls', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS calls_fts_insert AFTER INSERT ON calls BEGIN
    INSERT INTO calls_fts (rowid, prompt, answer, thinking) VALUES (new.id, new.prompt, new.answer, new.thinking);
END;
CREATE TRIGGER IF NOT EXISTS calls_fts_delete AFTER DELETE ON calls BEGIN
    INSERT INTO calls_fts (calls_fts, rowid, prompt, answer, thinking)
    VALUES ('delete', old.id, old.prompt, old.answer, old.thinking);
END;
"""

BUSY_TIMEOUT_S = 10.0          # how long to wait for another process's write lock

_INSERT = f"INSERT INTO calls ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})"


def open_sqlite(path: Path, what: str) -> sqlite3.Connection:
    """A WAL connection to ``path`` with a busy timeout; StoreError naming the path and the fix."""
    from workbench.prompts.catalog import _enter_wal

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        _enter_wal(conn, wait_s=BUSY_TIMEOUT_S)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(sqlite_problem(path, what, exc)) from exc
    return conn


def sqlite_problem(path: Path, what: str, exc: BaseException) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        fix = "the file is not a SQLite database (or is damaged): move it away and a new one is made"
    elif "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        fix = "the file or its folder is read-only: give a writable path"
    elif "locked" in text or "busy" in text:
        fix = "another process holds a write lock on it: close that process, or use another path"
    else:
        fix = "check the path and that its folder is writable"
    return f"The {what} {str(path)!r} cannot be used ({text}): {fix}."


class CallLog:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._conn = open_sqlite(self.path, "call log")
        try:
            self._conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(sqlite_problem(self.path, "call log", exc)) from exc
        self.written = 0
        self._warned: set[str] = set()
        self._writer = BatchWriter(lambda: open_sqlite(self.path, "call log"), self._write_batch,
                                   name=f"CallLog:{self.path.name}")

    # -- writing (the writer thread does the work) ----------------------------------------------
    def submit(self, record: dict[str, Any]) -> None:
        self._writer.put(record)

    def _write_batch(self, conn: sqlite3.Connection, batch: list[dict[str, Any]]) -> None:
        rows = []
        for record in batch:
            try:
                rows.append(storable(record))
            except Exception as exc:
                self._warn(f"a call could not be prepared for the log: {type(exc).__name__}: {exc}")
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_INSERT, rows)
            conn.execute("COMMIT")
            self.written += len(rows)
        except Exception as exc:
            try:
                conn.execute("ROLLBACK")
            except Exception:
                pass
            self._warn(sqlite_problem(self.path, "call log", exc) + f" {len(rows)} call(s) were not logged.")

    def _warn(self, message: str) -> None:
        import warnings

        from workbench.errors import CallLogWarning

        if message not in self._warned:          # once per distinct problem, not per call
            self._warned.add(message)
            warnings.warn(message, CallLogWarning, stacklevel=2)

    def flush(self, timeout: float = 30.0) -> None:
        self._writer.flush(timeout)

    def close(self) -> None:
        self.flush()
        self._writer.close()
        self._conn.close()

    # -- reading -----------------------------------------------------------------------------
    def recent(self, n: int = 20, **filters: Any) -> list[dict[str, Any]]:
        """The last ``n`` calls, newest first (filters: model, kind, conversation, run_id, agent,
        client_id, since=unix seconds, errors=True for failed calls only)."""
        where, args = _filters(filters)
        return self._select(f"SELECT * FROM calls {where} ORDER BY id DESC LIMIT ?", (*args, int(n)))

    def search(self, query: str, n: int = 50, *, raw: bool = False, **filters: Any) -> list[dict[str, Any]]:
        """Calls whose prompt, answer or thinking match ``query``, best first. Every word must
        appear (prefix match with ``word*``); ``raw=True`` passes FTS5 query syntax through."""
        match = query if raw else fts_query(query)
        if not match:
            return []
        where, args = _filters(filters, prefix="c.")
        where = where.replace("WHERE", "AND", 1)
        try:
            return self._select(f"SELECT c.* FROM calls_fts f JOIN calls c ON c.id = f.rowid WHERE calls_fts MATCH ? "
                                f"{where} ORDER BY f.rank LIMIT ?", (match, *args, int(n)))
        except sqlite3.OperationalError as exc:
            if raw:
                raise StoreError(f"The FTS5 query {query!r} is not valid ({exc}); drop raw=True to search for "
                                 "the words as written.") from exc
            raise

    def count(self) -> int:
        self.flush()
        return self._conn.execute("SELECT count(*) FROM calls").fetchone()[0]

    def _select(self, sql: str, args: tuple) -> list[dict[str, Any]]:
        self.flush()
        cur = self._conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [_loaded(dict(zip(names, row))) for row in cur]


_JSON_FIELDS = ("tags", "options", "messages", "tool_calls")


def storable(record: dict[str, Any]) -> tuple:
    """The row for ``record``: JSON text for structures, the client's credentials redacted,
    the model string without a URL's user info."""
    from workbench.models.redact import redact_text, shareable_model_string

    secrets = [s for s in record.get("secrets") or [] if s]
    tags = dict(record.get("tags") or {})
    row = {k: record.get(k) for k in FIELDS}
    row["run_id"], row["agent"] = tags.pop("run_id", None), tags.pop("agent", None)
    row["tags"] = tags
    row["prompt"] = last_user_text(record.get("messages") or [])
    model = str(record.get("model") or "")
    row["model"] = shareable_model_string(model) or model.partition("@")[0] + "@<url with credentials>"
    for key in _JSON_FIELDS:
        row[key] = json.dumps(row[key], default=str, ensure_ascii=False)
    for key in ("prompt", "answer", "thinking", "error", *_JSON_FIELDS):
        if isinstance(row[key], str) and secrets:
            row[key] = redact_text(row[key], secrets)
    return tuple(row[k] for k in FIELDS)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def fts_query(text: str) -> str:
    """Each word quoted (so punctuation is never FTS5 syntax); ``word*`` stays a prefix match."""
    parts = []
    for word in text.split():
        star = word.endswith("*")
        word = word.rstrip("*").replace('"', '""')
        if word:
            parts.append(f'"{word}"' + ("*" if star else ""))
    return " ".join(parts)


def _filters(filters: dict[str, Any], prefix: str = "") -> tuple[str, tuple]:
    clauses, args = [], []
    for key, value in filters.items():
        if value is None:
            continue
        if key == "since":
            clauses.append(f"{prefix}started_at >= ?")
            args.append(float(value))
        elif key == "errors":
            clauses.append(f"{prefix}error IS {'NOT ' if value else ''}NULL")
        elif key in ("model", "kind", "conversation", "run_id", "agent", "client_id", "provider"):
            clauses.append(f"{prefix}{key} = ?")
            args.append(value)
        else:
            raise TypeError(f"Unknown filter {key!r}: use model, kind, conversation, run_id, agent, client_id, "
                            "provider, since or errors.")
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(args)


def _loaded(row: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON_FIELDS:
        if isinstance(row.get(key), str):
            try:
                row[key] = json.loads(row[key])
            except ValueError:
                pass
    row.pop("rank", None)
    return row


def default_path() -> Path:
    import os

    return Path(os.environ.get("WORKBENCH_LOG_PATH") or Path(".workbench") / "log.db")
