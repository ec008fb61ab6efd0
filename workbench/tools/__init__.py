"""Tools the model may call: ``@tool`` functions (schema from the signature) and MCP servers.

Imported lazily: ``import workbench.tools`` loads neither pydantic nor fastmcp.
"""

from __future__ import annotations

from workbench._lazy import lazy_exports

_LAZY = {
    "tool": "workbench.tools.decorator:tool",
    "ensure_tool": "workbench.tools.decorator:ensure_tool",
    "ToolSet": "workbench.tools.toolset:ToolSet",
    "PreparedCall": "workbench.tools.toolset:PreparedCall",
    "ArgumentError": "workbench.tools.coerce:ArgumentError",
    "MCPClient": "workbench.tools.mcp:MCPClient",
    "mcp_tools_to_openai": "workbench.tools.mcp:mcp_tools_to_openai",
    "image_tool": "workbench.tools.image_tool:image_tool",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
