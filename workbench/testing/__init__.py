"""Scripted fake servers for every wire protocol, so tests and notebooks run offline.

    from workbench.testing import FakeOpenAIServer, Reply, ToolCall
    with FakeOpenAIServer(default=Reply(text="Hello!")) as server:
        c = wb.client("openai-compat:any-model@" + server.base_url)
        c.chat("Hi")                     # -> "Hello!"

Each server answers its queue of ``Reply`` objects in order (``server.add(...)``), then
its ``default``; ``server.requests`` logs what the client sent. Stdlib only.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "Reply": "workbench.testing.script:Reply",
    "ToolCall": "workbench.testing.script:ToolCall",
    "split_text": "workbench.testing.script:split_text",
    "FakeServer": "workbench.testing.server:FakeServer",
    "RecordedRequest": "workbench.testing.server:RecordedRequest",
    "FakeOpenAIServer": "workbench.testing.openai_server:FakeOpenAIServer",
    "FakeAnthropicServer": "workbench.testing.anthropic_server:FakeAnthropicServer",
    "FakeOllamaServer": "workbench.testing.ollama_server:FakeOllamaServer",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'workbench.testing' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
