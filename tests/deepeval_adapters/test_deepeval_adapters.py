"""DeepEval adapters offline: a judge on the fake OpenAI server and on workbench-tiny.

Runs in .venv-deepeval (scripts/test.sh): deepeval's pins cannot share the main environment.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from pydantic import BaseModel

import workbench as wb
from workbench.errors import DataError, JudgeParseError
from workbench.evals import Benchmark, DeepEvalModel, DeepEvalScorer
from workbench.models.retry import RetryPolicy
from workbench.testing import FakeOpenAIServer, Reply

from deepeval.metrics import AnswerRelevancyMetric, FaithfulnessMetric, GEval
from deepeval.test_case import SingleTurnParams

FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.05)
# One reply that fits every schema the metrics below ask for (extra keys are ignored).
FITS_ALL = ('{"score": 8, "reason": "Looks right.", "statements": ["Paris is the capital."], '
            '"verdicts": [{"verdict": "yes", "reason": "on topic"}], "truths": ["Paris is in France."], '
            '"claims": ["Paris is the capital."]}')


class Verdict(BaseModel):
    verdict: str
    score: int


def judge_for(server, **kwargs) -> DeepEvalModel:
    return DeepEvalModel(wb.client(f"openai-compat:judge@{server.base_url}", retry=FAST_RETRY), **kwargs)


def geval(judge) -> GEval:
    return GEval(name="Correctness", evaluation_steps=["Is the answer right?"], model=judge,
                 evaluation_params=[SingleTurnParams.INPUT, SingleTurnParams.ACTUAL_OUTPUT])


def test_telemetry_is_opted_out_before_deepeval_is_imported():
    assert os.environ["DEEPEVAL_TELEMETRY_OPT_OUT"] == "1"
    from deepeval.telemetry.client import telemetry_opt_out

    assert telemetry_opt_out()


def test_a_reply_that_misses_the_schema_is_asked_again_with_the_error():
    with FakeOpenAIServer([Reply(text="I think it is fine."), Reply(text='{"verdict": "yes"}'),
                           Reply(text='Here it is: {"verdict": "yes", "score": 3}'), Reply(text="Hi.")]) as server:
        judge = judge_for(server)
        got = judge.generate("Grade this.", schema=Verdict)
        assert got == Verdict(verdict="yes", score=3) and len(server.requests) == 3
        second = server.requests[1].json["messages"][-1]["content"]
        assert "it is not JSON" in second and '"score"' in second           # the problem and the schema
        third = server.requests[2].json["messages"][-1]["content"]
        assert "score: Field required" in third
        assert "response_format" not in server.requests[0].json            # openai-compat: prompt only
        assert judge.generate("Say hi.") == "Hi."                          # no schema: the text as it is


def test_no_fitting_reply_is_a_judge_parse_error_with_the_raw_reply():
    with FakeOpenAIServer(default=Reply(text="no idea")) as server:
        with pytest.raises(JudgeParseError, match=r"no valid Verdict in 2 tries") as caught:
            judge_for(server, retries=1).generate("Grade this.", schema=Verdict)
        assert caught.value.reply == "no idea" and len(server.requests) == 2


def test_the_openai_provider_is_sent_the_schema_as_response_format():
    with FakeOpenAIServer(default=Reply(text='{"verdict": "yes", "score": 1}')) as server:
        judge = DeepEvalModel(wb.client("openai:gpt-4.1", api_key="sk-test-secret", base_url=server.base_url))
        judge.generate("Grade this.", schema=Verdict)
        sent = server.last_request.json["response_format"]
        assert sent["type"] == "json_schema" and sent["json_schema"]["name"] == "Verdict"
        assert "score" in sent["json_schema"]["schema"]["properties"]
        assert "sk-test-secret" not in repr(judge) + judge.get_model_name()


def test_async_generate_uses_its_own_connection_and_closes_it():
    with FakeOpenAIServer(default=Reply(text='{"verdict": "no", "score": 0}')) as server:
        client = wb.client(f"openai-compat:judge@{server.base_url}")
        judge = DeepEvalModel(wb.aio.client(client))                      # an aio client is accepted too
        assert asyncio.run(judge.a_generate("Grade.", schema=Verdict)) == Verdict(verdict="no", score=0)
        assert asyncio.run(judge.a_generate("Again.")) == '{"verdict": "no", "score": 0}'   # a second loop
        assert client._async_sdk is None and client.messages == []        # nothing bound to a dead loop


def test_credentials_in_the_judge_url_never_show():
    judge = DeepEvalModel(wb.client("openai-compat:judge@http://user:hunter2@127.0.0.1:9/v1"))
    assert "hunter2" not in judge.get_model_name() + repr(judge)


def test_metrics_score_benchmark_rows_with_fresh_instances_and_the_context(tmp_path):
    data = [{"q": f"What is the capital of country {i}?", "ctx": f"Fact {i}: Paris is the capital."}
            for i in range(6)]
    with FakeOpenAIServer(default=Reply(text=FITS_ALL)) as judge_server, \
            FakeOpenAIServer(default=Reply(text="Paris")) as model_server:
        judge = judge_for(judge_server)
        template = FaithfulnessMetric(model=judge, threshold=0.5)
        scorer = DeepEvalScorer([geval(judge), template, AnswerRelevancyMetric], judge=judge, context_column="ctx")
        results = Benchmark("{q}", data, scorer, name="faithful").run(
            wb.client(f"openai-compat:m@{model_server.base_url}"), store=tmp_path / "runs.db",
            max_concurrency=3, panel=False)
        asked = " ".join(str(r.json["messages"]) for r in judge_server.requests)
    assert results.status == "finished" and len(results.rows) == 6
    assert all(r["error"] is None and r["passed"] for r in results.rows), [r["error"] for r in results.rows]
    assert results.rows[0]["score"] == pytest.approx((0.8 + 1 + 1) / 3)
    assert "Correctness [GEval] 0.80: Looks right." in results.rows[0]["feedback"]
    assert all(f"Fact {i}: Paris" in asked for i in range(6))                # retrieval_context reached the judge
    assert template.score is None                                           # the template itself never scored
    case = scorer.test_case("Paris", {"ctx": ["a", "b"], "__prompt__": "p"})
    assert case.retrieval_context == ["a", "b"] and case.input == "p" and case.actual_output == "Paris"


def test_a_failing_metric_is_a_row_error_with_the_judge_reply_and_the_run_finishes(tmp_path):
    def by_row(body):     # the judge fails only for question 1
        return Reply(text="not json at all") if "question 1" in str(body["messages"]) else Reply(text=FITS_ALL)

    data = [{"q": f"question {i}"} for i in range(4)]
    with FakeOpenAIServer(responder=by_row) as judge_server, FakeOpenAIServer(default=Reply(text="ok")) as model:
        scorer = DeepEvalScorer(geval(judge_for(judge_server, retries=0)))
        results = Benchmark("{q}", data, scorer).run(wb.client(f"openai-compat:m@{model.base_url}"),
                                                     store=tmp_path / "runs.db", max_concurrency=4, panel=False)
    errors = {r["sample_id"]: r["error"] for r in results.rows}
    assert results.status == "finished" and len(errors) == 4
    assert [k for k, e in errors.items() if e] == ["1"]
    assert "MetricError: Correctness [GEval] failed" in errors["1"] and "judge reply: not json at all" in errors["1"]


def test_bad_input_is_a_data_error_before_any_request(tmp_path):
    with pytest.raises(DataError, match="at least one metric"):
        DeepEvalScorer([])
    with pytest.raises(DataError, match="not a DeepEval metric"):
        DeepEvalScorer([42])
    with FakeOpenAIServer(default=Reply(text=FITS_ALL)) as server:
        with pytest.raises(DataError, match="reads the column.*nope"):
            Benchmark("{q}", [{"q": "x"}], DeepEvalScorer(geval(judge_for(server)), context_column="nope"))
        assert server.requests == []
    saved = os.environ.pop("OPENAI_API_KEY", None)
    try:
        with pytest.raises(DataError, match="Give it a judge"):
            DeepEvalScorer(AnswerRelevancyMetric)      # deepeval's default judge needs an OpenAI key
    finally:
        if saved is not None:
            os.environ["OPENAI_API_KEY"] = saved


@pytest.mark.slow
def test_workbench_tiny_as_a_judge(tiny_model, tmp_path):
    """The in-process path, sync and async: a plain ask returns the tiny model's text; a
    schema it cannot fill is a JudgeParseError with its raw reply; a metric prompt longer
    than its 512 positions is a row error naming the context overflow, and the run finishes."""
    judge = DeepEvalModel(wb.client("hf:workbench-tiny"), retries=1, generate_kwargs={"max_tokens": 8})
    assert isinstance(judge.generate("Say something."), str)
    assert isinstance(asyncio.run(judge.a_generate("Say something.")), str)
    with pytest.raises(JudgeParseError, match=r"no valid Verdict in 2 tries: (it is not JSON|the reply was empty)"):
        asyncio.run(judge.a_generate("Grade this.", schema=Verdict))
    with FakeOpenAIServer(default=Reply(text="Paris")) as model:
        results = Benchmark("{q}", [{"q": "a"}, {"q": "b"}], DeepEvalScorer(geval(judge))).run(
            wb.client(f"openai-compat:m@{model.base_url}"), store=tmp_path / "runs.db", panel=False)
    assert results.status == "finished" and len(results.rows) == 2
    assert all("MetricError: Correctness [GEval] failed: ContextOverflowError" in r["error"] for r in results.rows)
