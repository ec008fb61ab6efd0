"""ConversationManager: conversations saved in SQLite, resumed in another kernel, another day.

    conversations = ConversationManager("chats.db")
    conversations.attach(c, name="tide-pools")    # saved now, then after every completed turn
    conversations.list()                          # newest first
    c2 = conversations.resume("tide-pools")       # a new client on the stored model, history restored
    conversations.export("tide-pools", "tide-pools.md")

Tables: ``conversations`` (``name`` primary key, ``model``, ``base_url`` (none when it
held a credential: ``url_withheld``), ``system``, ``messages`` count, ``digest``,
``created_at``, ``updated_at``) and ``messages`` (``name``, ``seq``,
``message``: the OpenAI-format dict as JSON, thinking and tool calls included). Each save
is one transaction: a killed kernel leaves the last completed turn, never half of one. A
save after a turn appends only the new messages when the stored ones are still the start
of the history (a chained digest says so); otherwise (``reset()``, ``restore()``) the
conversation is replaced. The client's credentials are redacted from what is stored, and
a base URL that carries a credential is not stored (resume then asks for it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

from workbench.errors import ConversationError, StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    name TEXT PRIMARY KEY, model TEXT NOT NULL, base_url TEXT, url_withheld INTEGER NOT NULL DEFAULT 0, system TEXT,
    messages INTEGER NOT NULL DEFAULT 0, digest TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    name TEXT NOT NULL REFERENCES conversations (name) ON UPDATE CASCADE ON DELETE CASCADE,
    seq INTEGER NOT NULL, message TEXT NOT NULL, PRIMARY KEY (name, seq)
);
"""


class ConversationSaveWarning(RuntimeWarning):
    """An attached client's turn could not be saved (the turn itself completed; the next
    save writes it)."""


def _state(client: Any) -> Any:
    return client.__dict__.get("_state", client)       # an aio client keeps its state apart


def _chain(digest: str, message_json: str) -> str:
    return hashlib.sha256((digest + "\n" + message_json).encode()).hexdigest()


def stored_endpoint(state: Any) -> tuple[str, str | None, bool]:
    """(model string, base URL or None, whether a URL with a credential was withheld)."""
    from workbench.models.redact import plain_url

    url = getattr(state, "base_url", None)
    if url and not plain_url(url):
        return state.model_string, None, True
    return state.model_string, url or None, False


class ConversationManager:
    def __init__(self, path: str | Path = "conversations.db"):
        from workbench.log.store import open_sqlite, sqlite_problem

        self.path = Path(path)
        self._conn = open_sqlite(self.path, "conversation store")
        try:
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(sqlite_problem(self.path, "conversation store", exc)) from exc
        self._listeners: dict[int, Any] = {}

    def __repr__(self) -> str:
        return f"<ConversationManager {str(self.path)!r}: {len(self)} conversations>"

    def __len__(self) -> int:
        return self._conn.execute("SELECT count(*) FROM conversations").fetchone()[0]

    def __contains__(self, name: str) -> bool:
        return self._row(name) is not None

    # -- saving ----------------------------------------------------------------------------------
    def save(self, client: Any, name: str | None = None) -> str:
        """Save ``client``'s conversation as ``name`` (default: its attached name, else a new
        one) in one transaction; returns the name."""
        state = _state(client)
        name = name or getattr(state, "conversation_name", None) or self._new_name()
        self._check_name(name)
        with self._transaction() as conn:
            self._write(conn, state, name)
        return name

    def attach(self, client: Any, name: str | None = None) -> str:
        """Save ``client`` now and after every chat() that completes; its calls carry the
        name in the call log. A name that exists must hold the same model (``resume`` is
        how to continue a stored conversation)."""
        state = _state(client)
        name = name or self._new_name()
        row = self._row(name)
        if row is not None and row[0] != state.model_string and state.messages != self.load(name):
            raise ConversationError(f"A conversation named {name!r} is already stored with {row[0]}: attach "
                                    "under another name, or continue it with resume(name).")
        self.detach(client)
        self.save(state, name)
        state.conversation_name = name

        def saved_after_turn(turned: Any) -> None:
            try:
                self.save(turned, name)
            except Exception as exc:           # the answer is there; the next save writes it
                warnings.warn(f"The turn was not saved to {str(self.path)!r} as {name!r} ({exc}); the next "
                              "completed turn saves it, or call save(client) yourself.",
                              ConversationSaveWarning, stacklevel=2)

        state.on_commit(saved_after_turn)
        self._listeners[id(state)] = saved_after_turn
        return name

    def detach(self, client: Any) -> None:
        state = _state(client)
        listener = self._listeners.pop(id(state), None)
        if listener is not None:
            state.remove_commit_listener(listener)
            state.conversation_name = None

    def _write(self, conn: sqlite3.Connection, state: Any, name: str) -> None:
        from workbench.models.redact import redact_text

        credentials = getattr(state, "_credentials", None)
        secrets = [s for s in (credentials() if callable(credentials) else []) if s]
        encoded = []
        for message in state.messages:
            text = json.dumps(message, ensure_ascii=False, default=str, sort_keys=True)
            encoded.append(redact_text(text, secrets) if secrets else text)
        now = time.time()
        row = conn.execute("SELECT messages, digest FROM conversations WHERE name=?", (name,)).fetchone()
        start, digest = 0, ""
        if row is not None:
            stored_n, stored_digest = row
            prefix = ""
            for text in encoded[:stored_n]:
                prefix = _chain(prefix, text)
            if stored_n <= len(encoded) and prefix == stored_digest:
                start, digest = stored_n, stored_digest        # only the new messages
            else:
                conn.execute("DELETE FROM messages WHERE name=?", (name,))
        for text in encoded[start:]:
            digest = _chain(digest, text)
        self._write_messages(conn, name, start, encoded[start:], state, now, digest, exists=row is not None)

    def _write_messages(self, conn, name: str, start: int, encoded: list[str], state: Any, now: float, digest: str,
                        *, exists: bool) -> None:
        (model, url, withheld), system = stored_endpoint(state), state.system_message
        if exists:
            conn.execute("UPDATE conversations SET model=?, base_url=?, url_withheld=?, system=?, messages=?, digest=?, "
                         "updated_at=? WHERE name=?",
                         (model, url, withheld, system, start + len(encoded), digest, now, name))
        else:
            conn.execute("INSERT INTO conversations (name, model, base_url, url_withheld, system, messages, digest, "
                         "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                         (name, model, url, withheld, system, len(encoded), digest, now, now))
        conn.executemany("INSERT INTO messages (name, seq, message) VALUES (?,?,?)",
                         [(name, start + i, text) for i, text in enumerate(encoded)])

    # -- reading ---------------------------------------------------------------------------------
    def list(self) -> list[dict[str, Any]]:
        """Every conversation, most recently updated first: name, model, messages, user
        turns, the first user message, created_at, updated_at."""
        out = []
        for name, model, count, created, updated in self._conn.execute(
                "SELECT name, model, messages, created_at, updated_at FROM conversations ORDER BY updated_at DESC"):
            messages = [json.loads(t) for (t,) in self._conn.execute(
                "SELECT message FROM messages WHERE name=? ORDER BY seq", (name,))]
            users = [m for m in messages if m.get("role") == "user"]
            first = users[0].get("content") if users else ""
            out.append({"name": name, "model": model, "messages": count, "turns": len(users),
                        "first": first if isinstance(first, str) else json.dumps(first)[:200],
                        "created_at": created, "updated_at": updated})
        return out

    def load(self, name: str) -> list[dict[str, Any]]:
        """The stored messages (OpenAI format, the system message first when there is one)."""
        self._require(name)
        return [json.loads(t) for (t,) in self._conn.execute(
            "SELECT message FROM messages WHERE name=? ORDER BY seq", (name,))]

    def info(self, name: str) -> dict[str, Any]:
        row = self._require(name)
        return dict(zip(("model", "base_url", "url_withheld", "system", "messages", "created_at", "updated_at"), row),
                    name=name, url_withheld=bool(row[2]))

    def resume(self, name: str, model: Any = None, *, allow_model_change: bool = False, attach: bool = True,
               **client_kwargs: Any):
        """A new client with the stored history (and, with ``attach``, saving its new turns).

        ``model`` defaults to the stored one; another model is an error unless
        ``allow_model_change=True`` (an answer written by one model continued by another
        is a different experiment). The stored base URL is used unless ``base_url=`` is
        given; one that held a credential was not stored, so it must be given again.
        """
        import workbench as wb

        info = self.info(name)
        if hasattr(model, "messages") and hasattr(model, "chat"):
            client = model
        else:
            if info["base_url"] and "base_url" not in client_kwargs and (model is None or model == info["model"]):
                client_kwargs["base_url"] = info["base_url"]
            if info["url_withheld"] and "base_url" not in client_kwargs and "@" not in str(model or ""):
                raise ConversationError(f"{name!r} was held with {info['model']} at a URL with a credential, which "
                                        "was not stored: pass base_url='http://USER:PASSWORD@HOST/...' (or a model "
                                        "string with it).")
            client = wb.client(model or info["model"], **client_kwargs)
        state = _state(client)
        if state.model_string != info["model"] and not allow_model_change:
            raise ConversationError(f"{name!r} was held with {info['model']}, not {state.model_string}: pass "
                                    "allow_model_change=True to continue it with another model, or resume it with "
                                    "the stored one.")
        state.restore(self.load(name))
        if attach:
            self.attach(client, name)
        return client

    # -- managing ---------------------------------------------------------------------------------
    def delete(self, name: str) -> None:
        self._require(name)
        with self._transaction() as conn:
            conn.execute("DELETE FROM conversations WHERE name=?", (name,))

    def rename(self, old: str, new: str) -> None:
        self._require(old)
        self._check_name(new)
        if new in self:
            raise ConversationError(f"A conversation named {new!r} exists already: delete it or pick another name.")
        with self._transaction() as conn:
            conn.execute("UPDATE conversations SET name=? WHERE name=?", (new, old))

    def export(self, name: str, path: str | Path | None = None, *, format: str | None = None) -> str:
        """The conversation as JSON (``{"name", "model", "messages"}``) or Markdown; written
        to ``path`` when given (the format then follows its suffix), and returned."""
        fmt = format or ("markdown" if path is not None and Path(path).suffix.lower() in (".md", ".markdown")
                         else "json")
        if fmt not in ("json", "markdown"):
            raise ValueError(f"format must be 'json' or 'markdown', got {fmt!r}.")
        info, messages = self.info(name), self.load(name)
        if fmt == "json":
            text = json.dumps({"name": name, "model": info["model"], "messages": messages}, ensure_ascii=False,
                              indent=2)
        else:
            text = markdown_transcript(name, info["model"], messages)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def close(self) -> None:
        self._conn.close()

    # -- helpers ----------------------------------------------------------------------------------
    def _row(self, name: str):
        return self._conn.execute("SELECT model, base_url, url_withheld, system, messages, created_at, updated_at "
                                  "FROM conversations WHERE name=?", (name,)).fetchone()

    def _require(self, name: str):
        row = self._row(name)
        if row is None:
            known = [r[0] for r in self._conn.execute(
                "SELECT name FROM conversations ORDER BY updated_at DESC LIMIT 10")]
            raise ConversationError(f"No conversation {name!r} in {str(self.path)!r}. Stored: "
                                    f"{', '.join(known) or '(none)'}.")
        return row

    @staticmethod
    def _check_name(name: Any) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConversationError(f"A conversation name is a non-empty string, got {name!r}.")

    @staticmethod
    def _new_name() -> str:
        import uuid

        return time.strftime("chat-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        from workbench.log.store import sqlite_problem

        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(sqlite_problem(self.path, "conversation store", exc)) from exc
        try:
            yield self._conn
        except BaseException as exc:
            self._conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(sqlite_problem(self.path, "conversation store", exc)) from exc
            raise
        self._conn.execute("COMMIT")


def markdown_transcript(name: str, model: str, messages: list[dict[str, Any]]) -> str:
    lines = [f"# {name}", "", f"Model: `{model}`", ""]
    for message in messages:
        role = message.get("role", "?")
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        lines.append(f"**{role}**" + (f" ({message['name']})" if message.get("name") else ""))
        lines.append("")
        if message.get("thinking"):
            lines += ["> " + line for line in str(message["thinking"]).splitlines()] + [""]
        if text:
            lines += [text, ""]
        for call in message.get("tool_calls") or []:
            fn = call.get("function", call)
            lines += [f"- tool call `{fn.get('name')}` {fn.get('arguments', '')}", ""]
    return "\n".join(lines)
