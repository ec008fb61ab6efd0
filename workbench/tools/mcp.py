"""MCPClient: tools from an MCP server (FastMCP), usable from sync code.

    mcp = MCPClient(server=my_fastmcp_server)             # in-memory
    mcp = MCPClient(file="servers/weather.py")            # a script, run over stdio
    mcp = MCPClient(config={"mcpServers": {...}})         # an MCP config dict
    client = wb.client("openai:gpt-4.1", mcp_client=mcp)

FastMCP's client is async; this wrapper owns one event loop in a background thread and
keeps one session open on it, so every sync call is a short hop into that loop. The
async surface uses FastMCP's client directly and shares ``mcp_tools_to_openai``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from workbench.errors import ConfigurationError, MissingDependencyError, ToolError


def mcp_tools_to_openai(tools: list[Any]) -> list[dict[str, Any]]:
    """MCP tool descriptions (objects or dicts) as OpenAI function specs."""
    specs = []
    for t in tools:
        get = (lambda k, d=None: t.get(k, d)) if isinstance(t, dict) else (lambda k, d=None: getattr(t, k, d))
        schema = get("input_schema") or get("inputSchema") or {"type": "object", "properties": {}}
        schema = dict(schema)
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        specs.append({"type": "function", "function": {
            "name": get("name"), "description": get("description") or "", "parameters": schema}})
    return specs


def mcp_result_to_text(res: Any) -> str:
    """The text of a CallToolResult; structured data as JSON when there is no text."""
    parts = []
    for item in getattr(res, "content", None) or []:
        text = getattr(item, "text", None)
        parts.append(text if text is not None else f"[{getattr(item, 'type', 'content')}]")
    if parts:
        return "\n".join(parts)
    data = getattr(res, "structured_content", None) or getattr(res, "data", None)
    return json.dumps(data, default=str) if data is not None else ""


def transport_for(config: dict | None, server: Any, file: str | Path | None) -> Any:
    """Exactly one of config= / server= / file= as what ``fastmcp.Client`` accepts."""
    given = [n for n, v in (("config", config), ("server", server), ("file", file)) if v is not None]
    if len(given) != 1:
        raise ConfigurationError(
            "MCPClient needs exactly one of config= (an MCP config dict), server= (a FastMCP server "
            f"object or URL) or file= (a server script); got {', '.join(given) or 'none'}.")
    if file is not None:
        path = Path(file).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"MCP server script not found: {str(path)!r}.")
        return path  # a Path: FastMCP runs the script over stdio
    return config if config is not None else server


class MCPClient:
    """A sync MCP client with one open session; close() it (or use ``with``) when done."""

    def __init__(self, config: dict | None = None, *, server: Any = None, file: str | Path | None = None,
                 timeout: float = 30.0):
        try:
            from fastmcp import Client
        except ModuleNotFoundError as exc:
            raise MissingDependencyError("fastmcp", "mcp") from exc
        self.timeout = timeout
        self._client = Client(transport_for(config, server, file), timeout=timeout)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="workbench-mcp", daemon=True)
        self._thread.start()
        self._closed = False
        self._tools: list[dict[str, Any]] | None = None
        try:
            self._call(self._client.__aenter__())
        except BaseException:
            self._stop_loop()
            raise

    @property
    def session(self) -> Any:
        """The open FastMCP client (for what this wrapper does not cover)."""
        if self._closed or self._client is None:
            raise ToolError("This MCPClient is closed; create a new one.")
        return self._client

    def _call(self, coro, timeout: float | None = None) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout if timeout is not None else self.timeout + 5)

    def get_tools(self, refresh: bool = False) -> list[dict[str, Any]]:
        """The server's tools as OpenAI function specs (cached; ``refresh=True`` asks again)."""
        if self._tools is None or refresh:
            self._tools = mcp_tools_to_openai(self._call(self.session.list_tools()))
        return list(self._tools)

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Call a tool; a failure reported by the server raises ToolError with its message."""
        res = self._call(self.session.call_tool(name, arguments or {}, raise_on_error=False))
        text = mcp_result_to_text(res)
        if getattr(res, "is_error", False):
            raise ToolError(text or f"MCP tool {name!r} failed.")
        return text

    def ping(self) -> bool:
        """True when the server answers (servers without ping are checked by listing tools)."""
        try:
            self._call(self.session.ping(), timeout=self.timeout)
            return True
        except ToolError:
            raise
        except Exception:
            try:
                self._call(self.session.list_tools(), timeout=self.timeout)
                return True
            except Exception:
                return False

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._call(self._client.__aexit__(None, None, None))
        except Exception:
            pass  # the server may already be gone; closing must still succeed
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._closed = True
        # Drop the FastMCP client while the loop is still open: its transport's finalizer
        # schedules work on that loop and would fail on a closed one.
        self._client = None
        import gc

        gc.collect()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> "MCPClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # best effort: a forgotten client should not keep a thread alive
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<MCPClient {state} tools={len(self._tools) if self._tools is not None else '?'}>"
