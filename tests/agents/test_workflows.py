"""Workflows end to end on fake OpenAI servers: data flow, streaming, faults, resume."""

from __future__ import annotations

import pytest

from workbench.agents import (Agent, Chain, EvaluatorOptimizer, Parallel, PlanExecuteEvaluator, Router,
                              RoutingError, WorkersFailedError)
from workbench.checkpoints import load_checkpoint, save_checkpoint
from workbench.errors import CheckpointError, ConfigurationError, ServerError
from workbench.prompts.scorer import KeywordScorer, LLMJudgeScorer
from workbench.testing import FakeOpenAIServer, Reply


def sent_messages(fake, index: int = -1) -> list[dict]:
    """The messages the model received in request ``index``."""
    return fake.requests[index].json["messages"]


def user_texts(fake) -> list[str]:
    return [sent_messages(fake, i)[-1]["content"] for i in range(len(fake.requests))]


# -- Chain -------------------------------------------------------------------------------------

def test_chain_feeds_each_output_into_the_next_step(server, make_client):
    server.add(Reply(text="an outline"), Reply(text="a draft"), Reply(text="the final text"))
    chain = Chain.from_client(make_client(), ["Outline.", "Draft.", "Edit."])
    assert chain.run("tide pools") == "the final text"
    assert user_texts(server) == ["tide pools", "an outline", "a draft"]
    assert [sent_messages(server, i)[0]["content"] for i in range(3)] == ["Outline.", "Draft.", "Edit."]
    assert list(chain.messages) == ["chain_step_0", "chain_step_1", "chain_step_2"]
    assert chain.outputs == ["an outline", "a draft", "the final text"] and chain.completed


def test_chain_streams_live_chunks_tagged_by_step(server, make_client):
    server.add(Reply(text="one two"), Reply(text="three"))
    chain = Chain.from_client(make_client(), ["A.", "B."], name="c")
    stream = chain.run("go", stream=True)
    first = next(stream)
    assert first.agent == "c_step_0" and len(server.requests) == 1  # step 2 has not started yet
    rest = list(stream)
    assert {c.agent for c in rest} == {"c_step_0", "c_step_1"}
    assert chain.last_result == "three"


def test_chain_failure_mid_way_is_checkpointed_and_resumes_at_the_failed_step(server, make_client, tmp_path):
    server.add(Reply(text="an outline"), Reply(status=500, error="overloaded"))
    chain = Chain.from_client(make_client(), ["Outline.", "Draft.", "Edit."])
    with pytest.raises(ServerError):
        chain.run("tide pools")
    path = save_checkpoint(chain, tmp_path / "chain.json")
    state = load_checkpoint(path)
    assert state["type"] == "Chain" and state["position"]["step"] == 1
    assert state["position"]["outputs"] == ["an outline"]

    resumed = Chain.from_client(make_client(), ["Outline.", "Draft.", "Edit."])
    resumed.restore(state)
    server.add(Reply(text="a draft"), Reply(text="final"))
    assert resumed.run("tide pools") == "final"
    assert user_texts(server)[2:] == ["an outline", "a draft"]  # step 0 was not run again
    assert [m["role"] for m in sent_messages(server, 2)] == ["system", "user"]  # the failed ask is not doubled
    assert resumed.outputs == ["an outline", "a draft", "final"]


def test_chain_restore_messages_at_step_k(server, make_client):
    chain = Chain.from_client(make_client(), ["Outline.", "Draft.", "Edit."])
    earlier = [{"role": "system", "content": "Draft."}, {"role": "user", "content": "old outline"},
               {"role": "assistant", "content": "old draft"}]
    chain.restore(earlier, step=1)
    server.add(Reply(text="new draft"), Reply(text="edited"))
    assert chain.run("new outline") == "edited"
    assert user_texts(server) == ["new outline", "new draft"]
    assert [m["content"] for m in sent_messages(server, 0)] == ["Draft.", "old outline", "old draft", "new outline"]
    with pytest.raises(ConfigurationError):
        chain.restore(earlier, step=7)


def test_chain_rejects_duplicate_names_and_other_checkpoints(make_client):
    a = Agent(make_client(), name="same")
    with pytest.raises(ConfigurationError, match="same"):
        Chain([a, Agent(make_client(), name="same")])
    with pytest.raises(CheckpointError, match="belongs to a Agent"):
        Chain([a]).restore(a.checkpoint())


# -- Router ------------------------------------------------------------------------------------

@pytest.mark.parametrize("classification, route", [("billing", "billing"), ("I'd say **TECH**.", "tech"),
                                                   ("no idea", "fallback")])
def test_router_dispatches_to_the_named_route_or_the_fallback(server, make_client, classification, route):
    server.add(Reply(text=classification), Reply(text="handled"))
    router = Router.from_client(make_client(), {"billing": "You do billing.", "tech": "You fix things."},
                                fallback_prompt="You answer anything.")
    assert router.run("My invoice is wrong") == "handled"
    assert router.last_route == route
    handler_system = {"billing": "You do billing.", "tech": "You fix things.", "fallback": "You answer anything."}
    assert sent_messages(server, 1) == [{"role": "system", "content": handler_system[route]},
                                        {"role": "user", "content": "My invoice is wrong"}]
    assert "billing, tech" in sent_messages(server, 0)[-1]["content"]


def test_router_without_fallback_raises_a_routing_error(server, make_client):
    server.add(Reply(text="weather"))
    router = Router.from_client(make_client(), {"billing": "b", "tech": "t"})
    with pytest.raises(RoutingError, match="billing, tech"):
        router.run("Will it rain?")


def test_router_resumes_at_dispatch(server, make_client):
    server.add(Reply(text="tech"), Reply(status=500, error="down"))
    router = Router.from_client(make_client(), {"billing": "b", "tech": "t"})
    with pytest.raises(ServerError):
        router.run("Fix my modem")
    state = router.checkpoint()
    assert state["position"] == {"stage": "dispatch", "route": "tech", "completed": False}
    again = Router.from_client(make_client(), {"billing": "b", "tech": "t"})
    again.restore(state)
    server.add(Reply(text="fixed"))
    assert again.run("Fix my modem") == "fixed" and len(server.requests) == 3  # no re-classification


# -- Parallel ----------------------------------------------------------------------------------

def test_parallel_runs_all_workers_and_aggregates(server, make_client):
    with FakeOpenAIServer(default=Reply(text="pro")) as a, FakeOpenAIServer(default=Reply(text="con")) as b:
        server.add(Reply(text="balanced view"))
        workers = [Agent(make_client(a), name="for"), Agent(make_client(b), name="against")]
        panel = Parallel(workers, aggregator=Agent(make_client(), name="judge"), separator=" | ")
        assert panel.run("Four-day weeks?") == "balanced view"
        assert sent_messages(server)[-1]["content"] == "pro | con"
        assert panel.outputs == {"for": "pro", "against": "con"}


def test_parallel_failure_keeps_finished_outputs_and_reruns_only_the_failed(server, make_client, tmp_path):
    with FakeOpenAIServer(default=Reply(text="ok")) as good, \
            FakeOpenAIServer(default=Reply(status=500, error="down")) as bad:
        def build(fake_for_b):
            return Parallel([Agent(make_client(good), name="a"), Agent(make_client(fake_for_b), name="b"),
                             Agent(make_client(good), name="c")], separator="+")

        panel = build(bad)
        with pytest.raises(WorkersFailedError) as info:
            panel.run("task")
        assert set(info.value.errors) == {"b"} and info.value.outputs == {"a": "ok", "c": "ok"}
        assert len(good.requests) == 2  # the others ran to completion
        save_checkpoint(panel, tmp_path / "p.json")

        bad.default = Reply(text="fixed")
        resumed = build(bad)
        resumed.restore(load_checkpoint(tmp_path / "p.json"))
        assert resumed.run("task") == "ok+fixed+ok"
        assert len(good.requests) == 2  # a and c were not asked again


def test_parallel_streams_chunks_from_every_worker(make_client):
    with FakeOpenAIServer(default=Reply(text="x y")) as fake:
        panel = Parallel.from_client(make_client(fake), ["One.", "Two.", "Three."], name="p")
        chunks = list(panel.run("go", stream=True, include=["text"]))
        assert {c.agent for c in chunks} == {"p_worker_0", "p_worker_1", "p_worker_2"}
        assert panel.last_result.count("x y") == 3


# -- EvaluatorOptimizer ------------------------------------------------------------------------

def test_evaluator_optimizer_revises_until_pass(server, make_client):
    server.add(Reply(text="draft 1"), Reply(text="Too long."), Reply(text="draft 2"), Reply(text="PASS"))
    loop = EvaluatorOptimizer.from_client(make_client(), generator_prompt="You write.")
    assert loop.run("a slogan") == "draft 2"
    assert loop.last_outcome == "passed" and loop.critiques == ["Too long.", "PASS"]
    assert "Too long." in user_texts(server)[2]
    assert "draft 2" in user_texts(server)[3]


def test_evaluator_optimizer_stops_at_max_rounds(server, make_client):
    server.default = Reply(text="Not yet; PASSABLE at best.")  # PASS only counts as a word
    server.add(Reply(text="draft"))
    loop = EvaluatorOptimizer.from_client(make_client(), max_rounds=2)
    with pytest.warns(UserWarning, match="no PASS after 2"):
        loop.run("task")
    assert loop.last_outcome == "max_rounds" and len(loop.critiques) == 2


def test_evaluator_optimizer_restore_restores_generator_and_resets_evaluator(server, make_client):
    server.add(Reply(text="draft 1"), Reply(status=500, error="down"))
    loop = EvaluatorOptimizer.from_client(make_client())
    with pytest.raises(ServerError):
        loop.run("task")
    state = loop.checkpoint()
    assert state["position"]["draft"] == "draft 1"
    again = EvaluatorOptimizer.from_client(make_client())
    again.evaluator.model_client.messages.append({"role": "user", "content": "stale"})
    again.restore(state)
    assert again.evaluator.model_client.messages[-1]["role"] == "system"
    assert again.generator.model_client.messages[-1] == {"role": "assistant", "content": "draft 1"}
    server.add(Reply(text="PASS"))
    assert again.run("task") == "draft 1" and len(server.requests) == 3  # no new draft was generated
    again.restore([{"role": "user", "content": "task"}, {"role": "assistant", "content": "old"}])
    assert again.generator.model_client.messages[-1]["content"] == "old"


# -- PlanExecuteEvaluator ----------------------------------------------------------------------

def test_plan_execute_evaluator_replans_with_the_scorer_feedback(server, make_client):
    server.add(Reply(text="plan 1"), Reply(text="result without refs"),
               Reply(text="plan 2"), Reply(text="result with two sources"))
    pee = PlanExecuteEvaluator.from_client(make_client(), scorer=KeywordScorer(["sources"]))
    assert pee.run("Summarize fusion") == "result with two sources"
    assert pee.last_outcome == "passed" and [s["value"] for s in pee.scores] == [0.0, 1.0]
    replan = user_texts(server)[2]
    assert "result without refs" in replan and "Missing: sources." in replan
    assert "plan 2" in user_texts(server)[3]


def test_plan_execute_evaluator_with_an_llm_judge_and_resume(server, make_client):
    with FakeOpenAIServer() as judge_server:
        judge_server.add(Reply(text="SCORE: 4\nFEEDBACK: add numbers"), Reply(text="SCORE: 9/10\nFEEDBACK: none"))
        judge = make_client(judge_server, system="You grade.")
        server.add(Reply(text="plan"), Reply(text="vague"), Reply(status=500, error="down"))
        pee = PlanExecuteEvaluator.from_client(make_client(), judge_client=judge, criteria="Has numbers.")
        with pytest.raises(ServerError):
            pee.run("task")
        assert "Has numbers." in judge_server.requests[0].json["messages"][-1]["content"]
        assert len(judge.messages) == 1  # the judge is stateless (generate), its history stays clean
        state = pee.checkpoint()
        again = PlanExecuteEvaluator.from_client(make_client(), judge_client=judge, criteria="Has numbers.")
        again.restore(state)
        server.add(Reply(text="plan b"), Reply(text="42 units"))
        assert again.run("task") == "42 units" and again.last_outcome == "passed"
        assert "add numbers" in user_texts(server)[3]
