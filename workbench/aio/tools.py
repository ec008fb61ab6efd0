"""Async tool dispatch: await async tools, run sync ones in ``asyncio.to_thread``.

Which function a call names, how its arguments are validated, how a failure becomes an
error result for the model, how the output becomes text: all of that is ``ToolSet``'s
(``prepare`` / ``finish``), shared with the sync client. Only the call itself differs.

``concurrent=True`` runs a round's calls in an ``asyncio.TaskGroup``: a call that raises
(tool failures do not raise, they go back to the model; a forgotten ``await`` does)
cancels its siblings and every error surfaces in one ``ExceptionGroup``.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, AsyncIterator


async def prepare_toolset(state):
    """The shared ToolSet for one turn and its specs (an async MCP client's list is awaited here)."""
    tools = state._tool_set()
    mcp = tools.mcp_client
    if mcp is not None and inspect.iscoroutinefunction(getattr(mcp, "get_tools", None)):
        tools.set_mcp_specs(await mcp.get_tools())
    return tools, tools.specs()


async def run_tool_calls(tools, calls: list[dict[str, Any]], concurrent: bool) -> AsyncIterator[dict[str, Any]]:
    """Results in call order (as ``ToolLoop.tools_done`` wants them)."""
    if not concurrent or len(calls) < 2:
        for call in calls:
            yield await run_tool_call(tools, call)
        return
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(run_tool_call(tools, call)) for call in calls]
    for task in tasks:
        yield task.result()


async def run_tool_call(tools, call: dict[str, Any]) -> dict[str, Any]:
    from workbench.aio.model_client import forgot_await

    prepared = tools.prepare(call)
    if prepared.result is not None:  # unknown tool, bad arguments: an error result for the model
        return prepared.result
    try:
        if prepared.is_async:
            output = await prepared.call()
        else:
            output = await asyncio.to_thread(prepared.call)
    except Exception as exc:  # the tool's own failure goes back to the model, as in the sync client
        return tools.error_result(call, exc)
    error = forgot_await(output, f"The result of tool {call.get('name')!r}")
    if error is not None:  # a programming error, not something the model can fix
        raise error
    return tools.finish(call, output)
