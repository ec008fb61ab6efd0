"""Conversations that persist: ``ConversationManager`` (SQLite), see ``conversations.py``.

    from workbench.history import ConversationManager
"""

from __future__ import annotations

from workbench._lazy import lazy_exports

_LAZY = {
    "ConversationManager": "workbench.history.conversations:ConversationManager",
    "ConversationSaveWarning": "workbench.history.conversations:ConversationSaveWarning",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
__all__ = sorted(_LAZY)
