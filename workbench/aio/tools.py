"""Async tool dispatch: await async tools, run sync ones in ``asyncio.to_thread``.

Which function a call names, how its arguments are checked and coerced, how a failure
becomes an error result for the model, how the output becomes text: all of that is
``ToolSet.prepare`` / ``PreparedCall.finish`` / ``.fail``, shared with the sync client.
Only the execution differs.

``concurrent=True`` runs a round's calls in an ``asyncio.TaskGroup``: a call that raises
(tool failures do not raise, they go back to the model; a forgotten ``await`` does)
cancels its siblings, and every error surfaces in one ``ExceptionGroup``. Generator tools'
progress chunks are relayed live, from one call or from all of them at once.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, AsyncIterator


class _ListedMCP:
    """An async MCP client whose tool list was awaited once, seen through the sync interface ToolSet reads."""

    is_async = True

    def __init__(self, client, specs: list[dict[str, Any]]):
        self.client, self.specs = client, specs

    def get_tools(self) -> list[dict[str, Any]]:
        return self.specs

    def call_tool(self, name: str, arguments: dict[str, Any]):
        return self.client.call_tool(name, arguments)  # a coroutine, awaited by run_tool_call


async def prepare_toolset(state):
    """The shared ToolSet for one turn and its specs (listing MCP tools is I/O, done here)."""
    from workbench.models.client import BaseModelClient

    make = getattr(state, "_tool_set", None)  # a plain ChatState (async-only provider) has none
    tools = make() if make is not None else BaseModelClient._tool_set(state)
    mcp = tools.mcp_client
    if mcp is not None:
        if inspect.iscoroutinefunction(getattr(mcp, "get_tools", None)):
            tools.mcp_client = _ListedMCP(mcp, await mcp.get_tools())
        else:  # a sync MCP client blocks while it lists: keep that off the event loop
            await asyncio.to_thread(tools.specs)
    return tools, tools.specs()


async def run_tool_calls(tools, calls: list[dict[str, Any]], concurrent: bool) -> AsyncIterator[Any]:
    """Results in call order (as ``ToolLoop.tools_done`` wants them); one at a time, a generator
    tool's progress StreamChunks come live before its result (concurrent calls drop them)."""
    if not concurrent or len(calls) < 2:
        for call in calls:
            async for item in stream_tool_call(tools, call):
                yield item
        return
    from workbench.models.chunks import StreamChunk

    from workbench.relay import relay_tasks

    results: list[Any] = [None] * len(calls)

    def maker(index: int, call: dict[str, Any]):
        async def make(put) -> None:
            async for item in stream_tool_call(tools, call):
                if isinstance(item, StreamChunk):
                    put(item)
                else:
                    results[index] = item
        return make

    async for chunk in relay_tasks([maker(i, call) for i, call in enumerate(calls)], []):
        yield chunk
    for result in results:
        yield result


async def run_tool_call(tools, call: dict[str, Any]) -> dict[str, Any]:
    result = None
    async for item in stream_tool_call(tools, call):
        result = item
    return result


async def stream_tool_call(tools, call: dict[str, Any]) -> AsyncIterator[Any]:
    """A generator tool's progress chunks, then the call's result dict (last)."""
    from workbench.models.chunks import StreamChunk
    from workbench.tools.toolset import PreparedCall, ToolOutput, atool_items, tool_items

    prepared = tools.prepare(call)
    if not isinstance(prepared, PreparedCall):  # unknown tool, bad arguments: an error result for the model
        yield prepared
        return
    awaited = prepared.is_async or (prepared.source == "mcp" and getattr(tools.mcp_client, "is_async", False))
    try:
        if prepared.streams:
            from workbench.aio.bridge import iterate_in_thread

            items = atool_items(prepared.fn(**prepared.args)) if prepared.is_async else \
                iterate_in_thread(lambda: tool_items(prepared.fn(**prepared.args)), name="workbench-aio-tool")
            output = None
            async for item in items:
                if isinstance(item, ToolOutput):
                    output = item.value
                elif isinstance(item, StreamChunk):
                    yield item
        elif awaited:
            output = await prepared.fn(**prepared.args)
        else:
            output = await asyncio.to_thread(prepared.fn, **prepared.args)
    except Exception as exc:  # the tool's own failure goes back to the model, as in the sync client
        yield prepared.fail(exc)
        return
    yield prepared.finish(output)  # raises TypeError for a forgotten await (a coroutine result)
