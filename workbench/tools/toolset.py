"""ToolSet: the tools one call may use (Python @tool functions and an MCP client), by name.

Every per-call decision lives in ``prepare(call)``: find the tool, check and coerce the
arguments, and turn any problem into an error result for the model. Drivers then only
execute: the sync one calls ``prepared.fn(**prepared.args)`` (``run_streaming``, which
relays a generator tool's progress chunks), the async one awaits it or runs it in a thread. Python tools win on a name clash with MCP tools. A
failure of any kind while running a tool becomes an error result that goes back to the
model, so the loop can continue.
"""

from __future__ import annotations

import inspect
import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterable, Iterator

from workbench.errors import ToolError


@dataclass(frozen=True)
class PreparedCall:
    """A call ready to execute: ``fn(**args)``; ``is_async`` says whether ``fn`` must be awaited."""

    call: dict[str, Any]
    fn: Callable[..., Any]
    args: dict[str, Any]
    is_async: bool = False
    source: str = "python"   # "python" | "mcp"
    streams: bool = False    # a generator tool: progress chunks, then its output

    def finish(self, output: Any) -> dict[str, Any]:
        if inspect.isawaitable(output):  # a programming error, not something the model can fix
            if inspect.iscoroutine(output):
                output.close()
            raise TypeError(f"Tool {self.call.get('name')!r} returned a coroutine/awaitable: you forgot an 'await' "
                            "(make the tool 'async def' and await inside it).")
        return result(self.call, to_text(output))

    def fail(self, exc: BaseException) -> dict[str, Any]:
        return error_result(self.call, exc)


class ToolSet:
    def __init__(self, tools: Iterable[Callable] = (), mcp_client=None):
        from workbench.tools.decorator import ensure_tool

        self.python: dict[str, Callable] = {}
        for fn in tools:
            fn = ensure_tool(fn)
            self.python[fn.__tool_spec__["function"]["name"]] = fn
        self.mcp_client = mcp_client
        self._mcp_specs: list[dict] | None = None

    def mcp_specs(self) -> list[dict[str, Any]]:
        if self.mcp_client is None:
            return []
        if self._mcp_specs is None:
            self._mcp_specs = [s for s in self.mcp_client.get_tools()
                               if s["function"]["name"] not in self.python]
        return self._mcp_specs

    def specs(self) -> list[dict[str, Any]]:
        return [fn.__tool_spec__ for fn in self.python.values()] + self.mcp_specs()

    def names(self) -> list[str]:
        return [s["function"]["name"] for s in self.specs()]

    def prepare(self, call: dict[str, Any]) -> "PreparedCall | dict[str, Any]":
        """The one per-call decision: a PreparedCall to execute, or an error result for the model."""
        name = call.get("name")
        fn = self.python.get(name)
        try:
            if fn is not None:
                args = fn.__tool_validate__(call.get("arguments"))
                return PreparedCall(call, fn, args, bool(getattr(fn, "__tool_is_async__", False)),
                                    streams=bool(getattr(fn, "__tool_streams__", False)))
            if any(s["function"]["name"] == name for s in self.mcp_specs()):
                args = _require_dict(call.get("arguments"))
                return PreparedCall(call, _mcp_caller(self.mcp_client, name), {"arguments": args},
                                    False, "mcp")
            raise ToolError(f"No tool named {name!r}. Available tools: {', '.join(self.names()) or 'none'}.")
        except Exception as exc:  # a bad call goes back to the model as something it can fix
            return error_result(call, exc)

    def run_sync(self, call: dict[str, Any]) -> dict[str, Any]:
        """Run one requested call; never raises for the tool's own failures (a generator
        tool's progress is dropped: ``run_streaming`` relays it)."""
        from workbench.relay import run_to_end

        return run_to_end(self.run_streaming(call))

    def run_streaming(self, call: dict[str, Any]) -> Generator[Any, None, dict[str, Any]]:
        """Run one requested call, yielding a generator tool's progress chunks as they come;
        returns the result for the model. Never raises for the tool's own failures.

        An async tool is refused with a ValueError: it is a programming error, not the model's.
        """
        prepared = self.prepare(call)
        if not isinstance(prepared, PreparedCall):
            return prepared
        if prepared.is_async:
            raise ValueError(
                f"Tool {call.get('name')!r} is async; the sync client cannot run it. Use workbench.aio "
                "(aio.client / aio.Agent), or make the tool a plain def.")
        try:
            output = prepared.fn(**prepared.args)
        except Exception as exc:
            return prepared.fail(exc)
        if not prepared.streams:
            return prepared.finish(output)
        items = tool_items(output)
        output = None
        try:
            while True:
                try:
                    item = next(items)
                except StopIteration:
                    break
                except Exception as exc:   # the tool failed part-way: that goes back to the model
                    return prepared.fail(exc)
                if isinstance(item, ToolOutput):
                    output = item.value
                else:
                    yield item             # outside the try: what is thrown in here is not the tool's failure
        finally:
            items.close()                  # closing the run closes the tool
        return prepared.finish(output)

    def run_many_sync(self, calls: list[dict[str, Any]], concurrent: bool = False,
                      max_workers: int | None = None) -> list[dict[str, Any]]:
        """Run several calls, in a thread pool when ``concurrent``; results keep the call order."""
        if not concurrent or len(calls) < 2:
            return [self.run_sync(c) for c in calls]
        from workbench.relay import run_to_end

        return run_to_end(self.run_many_streaming(calls, max_workers))

    def run_many_streaming(self, calls: list[dict[str, Any]],
                           max_workers: int | None = None) -> Generator[Any, None, list[dict[str, Any]]]:
        """Several calls at once in a thread pool; their progress chunks are yielded as they
        come (from whichever call), and the results, in call order, returned."""
        from workbench.relay import relay_threads

        futures = yield from relay_threads([lambda call=call: self.run_streaming(call) for call in calls],
                                           max_workers, "workbench-tools")
        return [future.result() for future in futures]


@dataclass(frozen=True)
class ToolOutput:
    """The output of a generator tool, after its progress chunks (see ``tool_items``)."""

    value: Any


def tool_items(generator: Iterator[Any]) -> Iterator[Any]:
    """A generator tool's StreamChunks as they come, then one ToolOutput: its return value,
    else the last value it yielded that was not a chunk. Closing this closes the tool."""
    from workbench.models.chunks import StreamChunk

    output = None
    try:
        while True:
            try:
                item = next(generator)
            except StopIteration as done:
                yield ToolOutput(done.value if done.value is not None else output)
                return
            if isinstance(item, StreamChunk):
                yield item
            else:
                output = item
    finally:
        generator.close()


async def atool_items(generator: Any) -> Any:
    """``tool_items`` for an async generator tool (its last non-chunk value is the output)."""
    from workbench.models.chunks import StreamChunk

    output = None
    try:
        async for item in generator:
            if isinstance(item, StreamChunk):
                yield item
            else:
                output = item
        yield ToolOutput(output)
    finally:
        await generator.aclose()


def _mcp_caller(mcp_client, name: str) -> Callable[..., Any]:
    def call_mcp(arguments: dict[str, Any]) -> Any:
        return mcp_client.call_tool(name, arguments)

    return call_mcp


def _require_dict(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    if arguments in (None, ""):
        return {}
    raise ToolError(f"Tool arguments must be a JSON object, got {str(arguments)[:200]!r}.")


def result(call: dict[str, Any], content: str, is_error: bool = False) -> dict[str, Any]:
    return {"id": call.get("id"), "name": call.get("name"), "content": content, "is_error": is_error}


def error_result(call: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    return result(call, f"Error: {type(exc).__name__}: {exc}", is_error=True)


def to_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if hasattr(output, "model_dump"):  # pydantic models
        output = output.model_dump(mode="json")
    elif dataclasses.is_dataclass(output) and not isinstance(output, type):
        output = dataclasses.asdict(output)
    try:
        return json.dumps(output, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(output)
