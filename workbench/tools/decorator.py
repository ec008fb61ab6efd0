"""@tool: an OpenAI function spec from a function's signature and docstring.

    @tool
    def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        '''The current weather in a city.

        Args:
            city: The city name, e.g. "Paris".
            unit: Temperature unit.
        '''

The decorated function is unchanged and still callable; it gains ``__tool_spec__`` (the
spec sent to models), ``__tool_is_async__`` (decided now, at decoration time, so the sync
dispatcher can refuse async tools before running anything), ``__tool_streams__`` and
``__tool_validate__`` (checks and coerces a model's arguments, raising ``ArgumentError``).

A tool that reports progress is a generator: what it yields as StreamChunks goes out live
in the caller's stream (an image tool's ``image_progress``), never to the model; what it
returns (or the last other value it yields) is its output. See ``toolset.tool_items``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from workbench.errors import ToolError
from workbench.tools.coerce import bind_arguments
from workbench.tools.schema import parameters_schema, parse_docstring


def tool(fn: Callable | None = None, *, name: str | None = None, description: str | None = None):
    """Mark a function (plain or ``async def``) as a tool the model may call."""
    if fn is None:
        return lambda f: tool(f, name=name, description=description)
    if not callable(fn):
        raise ToolError(f"@tool needs a function, got {type(fn).__name__}.")
    fn = _attribute_holder(fn)
    doc = parse_docstring(inspect.getdoc(fn) or "")
    tool_name = name or getattr(fn, "__name__", None)
    if not tool_name or tool_name == "<lambda>":
        raise ToolError("A tool needs a name: use a def, or pass @tool(name=...).")
    spec = {"type": "function", "function": {
        "name": tool_name,
        "description": description or doc.summary or tool_name.replace("_", " "),
        "parameters": parameters_schema(fn, doc.params)}}
    fn.__tool_spec__ = spec
    fn.__tool_is_async__ = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)) or inspect.isasyncgenfunction(fn)
    fn.__tool_streams__ = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)
    fn.__tool_validate__ = functools.partial(bind_arguments, fn)
    return fn


def _attribute_holder(fn: Callable) -> Callable:
    """``fn``, or a thin wrapper when ``fn`` cannot carry attributes (bound methods, builtins)."""
    try:
        fn.__tool_probe__ = True
        del fn.__tool_probe__
        return fn
    except (AttributeError, TypeError):
        pass
    target = fn

    @functools.wraps(target)
    def wrapper(*args, **kwargs):
        return target(*args, **kwargs)

    wrapper.__signature__ = inspect.signature(target)
    return wrapper


def ensure_tool(fn: Callable) -> Callable:
    """``fn`` itself when it is already a tool, else ``fn`` decorated with @tool."""
    if getattr(fn, "__tool_spec__", None) is None:
        if not callable(fn):
            raise ToolError(f"{fn!r} is not callable and cannot be a tool.")
        return tool(fn)
    return fn


def tool_name(fn: Any) -> str:
    return ensure_tool(fn).__tool_spec__["function"]["name"]
