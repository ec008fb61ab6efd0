"""An Agent on the built-in in-process model: a real tool call decided by real weights."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.agents import Agent



@wb.tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return "sunny, 21 C" if city == "Paris" else "unknown"


@pytest.fixture(scope="module")
def tiny():
    # The first use builds the model (tokenizer and weights trained in-process): minutes on a busy CPU.
    return wb.client("hf:workbench-tiny")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_agent_on_workbench_tiny_calls_the_tool_and_answers(tiny):
    tiny.reset()
    agent = Agent(tiny, tools=[get_weather], max_iterations=2, name="tiny")
    stream = agent.run("What is the weather in Paris?", stream=True, generate_kwargs={"max_tokens": 96})
    chunks = list(stream)
    calls = [c.content for c in chunks if c.phase == "tool_call"]
    assert calls and calls[0]["name"] == "get_weather" and calls[0]["arguments"] == {"city": "Paris"}
    results = [c.content for c in chunks if c.phase == "tool_result"]
    assert results[0]["content"] == "sunny, 21 C" and not results[0]["is_error"]
    history = agent.messages["tiny"]
    answers = [m["content"] for m in history if m["role"] == "assistant" and not m.get("tool_calls")]
    assert answers == ["It is sunny in Paris, 21 C."]
    assert agent.last_result == "It is sunny in Paris, 21 C."
    assert {c.agent for c in chunks} == {"tiny"}
    # the client's tool loop ran the tool and the model answered: no continuation turn
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    assert agent.last_outcome == "completed" and agent.iterations == 1
