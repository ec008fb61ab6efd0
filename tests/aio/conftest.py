"""Fixtures for the aio tests: the repo root on sys.path (for tests.aio.scripted), clean provider env."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _no_provider_env(monkeypatch):
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENAI_BASE_URL",
                "ANTHROPIC_BASE_URL", "OLLAMA_HOST", "WORKBENCH_MODEL"):
        monkeypatch.delenv(var, raising=False)
