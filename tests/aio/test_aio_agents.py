"""aio agents and workflows: the sync logic under the async driver.

Model turns come from fake OpenAI servers through the real async SDK; agents that run
concurrently each have their own server (``fake_server``), so each script keeps its order.
"""

from __future__ import annotations

import asyncio

import pytest

import workbench as wb
from workbench import aio
from workbench.agents import Agent as SyncAgent
from workbench.agents import Chain as SyncChain
from workbench.aio.driver import RunAllFailed
from workbench.errors import ConfigurationError, ServerError
from workbench.models.retry import RetryPolicy
from workbench.testing import Reply, ToolCall

NO_WAIT = RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0, max_total_wait=0.0)


def openai(server, **kw):
    return aio.client("openai:gpt-4.1", api_key="k", base_url=server.base_url, retry=NO_WAIT, **kw)


@wb.tool
async def fetch(url: str) -> str:
    """Fetch a URL."""
    await asyncio.sleep(0)
    return f"<html>{url}</html>"


@wb.tool
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


def test_agent_with_async_and_sync_tools(server):
    server.add(Reply(tool_calls=[ToolCall("fetch", {"url": "example.com"}, id="a")]),
               Reply(tool_calls=[ToolCall("word_count", {"text": "one two three"}, id="b")]),
               Reply(text="Done: 3 words."))
    agent = aio.Agent(openai(server), "You are helpful.", tools=[fetch, word_count])
    assert asyncio.run(agent.run("Fetch example.com and count")) == "Done: 3 words."
    # the client's tool loop ran both tools and the model answered: one iteration, no continuation
    assert agent.last_outcome == "completed" and agent.iterations == 1
    assert len(server.requests) == 3
    tool_results = [m["content"] for m in agent.model_client.messages if m["role"] == "tool"]
    assert tool_results == ["<html>example.com</html>", "3"]
    assert agent.messages == {"agent": agent.model_client.messages}


def test_agent_stream_is_tagged_and_live(server):
    # max_tool_rounds=1: the client stops after the tool round with tools pending, so the agent
    # continues and the stream spans iterations 0 and 1.
    server.add(Reply(tool_calls=[ToolCall("fetch", {"url": "x"}, id="a")]), Reply(text="All done."))
    agent = aio.Agent(openai(server, max_tool_rounds=1), name="fetcher", tools=[fetch])

    async def main():
        return [c async for c in await agent.run("go", stream=True)]

    chunks = asyncio.run(main())
    assert {c.agent for c in chunks} == {"fetcher"}
    assert [c.iteration for c in chunks if c.is_tool_result()] == [0]
    assert "".join(c.content for c in chunks if c.is_text() and c.iteration == 1) == "All done."
    assert agent.last_result == "All done." and agent.iterations == 2 and agent.last_outcome == "completed"
    assert len(server.requests) == 2
    assert server.requests[1].json["messages"][-1]["content"] == agent.continuation_prompt


def test_wrong_surface_and_forgotten_await_are_clear_errors(server):
    async_client = openai(server)
    with pytest.raises(ConfigurationError, match="aio.Agent"):
        SyncAgent(async_client)
    with pytest.raises(ConfigurationError, match="aio.client"):
        aio.Agent(wb.client("openai:gpt-4.1", api_key="k", base_url=server.base_url))
    # a sync workflow given an aio agent: a TypeError, not a coroutine in the history
    with pytest.raises(TypeError, match="async client"):
        SyncChain([aio.Agent(async_client)]).run("x")
    assert async_client.messages == []
    agent = aio.Agent(openai(server))

    async def forgot():
        with pytest.raises(TypeError, match="forgot an 'await'"):
            await agent.run(agent.model_client.generate("hi"))

    asyncio.run(forgot())
    assert agent.model_client.messages == []


def test_cancelling_a_running_agent_keeps_history_consistent(server):
    server.add(Reply(text="word " * 200, deltas=200, chunk_delay=0.01))
    client = openai(server, system="S")
    agent = aio.Agent(client)

    async def main():
        seen = []

        async def consume():
            async for chunk in await agent.run("long", stream=True):
                seen.append(chunk)

        task = asyncio.create_task(consume())
        while len(seen) < 5:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert client.messages == [{"role": "system", "content": "S"}, {"role": "user", "content": "long"}]
    assert client.last_partial.text.startswith("word word word")
    assert agent.last_outcome == "failed"
    server.add(Reply(text="short"))
    assert asyncio.run(agent.run("again")) == "short"  # usable afterwards, history continues
    assert [m["role"] for m in client.messages] == ["system", "user", "user", "assistant"]


def test_cancelling_during_a_slow_tool_keeps_history_consistent(server):
    @wb.tool
    async def slow(x: str) -> str:
        """A tool that takes too long."""
        await asyncio.sleep(30)
        return x

    server.add(Reply(tool_calls=[ToolCall("slow", {"x": "1"})]), Reply(text="never"))
    client = openai(server)
    agent = aio.Agent(client, tools=[slow])

    async def main():
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await agent.run("go")

    asyncio.run(main())
    assert client.messages == [{"role": "user", "content": "go"}]  # no tool request without its results
    assert agent.last_outcome == "failed"
    assert len(server.requests) == 1


def test_parallel_runs_concurrently_and_aggregates(fake_server):
    @wb.tool
    async def meet(who: str) -> str:
        """Wait until all three workers are inside their tool call."""
        arrived.append(who)
        if len(arrived) == 3:
            gate.set()
        await asyncio.wait_for(gate.wait(), 2)  # only true concurrency gets past this
        return who

    servers = [fake_server(Reply(tool_calls=[ToolCall("meet", {"who": f"w{i}"})]), Reply(text=f"out{i}"))
               for i in range(3)]
    workers = [aio.Agent(openai(s), name=f"w{i}", tools=[meet]) for i, s in enumerate(servers)]
    aggregator = aio.Agent(openai(fake_server(Reply(text="summary"))), name="agg")
    par = aio.Parallel(workers, aggregator=aggregator)

    async def main():
        global arrived, gate
        arrived, gate = [], asyncio.Event()
        return await par.run("task")

    assert asyncio.run(main()) == "summary"
    assert par.outputs == {"w0": "out0", "w1": "out1", "w2": "out2"}
    assert aggregator.model_client.messages[0]["content"] == "out0\n\n---\n\nout1\n\n---\n\nout2"
    assert set(par.messages) == {"w0", "w1", "w2", "agg"}
    for worker, worker_server in zip(workers, servers):  # one tool round and the answer; no continuation turn
        assert len(worker_server.requests) == 2 and worker.iterations == 1
        assert worker_server.requests[1].body["messages"][-1]["content"] == worker.name  # its own tool result


def test_parallel_failure_cancels_siblings_and_reports_every_error(fake_server):
    cancelled = []

    @wb.tool
    async def hang(x: str) -> str:
        """Never returns on its own."""
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(x)
            raise
        return x

    # Why a provider subclass for the two failing agents (the others use the fake server):
    # "every error" needs both failures raised in the same event-loop step, before the
    # TaskGroup's abort after the first one cancels the second. Two HTTP error responses
    # cannot be made to land in one step (each is read from its own socket, through several
    # awaits), so the failures are raised right after a shared asyncio gate instead.
    class FailsAtGate(aio.AsyncBaseModelClient):
        async def _aturn(self, messages, tools, options, stream):
            await gate.wait()  # both failures happen together
            raise ServerError(f"boom {self.label}", status=500)
            yield  # pragma: no cover

    def failing(label):
        client = FailsAtGate("openai:gpt-4.1")
        client._state.label = label
        return aio.Agent(client, name=f"bad{label}")

    slow_server = fake_server(Reply(tool_calls=[ToolCall("hang", {"x": "s"})]), Reply(text="never"))
    slow = aio.Agent(openai(slow_server), name="slow", tools=[hang])
    done = aio.Agent(openai(fake_server(Reply(text="quick answer"))), name="quick")
    par = aio.Parallel([done, slow, failing("1"), failing("2")])

    async def main():
        global gate
        gate = asyncio.Event()
        asyncio.get_running_loop().call_later(0.3, gate.set)  # after quick answered and slow is in its tool
        await par.run("task")

    with pytest.raises(RunAllFailed) as info:
        asyncio.run(main())
    group = info.value
    assert isinstance(group, ExceptionGroup)
    assert sorted(str(e) for e in group.exceptions) == ["boom 1", "boom 2"]
    assert [o.runner.name for o in group.outcomes] == ["quick"]
    assert par.outputs == {"quick": "quick answer"}  # kept (and checkpointed) for a resumed run
    assert cancelled == ["s"]
    assert slow.model_client.messages == [{"role": "user", "content": "task"}]  # consistent after cancel
    assert len(slow_server.requests) == 1


def test_chain_from_client_and_checkpoint_parity(server):
    server.add(Reply(text="outline"), Reply(text="draft"))
    chain = aio.Chain.from_client(openai(server), ["Outline.", "Write."])
    assert isinstance(chain.agents[0], aio.Agent) and isinstance(chain.agents[0].model_client, aio.AsyncModelClient)
    assert asyncio.run(chain.run("Tide pools")) == "draft"
    assert chain.agents[1].model_client.messages[1]["content"] == "outline"
    state = chain.checkpoint()
    # the same checkpoint restores into the sync twin and back
    sync_chain = SyncChain.from_client(wb.client("openai:gpt-4.1", api_key="k", base_url=server.base_url),
                                       ["Outline.", "Write."])
    sync_chain.restore(state)
    assert sync_chain.messages == chain.messages
    chain.restore(sync_chain.checkpoint())
    assert chain.messages == sync_chain.messages


def test_orchestrator_runs_async_workers_concurrently(fake_server):
    workers = [aio.Agent(openai(fake_server(Reply(text=f"{name} says hi"))), name=name) for name in ("alice", "bob")]
    delegate = [ToolCall("alice", {"task": "greet"}), ToolCall("bob", {"task": "greet"})]
    boss_server = fake_server(Reply(tool_calls=delegate), Reply(text="both greeted"))
    boss_client = openai(boss_server)
    boss = aio.OrchestratorAgent.assemble(boss_client, "Delegate.", workers=workers)
    assert boss.concurrent_tool_calls is True
    assert asyncio.run(boss.run("greet everyone")) == "both greeted"
    assert [m["content"] for m in boss_client.messages if m["role"] == "tool"] == ["alice says hi", "bob says hi"]
    assert set(boss.messages) == {"orchestrator", "alice", "bob"}
    assert len(boss_server.requests) == 2 and boss.iterations == 1 and boss.last_outcome == "completed"
    assert {t["function"]["name"] for t in boss_server.requests[0].body["tools"]} == {"alice", "bob"}


@pytest.mark.parametrize("concurrent", [False, True], ids=["one-by-one", "concurrent"])
def test_a_streaming_orchestrator_relays_its_async_workers_chunks_live(fake_server, concurrent):
    from workbench.models.chunks import Phase

    workers = [aio.Agent(openai(fake_server(Reply(text=f"{name} says hi"))), name=name) for name in ("alice", "bob")]
    delegate = [ToolCall("alice", {"task": "greet"}), ToolCall("bob", {"task": "greet"})]
    boss = aio.OrchestratorAgent.assemble(openai(fake_server(Reply(tool_calls=delegate), Reply(text="both greeted"))),
                                          "Delegate.", workers=workers, concurrent_tool_calls=concurrent)

    async def main():
        return [c async for c in await boss.run("greet everyone", stream=True)]

    chunks = asyncio.run(main())
    texts = {}
    for chunk in chunks:
        if chunk.phase is Phase.TEXT:
            texts[chunk.agent] = texts.get(chunk.agent, "") + chunk.content
    assert texts == {"alice": "alice says hi", "bob": "bob says hi", "orchestrator": "both greeted"}
    order = [(c.phase, c.agent) for c in chunks]
    assert order.index((Phase.TEXT, "alice")) < order.index((Phase.TOOL_RESULT, "orchestrator"))
    assert [m["content"] for m in boss.model_client.messages if m["role"] == "tool"] == ["alice says hi",
                                                                                           "bob says hi"]


def test_router_evaluator_and_plan_from_client(server):
    server.add(Reply(text="billing"), Reply(text="Refund issued."))
    router = aio.Router.from_client(openai(server), {"billing": "You do billing.", "tech": "You fix things."})
    assert asyncio.run(router.run("My invoice is wrong")) == "Refund issued."
    assert router.last_route == "billing"

    server.add(Reply(text="draft 1"), Reply(text="PASS"))
    evo = aio.EvaluatorOptimizer.from_client(openai(server), generator_prompt="Write.")
    assert asyncio.run(evo.run("a haiku")) == "draft 1"

    from workbench.prompts.scorer import KeywordScorer

    server.add(Reply(text="1. do it"), Reply(text="it is done"))
    pee = aio.PlanExecuteEvaluator.from_client(openai(server), scorer=KeywordScorer(["done"]))
    assert isinstance(pee.planner, aio.Agent) and isinstance(pee.executor, aio.Agent)
    assert asyncio.run(pee.run("do the thing")) == "it is done"


def test_runner_as_async_model_client(server):
    server.add(Reply(text="helped"))
    agent = aio.Agent(openai(server), name="helper")
    view = agent.as_model_client()
    assert isinstance(view, aio.AsyncBaseModelClient)
    assert asyncio.run(view.chat("help me")) == "helped"
    assert view.messages[-1] == {"role": "assistant", "content": "helped"}


def test_sync_agents_inside_an_async_workflow_run_in_threads(server):
    from tests.aio.test_aio_client_driver import ScriptedSync

    sync_workers = [SyncAgent(ScriptedSync([f"sync {i}"], delay=0.01), name=f"s{i}") for i in range(2)]
    server.add(Reply(text="async"))
    par = aio.Parallel(sync_workers + [aio.Agent(openai(server), name="a")])
    assert asyncio.run(par.run("task")) == "sync 0\n\n---\n\nsync 1\n\n---\n\nasync"
    assert all(w.model_client.thread_names[0].startswith("workbench-aio-") for w in sync_workers)
    assert sync_workers[0].model_client.messages[-1] == {"role": "assistant", "content": "sync 0"}
