"""Cloud calls never wait forever: every client has a timeout (``timeout=``, else
``$WORKBENCH_TIMEOUT``, else 600 s), the Ollama SDK included (its own default is none), and
a server that does not answer in time raises RequestTimeout naming the setting to change."""

from __future__ import annotations

import asyncio
import time

import pytest

import workbench as wb
from workbench import aio
from workbench.errors import ConfigurationError, RequestTimeout
from workbench.testing import FakeOllamaServer, FakeOpenAIServer, Reply


def test_a_silent_server_raises_request_timeout_naming_the_setting():
    with FakeOpenAIServer() as server:
        server.add(Reply(text="late", delay=3.0))
        c = wb.client("openai-compat:m@" + server.base_url, timeout=0.5)
        start = time.monotonic()
        with pytest.raises(RequestTimeout) as info:
            c.chat("Hi")
        assert time.monotonic() - start < 2.5                    # not retried: one wait, not three
        assert isinstance(info.value, TimeoutError) and info.value.timeout == 0.5
        assert "within 0.5 s" in str(info.value) and "timeout=" in str(info.value)
        assert "WORKBENCH_TIMEOUT" in str(info.value)
        assert [m["role"] for m in c.messages] in (["user"], [])          # no half turn kept


def test_the_async_client_times_out_the_same_way():
    with FakeOpenAIServer() as server:
        server.add(Reply(text="late", delay=3.0))

        async def main():
            c = aio.client("openai-compat:m@" + server.base_url, timeout=0.5)
            try:
                with pytest.raises(RequestTimeout, match="within 0.5 s"):
                    await c.chat("Hi")
            finally:
                await c.aclose()

        asyncio.run(main())


def test_every_cloud_client_has_a_bounded_timeout_ollama_included(monkeypatch):
    monkeypatch.delenv("WORKBENCH_TIMEOUT", raising=False)
    with FakeOllamaServer() as server:
        c = wb.client("ollama:qwen3:8b", base_url=server.base_url)
        assert c.timeout == 600.0
        assert c.sdk()._client.timeout.read == 600.0                # the SDK's own default is None
    monkeypatch.setenv("WORKBENCH_TIMEOUT", "42")
    assert wb.client("openai-compat:m@http://127.0.0.1:9/v1").timeout == 42.0
    assert wb.client("openai-compat:m@http://127.0.0.1:9/v1", timeout=7).timeout == 7.0
    monkeypatch.setenv("WORKBENCH_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="WORKBENCH_TIMEOUT"):
        wb.client("openai-compat:m@http://127.0.0.1:9/v1")
    monkeypatch.delenv("WORKBENCH_TIMEOUT")
    with pytest.raises(ConfigurationError, match="timeout= takes seconds"):
        wb.client("openai-compat:m@http://127.0.0.1:9/v1", timeout=0)
