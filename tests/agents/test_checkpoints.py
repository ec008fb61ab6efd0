"""Checkpoints: atomic writes, no secrets, clear errors, auto-checkpoint during long runs."""

from __future__ import annotations

import json
import os

import pytest

import workbench as wb
from workbench.agents import Agent, Chain
from workbench.checkpoints import auto_checkpoint, checkpoint_on_failure, load_checkpoint, save_checkpoint
from workbench.errors import CheckpointError, ServerError
from workbench.testing import Reply, ToolCall


def test_top_level_names():
    assert wb.save_checkpoint is save_checkpoint and wb.load_checkpoint is load_checkpoint
    assert wb.auto_checkpoint is auto_checkpoint


def test_round_trip_of_an_agent(server, make_client, tmp_path):
    server.add(Reply(text="hello"))
    agent = Agent(make_client(), system_message="sys", name="a1")
    agent.run("hi")
    path = save_checkpoint(agent, tmp_path / "sub" / "a.json")
    state = load_checkpoint(path)
    assert state["type"] == "Agent" and state["name"] == "a1" and state["version"] == 1
    assert state["messages"]["a1"] == agent.model_client.messages
    assert state["position"]["last_outcome"] == "completed" and "saved_at" in state
    twin = Agent(make_client(), system_message="sys", name="a1")
    twin.restore(state)
    assert twin.model_client.messages == agent.model_client.messages


def test_a_crash_during_save_leaves_the_previous_checkpoint_intact(server, make_client, tmp_path, monkeypatch):
    server.add(Reply(text="first"))
    agent = Agent(make_client(), name="a")
    agent.run("one")
    path = tmp_path / "run.json"
    save_checkpoint(agent, path)
    before = path.read_bytes()

    # 1) a value json cannot write, deep in the history: the dump fails midway
    agent.model_client.messages.append({"role": "user", "content": "x", "extra": object()})
    with pytest.raises(CheckpointError, match="only JSON data"):
        save_checkpoint(agent, path)
    agent.model_client.messages.pop()

    # 2) the process "dies" after half the file was written
    real_dump = json.dump

    def dump_half_then_die(obj, fp, **kwargs):
        text = json.dumps(obj, **kwargs)
        fp.write(text[: len(text) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dump", dump_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(agent, path)
    monkeypatch.setattr(json, "dump", real_dump)

    assert path.read_bytes() == before
    assert load_checkpoint(path)["messages"]["a"][-1]["content"] == "first"
    assert os.listdir(tmp_path) == ["run.json"]  # no temporary file left behind


def test_api_keys_never_reach_the_file(server, tmp_path, monkeypatch):
    secret = "sk-test-VERY-SECRET-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-ANOTHER-SECRET-987654")
    server.add(Reply(text=f"I saw {secret}"))
    client = wb.client("openai-compat:m@" + server.base_url, api_key=secret, retry=0)
    agent = Agent(client, name="a")
    agent.run(f"my key is {secret} and sk-env-ANOTHER-SECRET-987654")
    assert server.requests[0].headers.get("Authorization", server.requests[0].headers.get("authorization")) \
        == f"Bearer {secret}"  # the key was really in use
    for target in (agent, client, Chain([agent])):
        path = save_checkpoint(target, tmp_path / "k.json")
        text = path.read_text()
        assert secret not in text and "ANOTHER-SECRET" not in text
        assert "[REDACTED]" in text
    # Known secret values go wherever they are (a plain dict knows only the environment's
    # keys); names are not guessed at: "password_hint" holding no secret keeps its value.
    state = {"type": "Agent", "name": "a", "messages": {"a": [
        {"role": "user", "content": "ok", "password_hint": "first pet", "copied": "sk-env-ANOTHER-SECRET-987654"}]}}
    save_checkpoint(state, tmp_path / "dict.json")
    text = (tmp_path / "dict.json").read_text()
    assert '"password_hint": "first pet"' in text and "ANOTHER-SECRET" not in text


def test_a_worker_named_like_a_secret_resumes_with_its_real_output(server, make_client, tmp_path):
    from workbench.agents.workflows import Parallel

    server.add(Reply(text="Gift ideas: socks."), Reply(text="Use a passphrase."))
    par = Parallel([Agent(make_client(), name="secret_santa"), Agent(make_client(), name="password_helper")])
    par.run("Plan the party.")
    path = save_checkpoint(par, tmp_path / "party.json")
    restored = Parallel([Agent(make_client(), name="secret_santa"), Agent(make_client(), name="password_helper")])
    restored.restore(load_checkpoint(path))
    answers = {name: history[-1]["content"] for name, history in restored.messages.items()}
    assert sorted(answers.values()) == ["Gift ideas: socks.", "Use a passphrase."]
    assert "[REDACTED]" not in path.read_text()


def test_corrupt_missing_and_foreign_files_raise_checkpoint_errors(tmp_path, make_client):
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "Agent", "messages": {')
    with pytest.raises(CheckpointError, match="bad.json.*corrupt"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="No checkpoint at"):
        load_checkpoint(tmp_path / "nope.json")
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(CheckpointError, match="not a workbench checkpoint"):
        load_checkpoint(other)
    chain = Chain.from_client(make_client(), ["a"])
    save_checkpoint(chain, tmp_path / "chain.json")
    with pytest.raises(CheckpointError, match="belongs to a Chain"):
        Agent(make_client()).restore(load_checkpoint(tmp_path / "chain.json"))
    with pytest.raises(TypeError):
        save_checkpoint(object(), tmp_path / "x.json")


def test_a_plain_client_checkpoint_restores_into_a_client_or_an_agent(server, make_client, tmp_path):
    server.add(Reply(text="answer"))
    client = make_client(system="Be kind.")
    client.chat("question")
    path = save_checkpoint(client, tmp_path / "c.json")
    state = load_checkpoint(path)
    assert state["type"] == "client" and state["system_message"] == "Be kind."
    other = make_client(system="Be kind.")
    other.restore(state)
    assert other.messages == client.messages
    agent = Agent(make_client())
    agent.restore(state)
    assert agent.model_client.messages == client.messages


def test_auto_checkpoint_saves_after_every_iteration_and_on_failure(server, make_client, tmp_path):
    @wb.tool
    def ping() -> str:
        """Ping."""
        return "pong"

    path = tmp_path / "auto.json"
    # max_tool_rounds=1: every chat stops after one tool round with tools pending, so the agent
    # continues; the third chat (the second continuation) fails.
    server.add(Reply(tool_calls=[ToolCall("ping")]), Reply(tool_calls=[ToolCall("ping")]),
               Reply(status=500, error="down"))
    agent = Agent(make_client(max_tool_rounds=1), tools=[ping], name="long")
    seen = []
    with auto_checkpoint(agent, path) as auto:
        agent._checkpoint_hooks.append(lambda runner, event: seen.append(
            (event, len(load_checkpoint(path)["messages"]["long"]))))
        with pytest.raises(ServerError):
            agent.run("work")
    assert auto.saves == 3  # two completed iterations, then the failure
    # each save held the live history at that moment (the spy reads the file after each save)
    # user, assistant(tool call), tool | user(continue), assistant(tool call), tool | user(continue)
    assert seen == [("iteration", 3), ("iteration", 6), ("failed", 7)]
    assert agent.iterations == 2 and agent.last_outcome == "failed"
    final = load_checkpoint(path)["messages"]["long"]
    assert [m["role"] for m in final] == ["user", "assistant", "tool", "user", "assistant", "tool", "user"]
    assert final[-1]["content"] == agent.continuation_prompt  # the live state includes the unanswered continuation
    del agent._checkpoint_hooks[:]
    server.add(Reply(text="x"))
    agent.run("again")
    assert auto.saves == 3  # detached when the with-block ended


def test_auto_checkpoint_on_a_workflow_sees_inner_steps(server, make_client, tmp_path):
    path = tmp_path / "chain.json"
    server.add(Reply(text="o"), Reply(text="d"), Reply(status=500, error="down"))
    chain = Chain.from_client(make_client(), ["A.", "B.", "C."])
    auto = auto_checkpoint(chain, path)
    with pytest.raises(ServerError):
        chain.run("t")
    state = load_checkpoint(path)
    assert state["position"]["step"] == 2 and state["position"]["outputs"] == ["o", "d"]
    assert auto.saves >= 3
    with pytest.raises(TypeError, match="Runner"):
        auto_checkpoint(object(), path)


def test_auto_checkpoint_on_a_plain_client_saves_after_every_chat(server, make_client, tmp_path):
    path = tmp_path / "cell.json"
    client = make_client(system="sys")
    auto = auto_checkpoint(client, path)
    server.add(Reply(text="one"), Reply(text="two two"), Reply(status=500, error="down"))
    client.chat("first")
    assert load_checkpoint(path)["messages"][-1]["content"] == "one"
    chunks = client.chat("second", stream=True)
    assert load_checkpoint(path)["messages"][-1]["content"] == "one"  # not before the stream is consumed
    list(chunks)
    assert load_checkpoint(path)["messages"][-1]["content"] == "two two"
    with pytest.raises(ServerError):
        client.chat("third")
    assert load_checkpoint(path)["messages"][-1] == {"role": "user", "content": "third"}
    assert auto.saves == 3
    auto.detach()
    server.add(Reply(text="four"))
    client.chat("fourth")
    assert auto.saves == 3 and "chat" not in vars(client)


def test_checkpoint_on_failure_context(server, make_client, tmp_path):
    server.add(Reply(status=500, error="down"))
    agent = Agent(make_client(), name="a")
    with pytest.raises(ServerError), checkpoint_on_failure(agent, tmp_path / "f.json"):
        agent.run("task")
    assert load_checkpoint(tmp_path / "f.json")["messages"]["a"] == [{"role": "user", "content": "task"}]
