"""The async MCPClient: FastMCP's client used directly, with the sync client's helpers.

    mcp = await aio.MCPClient.connect(server=my_fastmcp_server)
    try:
        client = aio.client("openai:gpt-4.1", mcp_client=mcp)
        ...
    finally:
        await mcp.aclose()

Transport choice, the OpenAI spec conversion and the result text are the sync
MCPClient's functions (``workbench.tools.mcp``); only the awaiting differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import MissingDependencyError, ToolError
from workbench.tools.mcp import mcp_result_to_text, mcp_tools_to_openai, transport_for


class MCPClient:
    """An MCP session for async code; build it with ``await MCPClient.connect(...)``."""

    def __init__(self, config: dict | None = None, *, server: Any = None, file: str | Path | None = None,
                 timeout: float = 30.0):
        try:
            from fastmcp import Client
        except ModuleNotFoundError as exc:
            raise MissingDependencyError("fastmcp", "mcp") from exc
        self._client = Client(transport_for(config, server, file), timeout=timeout)
        self._open = False
        self._tools: list[dict[str, Any]] | None = None

    @classmethod
    async def connect(cls, config: dict | None = None, *, server: Any = None, file: str | Path | None = None,
                      timeout: float = 30.0) -> "MCPClient":
        """Build and open the session in one await."""
        self = cls(config, server=server, file=file, timeout=timeout)
        await self._client.__aenter__()
        self._open = True
        return self

    def _session(self):
        if not self._open:
            raise ToolError("This MCPClient is not connected: build it with 'await aio.MCPClient.connect(...)' "
                            "(and do not use it after aclose()).")
        return self._client

    async def get_tools(self, refresh: bool = False) -> list[dict[str, Any]]:
        """The server's tools as OpenAI function specs (cached; ``refresh=True`` asks again)."""
        session = self._session()
        if self._tools is None or refresh:
            self._tools = mcp_tools_to_openai(await session.list_tools())
        return list(self._tools)

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Call a tool; a failure reported by the server raises ToolError with its message."""
        res = await self._session().call_tool(name, arguments or {}, raise_on_error=False)
        text = mcp_result_to_text(res)
        if getattr(res, "is_error", False):
            raise ToolError(text or f"MCP tool {name!r} failed.")
        return text

    async def ping(self) -> list[dict[str, Any]]:
        """Check the session is alive by listing the tools (returned, refreshed)."""
        return await self.get_tools(refresh=True)

    async def aclose(self) -> None:
        """Close the session. Idempotent."""
        if self._open:
            self._open = False
            await self._client.__aexit__(None, None, None)

    async def __aenter__(self) -> "MCPClient":
        if not self._open:
            await self._client.__aenter__()
            self._open = True
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "open" if self._open else "closed"
        return f"<aio.MCPClient {state} tools={len(self._tools) if self._tools is not None else '?'}>"
