"""SkillAgent (skills from SKILL.md folders, loaded on demand) and OrchestratorAgent (workers as tools)."""

from __future__ import annotations

import pytest

from workbench.agents import Agent, OrchestratorAgent, SkillAgent, discover_skills
from workbench.errors import ConfigurationError
from workbench.testing import FakeOpenAIServer, Reply, ToolCall


def sent_messages(fake, index: int = -1) -> list[dict]:
    """The messages the model received in request ``index``."""
    return fake.requests[index].json["messages"]


@pytest.fixture
def skills_dir(tmp_path):
    report = tmp_path / "skills" / "pdf-report"
    report.mkdir(parents=True)
    (report / "SKILL.md").write_text(
        "---\nname: pdf-report\ndescription: Turn results into a short PDF report.\n---\n"
        "# PDF reports\n1. Summarize.\n2. Render with template.tex.\n")
    (report / "template.tex").write_text("\\documentclass{article}")
    plain = tmp_path / "skills" / "haiku"
    plain.mkdir()
    (plain / "SKILL.md").write_text("Write haiku in 5-7-5.\nCount syllables carefully.")
    (tmp_path / "skills" / "not-a-skill").mkdir()
    return tmp_path / "skills"


def test_discovery_reads_front_matter_and_falls_back_to_folder_names(skills_dir):
    skills = discover_skills([skills_dir])
    assert list(skills) == ["haiku", "pdf-report"]
    assert skills["pdf-report"].description == "Turn results into a short PDF report."
    assert skills["haiku"].description == "Write haiku in 5-7-5."
    assert skills["pdf-report"].files() == ["template.tex"]
    with pytest.raises(ConfigurationError, match="not found"):
        discover_skills([skills_dir / "missing"])
    broken = skills_dir / "broken"
    broken.mkdir()
    (broken / "SKILL.md").write_text("---\nname: x\nno end")
    with pytest.raises(ConfigurationError, match="never closed"):
        discover_skills([skills_dir])


def test_skill_agent_lists_skills_and_loads_instructions_on_demand(server, make_client, skills_dir):
    server.add(Reply(tool_calls=[ToolCall("activate_skill", {"name": "pdf-report"})]),
               Reply(text="Report made."))
    agent = SkillAgent(make_client(), system_message="You are an analyst.", skill_dirs=[skills_dir])
    assert agent.run("Make a report") == "Report made."
    assert len(server.requests) == 2 and agent.iterations == 1 and agent.last_outcome == "completed"
    system = sent_messages(server, 0)[0]["content"]
    assert system.startswith("You are an analyst.") and "- pdf-report: Turn results" in system
    assert "Render with template.tex" not in system  # instructions are not loaded up front
    loaded = sent_messages(server, 1)[-1]
    assert loaded["role"] == "tool" and "2. Render with template.tex." in loaded["content"]
    assert "Files in this skill's folder: template.tex" in loaded["content"]
    # restoring its own checkpoint keeps exactly one system message with the catalog
    state = agent.checkpoint()
    again = SkillAgent(make_client(), system_message="You are an analyst.", skill_dirs=[skills_dir])
    again.restore(state)
    systems = [m for m in again.model_client.messages if m["role"] == "system"]
    assert len(systems) == 1 and systems[0]["content"] == system


def test_unknown_skill_is_an_error_for_the_model(server, make_client, skills_dir):
    server.add(Reply(tool_calls=[ToolCall("activate_skill", {"name": "juggling"})]), Reply(text="ok"))
    agent = SkillAgent(make_client(), skill_dirs=[skills_dir])
    assert agent.run("juggle") == "ok"
    assert len(server.requests) == 2
    assert "No skill named 'juggling'" in sent_messages(server, 1)[-1]["content"]


def test_orchestrator_delegates_to_workers_as_tools(server, make_client):
    with FakeOpenAIServer(default=Reply(text="three sources")) as research, \
            FakeOpenAIServer(default=Reply(text="a brief")) as writing:
        researcher = Agent(make_client(research), system_message="You research.", name="researcher")
        writer = Agent(make_client(writing), system_message="You write.", name="writer")
        server.add(Reply(tool_calls=[ToolCall("researcher", {"task": "find sources"}, id="r"),
                                     ToolCall("writer", {"task": "write it"}, id="w")]),
                   Reply(text="Brief ready."))
        boss = OrchestratorAgent.assemble(make_client(), "Split the work.", workers=[researcher, writer])
        assert boss.run("Brief on X") == "Brief ready."
        assert len(server.requests) == 2 and boss.iterations == 1 and boss.last_outcome == "completed"
        assert len(research.requests) == 1 and len(writing.requests) == 1  # each worker ran once
        specs = {t["function"]["name"]: t for t in server.requests[0].json["tools"]}
        assert set(specs) == {"researcher", "writer"}
        assert "You research." in specs["researcher"]["function"]["description"]
        results = [m for m in boss.model_client.messages if m["role"] == "tool"]
        assert [(m["tool_call_id"], m["content"]) for m in results] == [("r", "three sources"), ("w", "a brief")]
        assert set(boss.messages) == {"orchestrator", "researcher", "writer"}
        assert research.requests[0].json["messages"][-1]["content"] == "find sources"

        state = boss.checkpoint()
        fresh_r = Agent(make_client(research), system_message="You research.", name="researcher")
        fresh_w = Agent(make_client(writing), system_message="You write.", name="writer")
        again = OrchestratorAgent.assemble(make_client(), "Split the work.", workers=[fresh_r, fresh_w])
        again.restore(state)
        assert fresh_r.model_client.messages == researcher.model_client.messages
        assert again.model_client.messages == boss.model_client.messages


def test_orchestrator_worker_names_must_be_distinct(make_client):
    with pytest.raises(ConfigurationError, match="distinct"):
        OrchestratorAgent.assemble(make_client(), "s", workers=[Agent(make_client(), name="w"),
                                                                 Agent(make_client(), name="w")])


@pytest.mark.parametrize("concurrent", [False, True], ids=["one-by-one", "concurrent"])
def test_a_streaming_orchestrator_shows_each_workers_chunks_live_tagged_with_its_name(server, make_client,
                                                                                    concurrent):
    from workbench.models.chunks import Phase

    with FakeOpenAIServer() as research, FakeOpenAIServer() as writing:
        research.add(Reply(text="three good sources", thinking="where to look"))
        writing.add(Reply(text="a short brief"))
        researcher = Agent(make_client(research), system_message="You research.", name="researcher")
        writer = Agent(make_client(writing), system_message="You write.", name="writer")
        server.add(Reply(tool_calls=[ToolCall("researcher", {"task": "find sources"}, id="r"),
                                     ToolCall("writer", {"task": "write it"}, id="w")]),
                   Reply(text="Brief ready."))
        boss = OrchestratorAgent.assemble(make_client(), "Split the work.", workers=[researcher, writer],
                                          concurrent_tool_calls=concurrent)
        chunks = list(boss.run("Brief on X", stream=True))
    by_agent = {}
    for chunk in chunks:
        if chunk.phase in (Phase.TEXT, Phase.THINKING):
            by_agent.setdefault(chunk.agent, []).append((chunk.phase, chunk.content))
    assert "".join(t for p, t in by_agent["researcher"] if p is Phase.TEXT) == "three good sources"
    assert "".join(t for p, t in by_agent["researcher"] if p is Phase.THINKING) == "where to look"
    assert "".join(t for _, t in by_agent["writer"]) == "a short brief"
    assert "".join(t for _, t in by_agent["orchestrator"]) == "Brief ready."
    order = [(c.phase, c.agent) for c in chunks if c.phase in (Phase.TOOL_CALL, Phase.TOOL_RESULT, Phase.TEXT)]
    first_worker_text = order.index((Phase.TEXT, "researcher"))
    first_result = order.index((Phase.TOOL_RESULT, "orchestrator"))
    assert order.index((Phase.TOOL_CALL, "orchestrator")) < first_worker_text < first_result   # live, in between
    results = [m for m in boss.model_client.messages if m["role"] == "tool"]
    assert [m["content"] for m in results] == ["three good sources", "a short brief"]   # the answers, no thinking
    assert researcher.model_client.messages[-1]["content"] == "three good sources"


def test_a_parallel_worker_answers_with_its_joined_outputs_and_worker_text_never_becomes_the_answer(
        server, make_client):
    from workbench.agents import Parallel

    with FakeOpenAIServer(default=Reply(text="left half")) as left, \
            FakeOpenAIServer(default=Reply(text="right half")) as right:
        team = Parallel([Agent(make_client(left), name="left"), Agent(make_client(right), name="right")],
                        name="team")
        server.add(Reply(tool_calls=[ToolCall("team", {"task": "split it"}, id="t")]), Reply(text="Joined."))
        boss = OrchestratorAgent.assemble(make_client(), "Delegate.", workers=[team])
        streamed = list(boss.run("do it", stream=True))
        assert boss.last_result == "Joined."
    result = [m for m in boss.model_client.messages if m["role"] == "tool"][0]["content"]
    assert result == "left half" + team.separator + "right half"        # what Parallel.run returns
    assert any(c.agent == "left" for c in streamed) and any(c.agent == "right" for c in streamed)
    server.add(Reply(tool_calls=[ToolCall("team", {"task": "again"}, id="u")]), Reply(text="Second."))
    assert boss.run("again") == "Second."                        # the workers' text is not the answer
