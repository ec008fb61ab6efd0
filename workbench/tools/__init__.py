"""Tools the model may call: ``@tool`` functions (schema from the signature) and MCP servers.

Imported lazily: ``import workbench.tools`` loads neither pydantic nor fastmcp.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "tool": "workbench.tools.decorator:tool",
    "ensure_tool": "workbench.tools.decorator:ensure_tool",
    "ToolSet": "workbench.tools.toolset:ToolSet",
    "PreparedCall": "workbench.tools.toolset:PreparedCall",
    "ArgumentError": "workbench.tools.coerce:ArgumentError",
    "MCPClient": "workbench.tools.mcp:MCPClient",
    "mcp_tools_to_openai": "workbench.tools.mcp:mcp_tools_to_openai",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'workbench.tools' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
