"""Fixtures of the notebook tests: a real IPython shell with the extension, a fake OpenAI server."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path, monkeypatch):
    # checkpoints go to .workbench/checkpoints under cwd: keep them out of the repo
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake_openai():
    from workbench.testing import FakeOpenAIServer, Reply

    with FakeOpenAIServer(default=Reply(text="Default answer.")) as server:
        yield server


@pytest.fixture
def model(fake_openai):
    return f"openai-compat:fake-model@{fake_openai.base_url}"


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "workbench")
    ip.rl_next_input = None
    yield ip
    ip.run_line_magic("unload_ext", "workbench")
    for name in [k for k in ip.user_ns if k.startswith("nbtest_")]:
        del ip.user_ns[name]
