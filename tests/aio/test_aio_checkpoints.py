"""Checkpoint and restore on the async surface (the sync module's files and dicts)."""

from __future__ import annotations

import asyncio
import json

import pytest

import workbench as wb
from workbench import aio
from workbench.testing import Reply

KEY = "sk-aio-secret-123456"


def client(server, **kw):
    return aio.client("openai:gpt-4.1", api_key=KEY, base_url=server.base_url, **kw)


def test_async_client_save_load_restore(server, tmp_path):
    server.add(Reply(text="Hello."))
    c = client(server, system="S")
    asyncio.run(c.chat("Hi"))
    path = aio.save_checkpoint(c, tmp_path / "c.json")
    assert KEY not in path.read_text()
    fresh = client(server, system="S")
    fresh.restore(aio.load_checkpoint(path))
    assert fresh.messages == c.messages and fresh.messages[0] == {"role": "system", "content": "S"}


def test_auto_checkpoint_survives_a_cancelled_agent_and_resumes(server, tmp_path):
    server.add(Reply(text="never seen", delay=3))
    agent = aio.Agent(client(server), "Be thorough.", name="writer")
    path = tmp_path / "agent.json"
    aio.auto_checkpoint(agent, path)

    async def main():
        task = asyncio.create_task(agent.run("Write a lot"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    saved = json.loads(path.read_text())
    assert saved["type"] == "Agent" and saved["messages"]["writer"][-1] == {"role": "user", "content": "Write a lot"}
    # restore into a fresh aio agent (or the sync one: the same dict) and resume: the task is not doubled
    server.add(Reply(text="Done."))
    again = aio.Agent(client(server), "Be thorough.", name="writer")
    again.restore(aio.load_checkpoint(path))
    assert asyncio.run(again.run("Write a lot")) == "Done."
    assert [m["role"] for m in again.model_client.messages] == ["system", "user", "assistant"]
    sync_agent = wb.agents.Agent(wb.client("openai:gpt-4.1", api_key=KEY, base_url=server.base_url),
                                 "Be thorough.", name="writer")
    sync_agent.restore(again.checkpoint())
    assert sync_agent.model_client.messages == again.model_client.messages


def test_parallel_resume_reruns_only_the_unfinished_workers(fake_server):
    from workbench.aio.driver import RunAllFailed
    from workbench.errors import ServerError

    good_server = fake_server(Reply(text="good"))
    # the failure comes late enough that the good worker has finished (a finished worker is kept)
    flaky_server = fake_server(Reply(status=500, error="flaky", delay=0.3), Reply(text="recovered"))
    good = aio.Agent(client(good_server, retry=0), name="good")
    flaky = aio.Agent(client(flaky_server, retry=0), name="flaky")
    par = aio.Parallel([good, flaky])
    with pytest.raises(RunAllFailed) as info:
        asyncio.run(par.run("task"))
    assert [type(e) for e in info.value.exceptions] == [ServerError] and "flaky" in str(info.value.exceptions[0])
    state = par.checkpoint()
    assert state["position"]["outputs"] == {"good": "good"}
    par.restore(state)
    assert asyncio.run(par.run("task")) == "good\n\n---\n\nrecovered"
    assert len(good_server.requests) == 1  # the finished worker was not asked again
    assert len(flaky_server.requests) == 2
