"""A checkpoint that cannot be saved is reported (a RuntimeWarning naming the path and the
reason) and never masks what the run itself raised or returned."""

from __future__ import annotations

import warnings

import pytest

import workbench as wb
from workbench.errors import ServerError
from workbench.testing import FakeOpenAIServer, Reply


@pytest.fixture
def blocked(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path / "a-file" / "c.json"          # its parent is a file: every save fails


def test_auto_checkpoint_warns_and_the_chat_answers(blocked):
    with FakeOpenAIServer(default=Reply(text="Fine.")) as server:
        c = wb.client("openai-compat:m@" + server.base_url)
        wb.auto_checkpoint(c, blocked)
        with pytest.warns(RuntimeWarning, match="could not save .*a-file"):
            assert c.chat("Hi") == "Fine."
        with pytest.warns(RuntimeWarning, match="could not save"):
            assert "".join(ch.content for ch in c.chat("Again", stream=True) if ch.phase == "text") == "Fine."


def test_a_failing_save_never_masks_the_chats_own_error(blocked):
    with FakeOpenAIServer() as server:
        server.add(Reply(status=500, error="boom"))
        c = wb.client("openai-compat:m@" + server.base_url, retry=0)
        wb.auto_checkpoint(c, blocked)
        with pytest.warns(RuntimeWarning, match="could not save"), pytest.raises(ServerError):
            c.chat("Hi")


def test_show_reports_a_checkpoint_it_could_not_save(blocked):
    from workbench.notebook.show import show

    with FakeOpenAIServer(default=Reply(text="Shown.")) as server:
        c = wb.client("openai-compat:m@" + server.base_url)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = show(c.chat("Hi", stream=True), runner=c, checkpoint_path=blocked)
        assert str(result) == "Shown."
        assert any(issubclass(w.category, RuntimeWarning) and "could not be saved" in str(w.message)
                   and "cannot be resumed" in str(w.message) for w in caught)


def test_an_async_client_saves_and_restores_its_conversation(tmp_path):
    import asyncio

    from workbench import aio

    with FakeOpenAIServer(default=Reply(text="Fine.")) as server:
        async def main():
            c = aio.client("openai-compat:m@" + server.base_url)
            await c.chat("Hi")
            path = wb.save_checkpoint(c, tmp_path / "a.json")       # (wb.ashow's save failed on it)
            twin = aio.client("openai-compat:m@" + server.base_url)
            twin.restore(wb.load_checkpoint(path))
            await c.aclose()
            return [m["content"] for m in twin.messages]

        assert asyncio.run(main()) == ["Hi", "Fine."]
