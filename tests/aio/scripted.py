"""Scripted providers for driver tests (the fake-server tests cover real SDKs)."""

from __future__ import annotations

import asyncio

from workbench import aio
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.turn import done_chunk


class ScriptedAsync(aio.AsyncBaseModelClient):
    """An async-only provider: each turn is a list of str (text) and dict (tool call) items."""

    def __init__(self, *turns, model="openai:gpt-4.1", **kw):
        super().__init__(model, **kw)
        self._script = list(turns)
        self._calls = []

    async def _aturn(self, messages, tools, options, stream):
        self._calls.append({"messages": [dict(m) for m in messages], "tools": tools})
        await asyncio.sleep(0)
        turn = self._script.pop(0) if self._script else ["(script empty)"]
        calls = 0
        for item in turn:
            if isinstance(item, dict):
                calls += 1
                yield StreamChunk(Phase.TOOL_CALL, {"id": f"call_{len(self._calls)}_{calls}", **item})
            else:
                yield StreamChunk(Phase.TEXT, item)
        yield done_chunk(finish_reason="tool_calls" if calls else "stop")
