"""MCPClient against a real in-memory FastMCP server and a real stdio subprocess server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import fastmcp

from workbench.errors import ConfigurationError, ToolError  # noqa: E402
from workbench.tools.decorator import tool  # noqa: E402
from workbench.tools.mcp import MCPClient, mcp_tools_to_openai  # noqa: E402
from workbench.tools.toolset import ToolSet  # noqa: E402

SCRIPT = Path(__file__).with_name("mcp_server_script.py")


def make_server():
    server = fastmcp.FastMCP("memory")

    @server.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool
    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    return server


@pytest.fixture(scope="module")
def memory_client():
    with MCPClient(server=make_server()) as client:
        yield client


@pytest.fixture(scope="module")
def stdio_client():
    with MCPClient(file=SCRIPT) as client:
        yield client


def test_in_memory_tools_in_openai_format(memory_client):
    specs = {s["function"]["name"]: s for s in memory_client.get_tools()}
    assert set(specs) == {"add", "shout"}
    add = specs["add"]
    assert add["type"] == "function" and add["function"]["description"] == "Add two integers."
    assert add["function"]["parameters"]["properties"] == {"a": {"type": "integer"}, "b": {"type": "integer"}}
    assert memory_client.call_tool("add", {"a": 2, "b": 5}) == "7"
    assert memory_client.ping() is True


def test_server_errors_and_unknown_tools_raise_tool_errors(memory_client):
    with pytest.raises(ToolError):
        memory_client.call_tool("add", {"a": "x"})
    with pytest.raises(ToolError):
        memory_client.call_tool("nope", {})


def test_stdio_subprocess_server(stdio_client):
    names = [s["function"]["name"] for s in stdio_client.get_tools()]
    assert names == ["multiply", "get_weather", "fail"]
    assert stdio_client.call_tool("multiply", {"a": 6, "b": 7}) == "42"
    with pytest.raises(ToolError, match="the server tool failed"):
        stdio_client.call_tool("fail")


def test_python_tools_win_on_a_name_clash(stdio_client):
    @tool
    def get_weather(city: str) -> str:
        """Python weather."""
        return f"python weather for {city}"

    tools = ToolSet([get_weather], stdio_client)
    assert tools.names() == ["get_weather", "multiply", "fail"]
    assert tools.run_sync({"id": "1", "name": "get_weather", "arguments": {"city": "Oslo"}})["content"] == \
        "python weather for Oslo"
    assert tools.run_sync({"id": "2", "name": "multiply", "arguments": {"a": 2, "b": 3}})["content"] == "6"
    failed = tools.run_sync({"id": "3", "name": "fail", "arguments": {}})
    assert failed["is_error"] and "the server tool failed" in failed["content"]
    bad = tools.run_sync({"id": "4", "name": "multiply", "arguments": "[1, 2]"})
    assert bad["is_error"] and "JSON object" in bad["content"]


def test_config_form_runs_a_stdio_server():
    config = {"mcpServers": {"calc": {"command": sys.executable, "args": [str(SCRIPT)]}}}
    with MCPClient(config=config) as client:
        assert "multiply" in {s["function"]["name"] for s in client.get_tools()}
    with pytest.raises(ToolError, match="closed"):
        client.get_tools(refresh=True)


def test_constructor_needs_exactly_one_source(tmp_path):
    with pytest.raises(ConfigurationError, match="exactly one"):
        MCPClient()
    with pytest.raises(ConfigurationError, match="exactly one"):
        MCPClient(server=make_server(), file=SCRIPT)
    with pytest.raises(ConfigurationError, match="not found"):
        MCPClient(file=tmp_path / "missing.py")


def test_mcp_tools_to_openai_accepts_dicts():
    specs = mcp_tools_to_openai([{"name": "t", "description": None, "inputSchema": {"properties": {}}}])
    assert specs == [{"type": "function", "function": {
        "name": "t", "description": "", "parameters": {"properties": {}, "type": "object"}}}]
