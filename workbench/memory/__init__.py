"""Semantic memory and documents in SQLite (apsw + sqlite-vec): see ``base.py``.

    from workbench.memory import SemanticMemoryStore, DocumentStore
"""

from __future__ import annotations

from workbench._lazy import lazy_exports

_LAZY = {
    "MemoryStore": "workbench.memory.base:MemoryStore",
    "MemoryHit": "workbench.memory.base:MemoryHit",
    "SemanticMemoryStore": "workbench.memory.semantic:SemanticMemoryStore",
    "DocumentStore": "workbench.memory.documents:DocumentStore",
    "chunk_text": "workbench.memory.documents:chunk_text",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
__all__ = sorted(_LAZY)
