"""Scripted fake servers for every wire protocol, so tests and notebooks run offline.

    from workbench.testing import FakeOpenAIServer, Reply, ToolCall
    with FakeOpenAIServer(default=Reply(text="Hello!")) as server:
        c = wb.client("openai-compat:any-model@" + server.base_url)
        c.chat("Hi")                     # -> "Hello!"

Each server answers its queue of ``Reply`` objects in order (``server.add(...)``), then
its ``default``; ``server.requests`` logs what the client sent. Stdlib only.
"""

from __future__ import annotations

from workbench._lazy import lazy_exports

_LAZY = {
    "Reply": "workbench.testing.script:Reply",
    "ToolCall": "workbench.testing.script:ToolCall",
    "split_text": "workbench.testing.script:split_text",
    "FakeServer": "workbench.testing.server:FakeServer",
    "RecordedRequest": "workbench.testing.server:RecordedRequest",
    "FakeOpenAIServer": "workbench.testing.openai_server:FakeOpenAIServer",
    "FakeAnthropicServer": "workbench.testing.anthropic_server:FakeAnthropicServer",
    "FakeOllamaServer": "workbench.testing.ollama_server:FakeOllamaServer",
    "FakeGeminiServer": "workbench.testing.gemini_server:FakeGeminiServer",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
