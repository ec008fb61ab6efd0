"""A small FastMCP server run over stdio by the MCP tests."""

from fastmcp import FastMCP

mcp = FastMCP("test-stdio")


@mcp.tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@mcp.tool
def get_weather(city: str) -> str:
    """Weather from the MCP server (clashes with a Python tool in the tests)."""
    return f"MCP weather for {city}"


@mcp.tool
def fail() -> str:
    """Always fails."""
    raise ValueError("the server tool failed")


if __name__ == "__main__":
    mcp.run(show_banner=False) if "show_banner" in mcp.run.__code__.co_varnames else mcp.run()
