"""aio.MCPClient against a real in-memory FastMCP server, alone and as a client's tool source."""

from __future__ import annotations

import asyncio

import pytest

from workbench import aio
from workbench.errors import ToolError
from workbench.testing import Reply, ToolCall

import fastmcp


def make_server():
    server = fastmcp.FastMCP("weather")

    @server.tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return f"sunny in {city}, 21 C"

    @server.tool
    def fail(reason: str) -> str:
        """Always fails."""
        raise ValueError(reason)

    return server


def test_connect_list_call_ping_close():
    async def main():
        mcp = await aio.MCPClient.connect(server=make_server())
        try:
            tools = await mcp.get_tools()
            assert {t["function"]["name"] for t in tools} == {"get_weather", "fail"}
            assert tools[0]["function"]["parameters"]["type"] == "object"
            assert await mcp.call_tool("get_weather", {"city": "Paris"}) == "sunny in Paris, 21 C"
            with pytest.raises(ToolError, match="nope"):
                await mcp.call_tool("fail", {"reason": "nope"})
            assert len(await mcp.ping()) == 2
        finally:
            await mcp.aclose()
            await mcp.aclose()  # idempotent
        with pytest.raises(ToolError, match="not connected"):
            await mcp.get_tools()

    asyncio.run(main())


def test_async_mcp_tools_run_in_the_client_loop(server, aclient):
    server.add(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_oslo")]),
               Reply(text="It is sunny."))

    async def main():
        async with await aio.MCPClient.connect(server=make_server()) as mcp:
            client = aclient(server, mcp_client=mcp)
            answer = await client.chat("Weather in Oslo?")
            return answer, client

    answer, client = asyncio.run(main())
    assert answer == "It is sunny."
    assert client.messages[2] == {"role": "tool", "tool_call_id": "call_oslo", "name": "get_weather",
                                  "content": "sunny in Oslo, 21 C"}
    assert {t["function"]["name"] for t in server.requests[0].body["tools"]} == {"get_weather", "fail"}
    assert server.requests[1].body["messages"][-1]["content"] == "sunny in Oslo, 21 C"  # the result went back
