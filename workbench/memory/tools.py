"""Agent tools over the memory stores: remember / recall, and search_documents."""

from __future__ import annotations

from typing import Any


def _lines(hits: list) -> str:
    return "\n".join(f"- {h.text} (score {h.score:.2f}{', tags: ' + ', '.join(h.tags) if h.tags else ''})"
                     for h in hits)


# The tools call the sync methods of the stores' own classes, also for workbench.aio's
# stores (whose add/search are awaited): an agent runs a sync tool in a worker thread.

def memory_tools(store: Any) -> list:
    from workbench.memory.semantic import SemanticMemoryStore
    from workbench.tools.decorator import tool

    @tool
    def remember(text: str, tags: list[str] | None = None) -> str:
        """Store a fact to recall later.

        Args:
            text: The fact, as one self-contained sentence.
            tags: Optional labels to filter by later.
        """
        item_id = SemanticMemoryStore.add(store, text, tags=tags or [])
        return f"Remembered (#{item_id})."

    @tool
    def recall(query: str, k: int = 5) -> str:
        """Find stored facts related to a query.

        Args:
            query: What to look for.
            k: How many facts to return.
        """
        hits = SemanticMemoryStore.search(store, query, k=max(1, min(int(k), 20)))
        return _lines(hits) if hits else "Nothing stored is related."

    return [remember, recall]


def document_tools(store: Any) -> list:
    from workbench.memory.documents import DocumentStore
    from workbench.tools.decorator import tool

    @tool
    def search_documents(query: str, k: int = 5) -> str:
        """Search the stored documents for passages about a query.

        Args:
            query: What to look for.
            k: How many passages to return.
        """
        hits = DocumentStore.search(store, query, k=max(1, min(int(k), 20)))
        if not hits:
            return "No passages found."
        return "\n\n".join(f"[{h.source}:{h.start}-{h.end}] (score {h.score:.2f})\n{h.text}" for h in hits)

    return [search_documents]
