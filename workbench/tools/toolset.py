"""ToolSet: the tools one call may use (Python @tool functions and an MCP client), by name.

Python tools win on a name clash with MCP tools. A failure of any kind while running a
tool becomes an error result that goes back to the model, so the loop can continue.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

from workbench.errors import ToolError


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

    def run_sync(self, call: dict[str, Any]) -> dict[str, Any]:
        """Run one requested call; never raises for the tool's own failures."""
        name = call.get("name")
        fn = self.python.get(name)
        if fn is not None and getattr(fn, "__tool_is_async__", False):
            raise ValueError(
                f"Tool {name!r} is async; the sync client cannot run it. Use workbench.aio "
                "(aio.client / aio.Agent), or make the tool a plain def.")
        try:
            if fn is not None:
                args = fn.__tool_validate__(call.get("arguments"))
                output = fn(**args)
            elif any(s["function"]["name"] == name for s in self.mcp_specs()):
                output = self.mcp_client.call_tool(name, _require_dict(call.get("arguments")))
            else:
                raise ToolError(f"No tool named {name!r}. Available tools: {', '.join(self.names()) or 'none'}.")
        except Exception as exc:  # goes back to the model as something it can fix
            return result(call, f"Error: {exc}", is_error=True)
        return result(call, to_text(output))


def _require_dict(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    raise ToolError(f"Tool arguments must be a JSON object, got {str(arguments)[:200]!r}.")


def result(call: dict[str, Any], content: str, is_error: bool = False) -> dict[str, Any]:
    return {"id": call.get("id"), "name": call.get("name"), "content": content, "is_error": is_error}


def to_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    try:
        return json.dumps(output, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(output)
