"""@tool: an OpenAI function spec from a function's signature and docstring.

(First version: flat parameters. The tools issue extends the schema to nested types.)
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from workbench.errors import ToolError

_PRIMITIVES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}


def tool(fn: Callable | None = None, *, name: str | None = None, description: str | None = None):
    """Mark a function as a tool the model may call."""
    if fn is None:
        return lambda f: tool(f, name=name, description=description)
    spec = {"type": "function", "function": {
        "name": name or fn.__name__,
        "description": description or inspect.getdoc(fn) or "",
        "parameters": _parameters(fn)}}
    fn.__tool_spec__ = spec
    fn.__tool_is_async__ = inspect.iscoroutinefunction(fn)
    fn.__tool_validate__ = functools.partial(_validate, fn)
    return fn


def ensure_tool(fn: Callable) -> Callable:
    if getattr(fn, "__tool_spec__", None) is None:
        if not callable(fn):
            raise ToolError(f"{fn!r} is not callable and cannot be a tool.")
        tool(fn)
    return fn


def _parameters(fn: Callable) -> dict[str, Any]:
    sig = inspect.signature(fn)
    hints = inspect.get_annotations(fn, eval_str=True)
    props, required = {}, []
    for pname, param in sig.parameters.items():
        props[pname] = {"type": _PRIMITIVES.get(hints.get(pname), "string")}
        if param.default is inspect.Parameter.empty:
            required.append(pname)
    return {"type": "object", "properties": props, "required": required}


def _validate(fn: Callable, arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, dict):
        raise ToolError(f"arguments must be a JSON object, got {str(arguments)[:200]!r}")
    return arguments
