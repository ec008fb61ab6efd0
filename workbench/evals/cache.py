"""An opt-in response cache (SQLite): the same request is answered from disk.

The key covers everything that decides the answer: provider and model, base URL, the
system message, the prompt, generation options, the tools offered, the seed, and the epoch
when the model samples (so epochs of a sampled run stay distinct; at ``temperature=0``
epochs share one entry). Errors are never cached. Hits are marked ``cache_hit`` in rows.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from workbench.prompts.catalog import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY, output TEXT NOT NULL, thinking TEXT, usage TEXT, created_at REAL NOT NULL
);
"""


def request_key(client: Any, prompt: str, generate_kwargs: dict | None, epoch: int) -> str:
    options = dict(getattr(client, "default_generate_kwargs", None) or {})
    options.update(generate_kwargs or {})
    tools = sorted(getattr(t, "__name__", str(t)) for t in (getattr(client, "tools", None) or []))
    sampling = options.get("temperature") != 0
    parts = {
        "model": getattr(client, "model_string", type(client).__name__),
        "base_url": str(getattr(client, "base_url", "") or ""),
        "system": getattr(client, "system_message", None),
        "prompt": prompt,
        "options": options,
        "tools": tools,
        "epoch": epoch if sampling else None,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class ResponseCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._conn = connect(self.path)
        self._conn.executescript(SCHEMA)
        self.hits = self.misses = 0

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT output, thinking, usage FROM responses WHERE key=?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return {"output": row[0], "thinking": row[1] or "", "usage": json.loads(row[2] or "{}")}

    def put(self, key: str, result: dict[str, Any]) -> None:
        self._conn.execute("INSERT OR REPLACE INTO responses (key, output, thinking, usage, created_at) "
                           "VALUES (?,?,?,?,?)", (key, result["output"], result.get("thinking") or "",
                                                  json.dumps(result.get("usage") or {}), time.time()))

    def close(self) -> None:
        self._conn.close()


def open_cache(cache: "bool | str | Path | ResponseCache | None", store_path: Path | None) -> ResponseCache | None:
    """``cache=True`` keeps the cache next to the run store (``<store>.cache.db``), or in
    ``.workbench/response-cache.db``; a path names the file; False or None: no cache."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, ResponseCache):
        return cache
    if cache is True:
        if store_path is not None:
            path = store_path.with_name(store_path.name + ".cache.db")
        else:
            path = Path(".workbench") / "response-cache.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return ResponseCache(path)
    return ResponseCache(cache)
