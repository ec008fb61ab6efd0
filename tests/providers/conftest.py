"""Fixtures: fake servers started per test, and a retry policy that does not slow the suite."""

from __future__ import annotations

import socket

import pytest

import workbench.testing as fakes

@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch):
    # Tests decide keys and URLs themselves; the developer's environment must not leak in.
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENAI_BASE_URL",
                "ANTHROPIC_BASE_URL", "OLLAMA_HOST", "VLLM_BASE_URL", "OPENAI_COMPAT_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def openai_server():
    with fakes.FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def anthropic_server():
    with fakes.FakeAnthropicServer() as server:
        yield server


@pytest.fixture
def ollama_server():
    with fakes.FakeOllamaServer() as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
