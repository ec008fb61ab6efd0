"""Agent end to end against the fake OpenAI server: the tool loop, faults, restore, streaming."""

from __future__ import annotations


import pytest

import workbench as wb
from workbench.agents import Agent, MaxIterationsWarning
from workbench.errors import CheckpointError, ConfigurationError, ServerError
from workbench.testing import Reply, ToolCall


def sent_messages(fake, index: int = -1) -> list[dict]:
    """The messages the model received in request ``index``."""
    return fake.requests[index].json["messages"]


@wb.tool
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: City name.
    """
    return f"Sunny in {city}"


@wb.tool
def explode(reason: str) -> str:
    """A tool that fails."""
    raise RuntimeError(f"sensor offline: {reason}")


def test_agent_continues_when_the_client_tool_loop_stops_with_tools_pending(server, make_client):
    # max_tool_rounds=1: the client's own loop stops right after the first tool round, before the
    # model has answered; only then does the agent send its continuation prompt.
    server.add(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id="c1")]),
               Reply(text="Final: sunny in Paris."))
    agent = Agent(make_client(max_tool_rounds=1), system_message="You are a weather bot.", tools=[get_weather])
    assert agent.run("What is the weather in Paris?") == "Final: sunny in Paris."
    assert agent.last_outcome == "completed" and agent.iterations == 2
    assert len(server.requests) == 2 and server.pending == 0
    history = agent.messages["agent"]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "tool", "user", "assistant"]
    assert history[3]["content"] == "Sunny in Paris" and history[3]["tool_call_id"] == "c1"
    assert history[4]["content"] == agent.continuation_prompt
    # the continuation request carried the tool result, then the continuation prompt
    assert [m["role"] for m in sent_messages(server, 1)][-2:] == ["tool", "user"]
    # the tool spec reached the model, with the argument description from the docstring
    tools = server.requests[0].json["tools"]
    assert tools[0]["function"]["parameters"]["properties"]["city"]["description"] == "City name."


def test_no_continuation_turn_after_a_finished_answer(server, make_client):
    # The client's chat() runs the whole tool loop; once the model answers without tools the
    # task is done, and the agent must not send one more "continue" turn.
    server.add(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id="c1")]),
               Reply(text="Sunny in Paris."))
    server.default = Reply(text="An unwanted extra turn.")
    agent = Agent(make_client(), tools=[get_weather])
    assert agent.run("What is the weather in Paris?") == "Sunny in Paris."
    assert len(server.requests) == 2  # the tool round and the answer; nothing after it
    assert agent.iterations == 1 and agent.last_outcome == "completed"
    history = agent.messages["agent"]
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    assert all(m.get("content") != agent.continuation_prompt for m in history)


def test_a_raising_tool_goes_back_to_the_model_and_the_loop_continues(server, make_client):
    server.add(Reply(tool_calls=[ToolCall("explode", {"reason": "rain"})]), Reply(text="The sensor is down."))
    agent = Agent(make_client(), tools=[explode])
    assert agent.run("Check the sensor") == "The sensor is down."
    assert len(server.requests) == 2 and agent.iterations == 1 and agent.last_outcome == "completed"
    tool_msg = sent_messages(server, 1)[-1]
    assert tool_msg["role"] == "tool" and "RuntimeError: sensor offline: rain" in tool_msg["content"]


@pytest.mark.parametrize("call, expected", [
    (ToolCall("get_weather", '{"city": "Par'), "JSON object"),                 # malformed JSON
    (ToolCall("get_forecast", {"city": "Paris"}), "No tool named 'get_forecast'"),  # unknown tool
    (ToolCall("get_weather", {"town": "Paris"}), "unknown argument(s) town"),    # wrong argument
])
def test_bad_tool_calls_become_errors_the_model_can_fix(server, make_client, call, expected):
    server.add(Reply(tool_calls=[call]),
               Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]),
               Reply(text="Sunny."))
    agent = Agent(make_client(), tools=[get_weather])
    assert agent.run("Weather?") == "Sunny."
    assert len(server.requests) == 3 and agent.iterations == 1 and agent.last_outcome == "completed"
    first_result = sent_messages(server, 1)[-1]
    assert first_result["role"] == "tool" and expected in first_result["content"]
    assert sent_messages(server, 2)[-1]["content"] == "Sunny in Paris"


def test_max_iterations_is_a_clear_outcome(server, make_client):
    server.default = Reply(tool_calls=[ToolCall("get_weather", {"city": "Rome"})])
    client = make_client(max_tool_rounds=1)
    agent = Agent(client, tools=[get_weather], max_iterations=2)
    with pytest.warns(MaxIterationsWarning, match="max_iterations=2"):
        agent.run("Loop forever")
    assert agent.last_outcome == "max_iterations" and agent.iterations == 2
    assert len(server.requests) == 2
    # history is consistent: every tool request is followed by its result
    history = client.messages
    for i, m in enumerate(history):
        if m.get("tool_calls"):
            assert history[i + 1]["role"] == "tool"


def test_restore_then_run_keeps_history_with_reset_on_run_and_system_message(server, make_client):
    server.add(Reply(text="First answer."))
    agent = Agent(make_client(), system_message="Be brief.", reset_messages_on_run=True, name="worker")
    agent.run("Step one")
    saved = agent.checkpoint()

    fresh = Agent(make_client(), system_message="Be brief.", reset_messages_on_run=True, name="worker")
    fresh.restore(saved)
    server.add(Reply(text="Continued."))
    assert fresh.run("Continue from where you left off") == "Continued."
    sent = sent_messages(server)
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"] == "Be brief." and sent[1]["content"] == "Step one"
    # the restore protected exactly one run: reset_messages_on_run applies again afterwards
    server.add(Reply(text="Fresh."))
    fresh.run("New task")
    assert [m["role"] for m in sent_messages(server)] == ["system", "user"]


def test_restore_never_doubles_nor_loses_the_system_message(server, make_client):
    saved = [{"role": "system", "content": "Old system."}, {"role": "user", "content": "hi"},
             {"role": "assistant", "content": "hello"}]
    with_system = Agent(make_client(), system_message="New system.")
    with_system.restore(saved)
    assert [m["content"] for m in with_system.model_client.messages if m["role"] == "system"] == ["New system."]
    without = Agent(make_client())
    without.restore(saved)
    assert without.model_client.messages == saved
    without.restore(saved)  # restoring twice changes nothing
    assert without.model_client.messages == saved


def test_restore_rejects_another_runner_type(make_client):
    from workbench.agents import Chain

    chain = Chain.from_client(make_client(), ["a", "b"])
    with pytest.raises(CheckpointError, match="belongs to a Chain"):
        Agent(make_client()).restore(chain.checkpoint())
    with pytest.raises(CheckpointError, match="no history for an agent named"):
        Agent(make_client(), name="x").restore({"type": "Agent", "messages": {"a": [], "b": []}})


def test_streaming_is_live_and_tagged(server, make_client):
    # max_tool_rounds=1 makes the run span two iterations (the tool round, then the continuation),
    # so the stream shows both iteration tags.
    server.add(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})]), Reply(text="Done now."))
    agent = Agent(make_client(max_tool_rounds=1), tools=[get_weather], name="forecaster")
    stream = agent.run("Weather in Oslo?", stream=True)
    first = next(stream)
    assert first.phase == "tool_call" and len(server.requests) == 1  # nothing ran ahead of the consumer
    chunks = [first, *stream]
    assert {c.agent for c in chunks} == {"forecaster"}
    assert {c.iteration for c in chunks} == {0, 1}
    phases = [str(c.phase) for c in chunks]
    assert "tool_result" in phases and phases[-1] == "done"
    assert [c.iteration for c in chunks if c.phase == "tool_result"] == [0]
    assert "".join(c.content for c in chunks if c.phase == "text" and c.iteration == 1) == "Done now."
    assert agent.last_result == "Done now." and agent.iterations == 2
    assert len(server.requests) == 2 and sent_messages(server)[-1]["content"] == agent.continuation_prompt
    server.add(Reply(text="Hi there"))
    text_only = list(Agent(make_client(), name="b").run("x", stream=True, include=["text"]))
    assert [c.content for c in text_only] == ["Hi ", "there"]


def test_a_provider_failure_keeps_the_live_history(server, make_client):
    server.add(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})]), Reply(status=500, error="down"))
    agent = Agent(make_client(), tools=[get_weather])
    with pytest.raises(ServerError):
        agent.run("Weather?")
    assert agent.last_outcome == "failed"
    roles = [m["role"] for m in agent.model_client.messages]
    assert roles == ["user", "assistant", "tool"]  # the finished tool round is kept for a checkpoint


def test_agent_tools_join_the_client_and_concurrent_flag(make_client):
    client = make_client(tools=[explode])
    Agent(client, tools=[get_weather], concurrent_tool_calls=True)
    assert [t.__name__ for t in client.tools] == ["explode", "get_weather"]
    assert client.concurrent_tool_calls is True
    with pytest.raises(ConfigurationError):
        Agent("openai:gpt-4.1")
    with pytest.raises(ConfigurationError):
        Agent(client, max_iterations=0)


def test_as_model_client_runs_the_agent(server, make_client):
    server.add(Reply(text="Agent answer."))
    agent = Agent(make_client(), name="inner")
    view = agent.as_model_client()
    assert view.chat("Question?") == "Agent answer."
    assert view.messages[-1] == {"role": "assistant", "content": "Agent answer."}
    assert agent.messages["inner"][-1]["content"] == "Agent answer."
    assert "inner" in repr(view)


def test_wb_agent_builds_an_agent(server):
    server.add(Reply(text="ok"))
    agent = wb.agent("openai-compat:m@" + server.base_url, system="sys", tools=[get_weather], max_iterations=3)
    assert isinstance(agent, Agent) and agent.max_iterations == 3
    assert agent.run("hi") == "ok"
    assert sent_messages(server)[0] == {"role": "system", "content": "sys"}


def test_concurrent_tool_calls_run_together(server, make_client):
    import threading

    barrier = threading.Barrier(2, timeout=10)

    @wb.tool
    def meet(who: str) -> str:
        """Waits until both calls are running (only possible when they run at once)."""
        barrier.wait()
        return f"met {who}"

    server.add(Reply(tool_calls=[ToolCall("meet", {"who": "a"}, id="a"), ToolCall("meet", {"who": "b"}, id="b")]),
               Reply(text="Both met."))
    agent = Agent(make_client(), tools=[meet], concurrent_tool_calls=True)
    assert agent.run("Meet") == "Both met."
    assert len(server.requests) == 2 and agent.iterations == 1
    results = [m for m in agent.model_client.messages if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in results] == [("a", "met a"), ("b", "met b")]
