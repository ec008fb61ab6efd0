"""SDKs load when a client first sends a request, not on import or construction."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import workbench as wb
from workbench.testing import FakeOpenAIServer, Reply
with FakeOpenAIServer(default=Reply(text="ok")) as server:
    c = wb.client("openai:gpt-4.1", api_key="k", base_url=server.base_url)
    before = "openai" in sys.modules
    answer = c.chat("hi")
    print(before, "openai" in sys.modules, answer, "anthropic" in sys.modules)
"""


def test_sdk_is_imported_on_first_request_only():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "ok", "False"]
