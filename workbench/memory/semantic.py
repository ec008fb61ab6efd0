"""SemanticMemoryStore: short facts an agent (or you) remembers and recalls by meaning.

    mem = SemanticMemoryStore("memory.db", embedder="hf:all-MiniLM-L6-v2")
    mem.add("The user prefers metric units.", tags=["prefs"])
    mem.search("units", k=3)                  # MemoryHit(text, score, tags, ...), best first
    agent = wb.agent(model, tools=mem.tools())   # remember / recall
"""

from __future__ import annotations

from typing import Any, Iterable

from workbench.memory.base import MemoryHit, MemoryStore


def _rows(texts: "str | Iterable[str]", tags: Iterable[str] | None, meta: dict | None) -> list[dict[str, Any]]:
    items = [texts] if isinstance(texts, str) else list(texts)
    if not items or not all(isinstance(t, str) and t.strip() for t in items):
        raise ValueError("add() takes a non-empty string (or a list of them).")
    return [{"text": t, "tags": list(tags or []), "meta": dict(meta or {})} for t in items]


class SemanticMemoryStore(MemoryStore):
    kind = "memory"

    def add(self, texts: "str | Iterable[str]", *, tags: Iterable[str] | None = None,
            meta: dict | None = None) -> "int | list[int]":
        """Remember one text (returns its id) or several (returns their ids)."""
        rows = _rows(texts, tags, meta)
        ids = self._insert(rows, self.embedder.embed([r["text"] for r in rows]))
        return ids[0] if isinstance(texts, str) else ids

    def search(self, query: str, k: int = 5, *, tags: Iterable[str] | None = None) -> list[MemoryHit]:
        """The ``k`` stored texts nearest to ``query`` (only those with every one of ``tags``)."""
        return self._nearest(self.embedder.embed_one(query), k, tags=tags)

    def tools(self) -> list:
        """``remember(text, tags)`` and ``recall(query, k)`` for an agent."""
        from workbench.memory.tools import memory_tools

        return memory_tools(self)
