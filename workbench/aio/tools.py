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
from contextlib import aclosing
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
    """Results in call order (as ``ToolLoop.tools_done`` wants them), after the generator tools'
    progress StreamChunks, relayed live (from all calls at once when ``concurrent``)."""
    if not concurrent or len(calls) < 2:
        for call in calls:
            async with aclosing(stream_tool_call(tools, call)) as items:
                async for item in items:
                    yield item
        return
    from workbench.models.chunks import StreamChunk

    from workbench.relay import relay_tasks

    results: list[Any] = [None] * len(calls)

    def maker(index: int, call: dict[str, Any]):
        async def make(put) -> None:
            async with aclosing(stream_tool_call(tools, call)) as items:
                async for item in items:
                    if isinstance(item, StreamChunk):
                        put(item)
                    else:
                        results[index] = item
        return make

    async with aclosing(relay_tasks([maker(i, call) for i, call in enumerate(calls)], [])) as chunks:
        async for chunk in chunks:
            yield chunk
    for result in results:
        yield result


async def run_tool_call(tools, call: dict[str, Any]) -> dict[str, Any]:
    result = None
    async with aclosing(stream_tool_call(tools, call)) as items:
        async for item in items:
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
    if not prepared.streams:
        try:
            output = await prepared.fn(**prepared.args) if awaited else \
                await asyncio.to_thread(prepared.fn, **prepared.args)
        except Exception as exc:  # the tool's own failure goes back to the model, as in the sync client
            yield prepared.fail(exc)
            return
        yield prepared.finish(output)  # raises TypeError for a forgotten await (a coroutine result)
        return
    from workbench.aio.bridge import iterate_in_thread

    try:
        items = atool_items(prepared.fn(**prepared.args)) if prepared.is_async else \
            iterate_in_thread(lambda: tool_items(prepared.fn(**prepared.args)), name="workbench-aio-tool")
    except Exception as exc:
        yield prepared.fail(exc)
        return
    output = None
    async with aclosing(items):
        while True:
            try:
                item = await anext(items)
            except StopAsyncIteration:
                break
            except Exception as exc:      # the tool failed part-way: that goes back to the model
                yield prepared.fail(exc)
                return
            if isinstance(item, ToolOutput):
                output = item.value
            elif isinstance(item, StreamChunk):
                yield item                 # outside the try: what is thrown in here is not the tool's failure
    yield prepared.finish(output)
