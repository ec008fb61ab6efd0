"""Agents and workflows run end to end: the real OpenAI SDK against a scripted local server."""

from __future__ import annotations

import pytest

from workbench.testing import FakeOpenAIServer, Reply, ToolCall  # noqa: F401  (re-exported for tests)


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
def make_client(server):
    """A real client (openai-compat, official SDK) on the fake server; no retries, so faults show at once."""
    import workbench as wb

    def make(fake=None, **kwargs):
        kwargs.setdefault("retry", 0)
        return wb.client("openai-compat:scripted@" + (fake or server).base_url, **kwargs)

    return make
