"""The memory stores with awaited methods: the same classes' logic, the embedder awaited
(``aembed``) and the SQLite steps in a thread.

    from workbench import aio
    mem = aio.SemanticMemoryStore("memory.db", embedder="openai:text-embedding-3-small")
    await mem.add("The user prefers metric units."); await mem.search("units")
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Iterable

from workbench.memory import documents, semantic
from workbench.memory.base import MemoryHit


class SemanticMemoryStore(semantic.SemanticMemoryStore):
    async def add(self, texts: "str | Iterable[str]", *, tags: Iterable[str] | None = None,  # type: ignore[override]
                  meta: dict | None = None) -> "int | list[int]":
        rows = semantic._rows(texts, tags, meta)
        vectors = await self.embedder.aembed([r["text"] for r in rows])
        ids = await asyncio.to_thread(self._insert, rows, vectors)
        return ids[0] if isinstance(texts, str) else ids

    async def search(self, query: str, k: int = 5, *,  # type: ignore[override]
                     tags: Iterable[str] | None = None) -> list[MemoryHit]:
        vector = (await self.embedder.aembed([query]))[0]
        return await asyncio.to_thread(self._nearest, vector, k, tags=tags)


class DocumentStore(documents.DocumentStore):
    async def add_text(self, text: str, *, source: str, chunk_chars: int = 1000,  # type: ignore[override]
                       overlap: int = 150, meta: dict | None = None) -> list[int]:
        rows = documents.chunk_rows(text, source, chunk_chars, overlap, meta)
        vectors = await self.embedder.aembed([r["text"] for r in rows])
        return await asyncio.to_thread(self._insert, rows, vectors, replace_source=source)

    async def add_file(self, path: "str | Path", *, chunk_chars: int = 1000,  # type: ignore[override]
                       overlap: int = 150, encoding: str = "utf-8") -> list[int]:
        text, source, kept = await asyncio.to_thread(self._read_file, path, encoding)
        if kept is not None:
            return kept
        return await self.add_text(text, source=source, chunk_chars=chunk_chars, overlap=overlap)

    async def search(self, query: str, k: int = 5, *,  # type: ignore[override]
                     source: str | None = None) -> list[MemoryHit]:
        vector = (await self.embedder.aembed([query]))[0]
        return await asyncio.to_thread(self._nearest, vector, k, source=source)

