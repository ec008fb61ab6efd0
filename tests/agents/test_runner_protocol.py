"""The Runner surface and the effect protocol: nesting, custom runners, views, imports, scorers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workbench.agents import Agent, Chain, Parallel, Runner
from workbench.agents.effects import Call, Checkpoint, Run
from workbench.prompts.scorer import KeywordScorer, LLMJudgeScorer, Score, Scorer, parse_judgement
from workbench.testing import FakeOpenAIServer, Reply


def sent_messages(fake, index: int = -1) -> list[dict]:
    """The messages the model received in request ``index``."""
    return fake.requests[index].json["messages"]


class Shout(Runner):
    """A custom runner written only as effects: it runs a helper, then calls a function."""

    def __init__(self, helper: Runner, name: str = "shout"):
        self.helper, self.name = helper, name

    def _logic(self, task, *, images=None, generate_kwargs=None):
        answer = yield Run(self.helper, task)
        yield Checkpoint()
        return (yield Call(str.upper, (answer,)))

    @property
    def messages(self):
        return self.helper.messages

    def sub_runners(self):
        return [self.helper]


def test_a_custom_runner_needs_only_logic(server, make_client):
    server.add(Reply(text="quiet words"))
    shout = Shout(Agent(make_client(), name="helper"))
    assert shout.run("speak") == "QUIET WORDS"
    assert shout.checkpoint()["type"] == "Shout" and list(shout.messages) == ["helper"]
    assert shout.clients() == [shout.helper.model_client]
    with pytest.raises(TypeError):
        shout.run(["not", "a", "str"])


def test_an_effect_failure_is_thrown_into_the_logic(server, make_client):
    class Careful(Runner):
        name = "careful"

        def _logic(self, task, *, images=None, generate_kwargs=None):
            try:
                yield Call(int, ("not a number",))
            except ValueError as exc:
                return f"recovered: {type(exc).__name__}"

        messages = {}

    assert Careful().run("x") == "recovered: ValueError"


def test_nested_workflows_stream_and_restore(server, make_client):
    with FakeOpenAIServer(default=Reply(text="idea")) as ideas:
        server.add(Reply(text="summary"))
        panel = Parallel([Agent(make_client(ideas), name="i1"), Agent(make_client(ideas), name="i2")],
                         name="panel", separator=" & ")
        chain = Chain([panel, Agent(make_client(), name="summarizer")], name="outer")
        chunks = list(chain.run("brainstorm", stream=True))
        assert {c.agent for c in chunks} == {"i1", "i2", "summarizer"}
        assert chain.last_result == "summary"
        assert sent_messages(server)[-1]["content"] == "idea & idea"
        assert set(chain.messages) == {"i1", "i2", "summarizer"}
        state = chain.checkpoint()
        assert state["sub_positions"]["panel"]["outputs"] == {"i1": "idea", "i2": "idea"}

        twin_panel = Parallel([Agent(make_client(ideas), name="i1"), Agent(make_client(ideas), name="i2")],
                              name="panel")
        twin = Chain([twin_panel, Agent(make_client(), name="summarizer")], name="outer")
        twin.restore(state)
        assert twin.messages == chain.messages


def test_every_runner_has_a_model_client_view(server, make_client):
    server.add(Reply(text="a"), Reply(text="b"))
    chain = Chain.from_client(make_client(), ["One.", "Two."])
    view = chain.as_model_client()
    assert view.chat("go") == "b"
    assert view.messages == [{"role": "user", "content": "go"}, {"role": "assistant", "content": "b"}]
    # the view works as the client of another agent
    server.add(Reply(text="c"), Reply(text="d"))
    outer = Agent(view, name="outer")
    assert outer.run("again") == "d"


def test_import_workbench_agents_stays_light():
    code = ("import sys, workbench, workbench.agents, workbench.checkpoints, workbench.tools.decorator\n"
            "from workbench.agents import Agent, Chain, Router, Parallel, EvaluatorOptimizer, "
            "PlanExecuteEvaluator, SkillAgent, OrchestratorAgent, Runner\n"
            "heavy = {'openai', 'anthropic', 'torch', 'transformers', 'fastmcp', 'ollama', 'llama_cpp', "
            "'IPython', 'ipywidgets', 'pandas', 'pydantic'}\n"
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_scorers():
    assert isinstance(KeywordScorer(["a"]), Scorer)
    partial = KeywordScorer(["alpha", "beta"]).score("t", "Alpha only")
    assert partial.value == 0.5 and partial.feedback == "Missing: beta." and not partial.is_pass(0.7)
    assert partial.is_pass(0.5)
    strict = KeywordScorer(["alpha", "beta"], require_all=True).score("t", "alpha")
    assert strict.passed is False and not strict.is_pass(0.1)
    forbidden = KeywordScorer(["a"], forbidden=["lorem"]).score("t", "a lorem")
    assert forbidden.value == 0.0 and "Must not contain: lorem." in forbidden.feedback
    assert parse_judgement("SCORE: 7\nFEEDBACK: tighten it").value == pytest.approx(0.7)
    assert parse_judgement("score = 0.9").value == pytest.approx(0.9)
    assert parse_judgement("SCORE: 45/100").value == pytest.approx(0.45)
    missing = parse_judgement("I like it")
    assert missing.passed is False and "no SCORE line" in missing.feedback
    assert Score(1.5).value == 1.0 and Score(0.2, "ok PASS").is_pass(0.9, keyword="PASS")


def test_llm_judge_uses_the_stateless_path(server, make_client):
    server.add(Reply(text="SCORE: 10\nFEEDBACK: none"))
    judge_client = make_client(system="Grade fairly.")
    score = LLMJudgeScorer(judge_client, criteria="Short.").score("task", "output")
    assert score.value == 1.0 and score.feedback == "none"
    assert judge_client.messages == [{"role": "system", "content": "Grade fairly."}]
    sent = sent_messages(server)
    assert sent[0]["content"] == "Grade fairly." and "Short." in sent[1]["content"]
