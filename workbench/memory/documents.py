"""DocumentStore: Markdown and text files cut into overlapping chunks, searched by meaning.

    docs = DocumentStore("docs.db", embedder="hf:all-MiniLM-L6-v2")
    docs.add_file("paper.md")                 # again after an edit: its chunks are replaced
    docs.search("attention", k=5)             # MemoryHit(text, score, source, start, end, meta)

A chunk is at most ``chunk_chars`` characters, cut at a heading, a blank line or a sentence
end where one is near, and starts ``overlap`` characters before the previous one ended (at a
word boundary). ``start``/``end`` are character offsets into the file's text, so
``text[start:end]`` is the chunk; ``meta["section"]`` is the Markdown heading above it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from workbench.memory.base import MemoryHit, MemoryStore

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$", re.MULTILINE)


def chunk_text(text: str, chunk_chars: int = 1000, overlap: int = 150) -> list[tuple[int, int]]:
    """(start, end) offsets of overlapping chunks covering ``text``."""
    if chunk_chars < 50:
        raise ValueError(f"chunk_chars must be at least 50, got {chunk_chars!r}.")
    if not 0 <= overlap < chunk_chars // 2:
        raise ValueError(f"overlap must be in [0, chunk_chars / 2), got {overlap!r}.")
    spans, start, n = [], 0, len(text)
    while start < n:
        while start < n and text[start].isspace():
            start += 1
        if start >= n:
            break
        end = min(n, start + chunk_chars)
        if end < n:
            end = _cut(text, start, end)
        spans.append((start, end))
        if end >= n:
            break
        nxt = max(start + 1, end - overlap)
        while nxt < end and not text[nxt - 1].isspace():      # begin at a word
            nxt += 1
        start = nxt if nxt < end else end
    return spans


def _cut(text: str, start: int, end: int) -> int:
    """The best place to end a chunk in (start, end]: a heading, a paragraph, a sentence, a word."""
    window = text[start:end]
    floor = len(window) // 2
    for pattern in (r"\n(?=#{1,6}\s)", r"\n\s*\n", r"[.!?](?=\s)", r"\s"):
        cuts = [m.end() for m in re.finditer(pattern, window) if m.end() > floor]
        if cuts:
            return start + cuts[-1]
    return end


def section_of(text: str, offset: int) -> str | None:
    heading = None
    for m in _HEADING.finditer(text):
        if m.start() > offset:
            break
        heading = m.group(2).strip()
    return heading


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def chunk_rows(text: str, source: str, chunk_chars: int, overlap: int, meta: dict | None) -> list[dict[str, Any]]:
    """The rows a document's chunks are stored as (text, source, offsets, section, digest)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"There is no text to add for {source!r}.")
    digest = _digest(text)
    return [{"text": text[start:end], "source": source, "start": start, "end": end,
             "meta": {"section": section_of(text, start), "digest": digest, **(meta or {})}}
            for start, end in chunk_text(text, chunk_chars, overlap)]


class DocumentStore(MemoryStore):
    kind = "documents"

    def add_text(self, text: str, *, source: str, chunk_chars: int = 1000, overlap: int = 150,
                 meta: dict | None = None) -> list[int]:
        """Chunk and store ``text`` under ``source`` (replacing what ``source`` had)."""
        rows = chunk_rows(text, source, chunk_chars, overlap, meta)
        return self._insert(rows, self.embedder.embed([r["text"] for r in rows]), replace_source=source)

    def add_file(self, path: "str | Path", *, chunk_chars: int = 1000, overlap: int = 150,
                 encoding: str = "utf-8") -> list[int]:
        """Store a Markdown or text file's chunks (its path is their ``source``); a file
        whose text is unchanged since it was added is not embedded again."""
        text, source, kept = self._read_file(path, encoding)
        if kept is not None:
            return kept
        return self.add_text(text, source=source, chunk_chars=chunk_chars, overlap=overlap)

    def _read_file(self, path: "str | Path", encoding: str) -> tuple[str, str, list[int] | None]:
        """The file's text, its source name, and its stored ids when its text is unchanged."""
        file = Path(path).expanduser()
        if not file.is_file():
            raise FileNotFoundError(f"No file {str(file)!r} to add.")
        text = file.read_text(encoding=encoding)
        source = str(file.resolve())
        stored = self.items(source=source, limit=1)
        if stored and stored[0].meta.get("digest") == _digest(text):
            return text, source, [h.id for h in self.items(source=source)]
        return text, source, None

    def search(self, query: str, k: int = 5, *, source: str | None = None) -> list[MemoryHit]:
        """The ``k`` chunks nearest to ``query`` (from one ``source`` when given)."""
        return self._nearest(self.embedder.embed_one(query), k, source=source)

    def sources(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT DISTINCT source FROM items ORDER BY source").fetchall()]

    def remove(self, source: "str | Path") -> int:
        """Forget every chunk of ``source`` (a path or the name given to add_text)."""
        name = str(Path(source).expanduser().resolve()) if Path(str(source)).expanduser().exists() else str(source)
        with self._lock, self._conn:
            removed = self._delete_where("source = ?", (name,))
        self._matrix = None
        return removed

    def tools(self) -> list:
        """``search_documents(query, k)`` for an agent."""
        from workbench.memory.tools import document_tools

        return document_tools(self)
