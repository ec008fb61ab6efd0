"""Fixtures for the aio tests: fake OpenAI servers and async clients on them, clean provider env.

The model turns are real: the official async OpenAI SDK talks to ``FakeOpenAIServer`` on
127.0.0.1, which answers its scripted ``Reply`` queue in order and logs every request in
``server.requests``. Agents that run concurrently each get their own server
(``fake_server()``), so each one's script is answered in its own order.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workbench.testing import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # for `from tests.aio.test_aio_client_driver import ScriptedSync`
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch):
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENAI_BASE_URL",
                "ANTHROPIC_BASE_URL", "OLLAMA_HOST", "WORKBENCH_MODEL", "OPENAI_COMPAT_API_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def fake_server():
    """``fake_server(*replies, default=None)``: a started FakeOpenAIServer, stopped after the test."""
    servers = []

    def start(*replies, default=None):
        server = FakeOpenAIServer(replies, default=default).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(fake_server):
    return fake_server()


@pytest.fixture
def aclient():
    """``aclient(server, **options)``: an aio client (openai-compat, the real async SDK) on ``server``.

    No retries, so a scripted error reaches the caller at once.
    """
    from workbench import aio

    def make(server, **kwargs):
        kwargs.setdefault("retry", 0)
        return aio.client(f"openai-compat:m@{server.base_url}", **kwargs)

    return make
