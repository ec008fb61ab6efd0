"""Benchmark on the fake OpenAI server: bad input, faults, the run store, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import workbench as wb
from workbench.errors import DataError, RunStoreError
from workbench.evals import Benchmark, BenchmarkResults, RunStore, list_runs
from workbench.models.retry import RetryPolicy
from workbench.prompts import ExactMatchScorer, LLMJudgeScorer
from workbench.testing import FakeOpenAIServer, Reply

REPO = Path(__file__).resolve().parents[2]
DATA = [{"q": f"What is {i} + {i}?", "expected": str(2 * i)} for i in range(12)]
FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.05)


def client_for(server, **kwargs):
    return wb.client(f"openai-compat:fake@{server.base_url}", retry=FAST_RETRY, **kwargs)


@pytest.fixture
def server():
    with FakeOpenAIServer(default=Reply(text="0")) as fake:
        yield fake


def test_bad_input_fails_before_any_request(server, tmp_path):
    scorer = ExactMatchScorer()
    with pytest.raises(DataError, match=r"\{question\}.*Columns: q, expected"):
        Benchmark("Q: {question}", DATA, scorer)
    with pytest.raises(DataError, match="empty"):
        Benchmark("Q: {q}", [], scorer)
    with pytest.raises(DataError, match="Duplicate sample ids in 'q'"):
        Benchmark("Q: {q}", DATA + DATA[:1], scorer, id_column="q")
    with pytest.raises(DataError, match="reads the column.*answer"):
        Benchmark("Q: {q}", DATA, ExactMatchScorer(target="answer"))
    bench = Benchmark("Q: {q}", DATA, scorer)
    with pytest.raises(DataError, match="max_concurrency"):
        bench.run(client_for(server), max_concurrency=0)
    with pytest.raises(RunStoreError, match="No run 'nope'"):
        bench.run(client_for(server), store=tmp_path / "runs.db", resume="nope")
    assert server.requests == []


def test_rows_metrics_compare_and_the_store(server, tmp_path):
    good = FakeOpenAIServer(default=Reply(text="0")).start()
    try:
        # the "good" model answers every question right (by a reply per request, in order)
        bench = Benchmark("Q: {q}\nReply with the number only. Literal braces stay: {\"n\": 1}", DATA,
                          ExactMatchScorer(), name="sums")
        for row in DATA:
            good.add(Reply(text=row["expected"]))
        results = bench.run({"zero": client_for(server), "good": client_for(good)}, store=tmp_path / "runs.db",
                            max_concurrency=1, run_id="exp-1")
    finally:
        good.stop()
    assert results.run_id == "exp-1" and results.status == "finished" and len(results.rows) == 24
    assert '{"n": 1}' in server.requests[0].json["messages"][-1]["content"]
    m = results.metrics
    assert m["good"]["mean_score"] == 1.0 and m["good"]["pass_rate"] == 1.0
    assert m["zero"]["mean_score"] == pytest.approx(1 / 12) and m["zero"]["errors"] == 0   # "0" is right for 0+0
    assert m["zero"]["ci_low"] < m["zero"]["mean_score"] < m["zero"]["ci_high"]
    assert m["good"]["output_tokens"] > 0 and m["good"]["latency_p95_s"] >= m["good"]["latency_p50_s"] > 0
    diff = results.compare("zero", "good")
    assert diff["n"] == 12 and diff["mean_diff"] == pytest.approx(11 / 12) and diff["b_better"]
    loaded = BenchmarkResults.load(tmp_path / "runs.db", "exp-1")           # after a kernel restart
    assert loaded.rows == results.rows and loaded.info["config"]["models"] == ["zero", "good"]
    runs = list_runs(tmp_path / "runs.db")
    assert runs[0]["run_id"] == "exp-1" and runs[0]["rows"] == 24 and runs[0]["status"] == "finished"
    out = json.loads(results.to_json(tmp_path / "r.json").read_text())
    assert len(out["rows"]) == 24
    import csv

    with results.to_csv(tmp_path / "r.csv").open(newline="") as f:
        written = list(csv.DictReader(f))
    assert len(written) == 24 and written[0]["prompt"].startswith("Q: ")


def test_a_flaky_provider_and_a_broken_judge_give_error_rows_and_the_run_goes_on(server, tmp_path):
    # every third request: 429 with Retry-After, then 500 (retried), then a good answer;
    # one request fails for good (400)
    for i in range(12):
        if i == 5:
            server.add(Reply(status=400, error="bad request for this row"))
        elif i % 3 == 2:
            server.add(Reply(status=429, retry_after=0.01), Reply(status=500), Reply(text="0"))
        else:
            server.add(Reply(text="0"))
    results = Benchmark("Q: {q}", DATA, ExactMatchScorer()).run(client_for(server), store=tmp_path / "runs.db",
                                                               max_concurrency=1)
    errors = [r for r in results.rows if r["error"]]
    assert len(results.rows) == 12 and len(errors) == 1 and "bad request for this row" in errors[0]["error"]
    assert results.metrics[next(iter(results.metrics))]["scored"] == 11

    judge = FakeOpenAIServer(default=Reply(text="It looks fine to me.")).start()     # no SCORE line
    try:
        judged = Benchmark("Q: {q}", DATA[:3], LLMJudgeScorer(client_for(judge))).run(client_for(server))
    finally:
        judge.stop()
    assert all(r["error"].startswith("JudgeParseError") and "It looks fine to me." in r["error"]
               for r in judged.rows)
    assert all(r["output"] is not None for r in judged.rows)      # the model's answer is kept


def test_a_dataframe_in_and_out(server):
    import pandas as pd        # the evals extra is in the locked dev set
    frame = pd.DataFrame(DATA[:4])
    results = Benchmark("Q: {q}", frame, ExactMatchScorer(), id_column="q").run(client_for(server))
    out = results.to_pandas()
    assert list(out["sample_id"]) == sorted(frame["q"]) and set(out["model"]) == {"openai-compat:fake"}


def test_two_processes_write_one_store_without_losing_or_duplicating(server, tmp_path):
    store = tmp_path / "shared.db"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        import workbench as wb
        from workbench.evals import Benchmark
        from workbench.prompts import ExactMatchScorer
        data = [{{"q": str(i), "expected": "0"}} for i in range(40)]
        client = wb.client("openai-compat:fake@{server.base_url}")
        Benchmark("{{q}}", data, ExactMatchScorer()).run(client, store={str(store)!r}, run_id=sys.argv[1],
                                                         max_concurrency=8)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, f"run-{k}"]) for k in range(2)]
    for p in procs:
        assert p.wait(120) == 0
    runs = {r["run_id"]: r for r in list_runs(store)}
    assert runs["run-0"]["rows"] == runs["run-1"]["rows"] == 40 and runs["run-0"]["errors"] == 0


@pytest.mark.slow
def test_resume_after_sigkill_sends_only_the_missing_rows(tmp_path):
    """A benchmark in its own process, killed with SIGKILL about half way, then resumed here."""
    data = [{"q": str(i), "expected": "0"} for i in range(60)]
    with FakeOpenAIServer(default=Reply(text="0", delay=0.05)) as slow:
        store = tmp_path / "runs.db"
        script = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {str(REPO)!r})
            import workbench as wb
            from workbench.evals import Benchmark
            from workbench.prompts import ExactMatchScorer
            data = [{{"q": str(i), "expected": "0"}} for i in range(60)]
            client = wb.client("openai-compat:fake@{slow.base_url}")
            Benchmark("{{q}}", data, ExactMatchScorer()).run(client, store={str(store)!r}, run_id="long",
                                                             max_concurrency=2)
        """)
        proc = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 120
        stored = 0
        while time.monotonic() < deadline and stored < 25:
            time.sleep(0.2)
            if store.exists():
                try:
                    stored = RunStore(store).rows("long").__len__()
                except Exception:
                    stored = 0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        before = len(RunStore(store).rows("long"))
        assert 0 < before < 60
        sent_before = len(slow.requests)
        results = Benchmark("{q}", data, ExactMatchScorer()).run(
            wb.client(f"openai-compat:fake@{slow.base_url}"), store=store, resume="long", max_concurrency=4)
        resent = len(slow.requests) - sent_before
    assert resent == 60 - before == results.sent                # only what was not stored
    assert sorted(int(r["sample_id"]) for r in results.rows) == list(range(60))   # none lost or doubled
    assert results.status == "finished" and all(r["error"] is None for r in results.rows)


def test_events_arrive_in_order_and_a_cached_rerun_sends_nothing(server, tmp_path):
    events = []
    bench = Benchmark("Q: {q}", DATA[:5], ExactMatchScorer(), name="cached")
    client = client_for(server, system="You are terse.")
    first = bench.run(client, store=tmp_path / "runs.db", cache=True, on_event=events.append)
    assert server.requests[0].json["messages"][0] == {"role": "system", "content": "You are terse."}
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["RunStarted"] + ["RowFinished"] * 5 + ["RunFinished"]
    assert events[0].total == 5 and [e.done for e in events[1:6]] == [1, 2, 3, 4, 5]
    assert events[-1].status == "finished" and events[-1].metrics
    sent = len(server.requests)
    again = bench.run(client, store=tmp_path / "runs.db", cache=True)
    assert len(server.requests) == sent                               # every row from the cache
    assert all(r["cache_hit"] for r in again.rows) and not any(r["cache_hit"] for r in first.rows)
    assert [r["output"] for r in again.rows] == [r["output"] for r in first.rows]
    assert (tmp_path / "runs.db.cache.db").exists()


def test_errors_are_not_cached(server, tmp_path):
    server.add(Reply(status=400, error="no"))
    bench = Benchmark("Q: {q}", DATA[:1], ExactMatchScorer())
    assert bench.run(client_for(server), cache=tmp_path / "c.db").rows[0]["error"]
    assert bench.run(client_for(server), cache=tmp_path / "c.db").rows[0]["error"] is None


def test_a_listener_that_fails_does_not_stop_the_run(server):
    def broken(event):
        raise ValueError("bad listener")

    with pytest.warns(RuntimeWarning, match="bad listener"):
        results = Benchmark("Q: {q}", DATA[:3], ExactMatchScorer()).run(client_for(server), on_event=broken)
    assert results.status == "finished" and len(results.rows) == 3


@pytest.mark.usefixtures("tiny_model")
def test_workbench_tiny_rows_batch_through_one_scheduler():
    from workbench.builtin.tiny_corpus import EXPECTED

    scripts = [EXPECTED[n] for n in ("math", "capital", "prime", "greeting")]
    data = [{"q": s.prompt, "expected": s.answer} for s in scripts] * 2
    client = wb.client("hf:workbench-tiny")
    results = Benchmark("{q}", data, ExactMatchScorer()).run({"tiny": client}, max_concurrency=4)
    assert results.metrics["tiny"]["mean_score"] == 1.0 and results.metrics["tiny"]["errors"] == 0
    assert client.scheduler is None                     # the user's client is untouched
    assert all(r["thinking"] for r in results.rows)    # each row keeps its own thinking


def test_rate_limits_past_the_clients_retries_lower_the_concurrency_and_rows_still_finish(server):
    for _ in range(4):
        server.add(Reply(status=429, retry_after=0.05, error="slow down"))
    client = wb.client(f"openai-compat:fake@{server.base_url}", retry=RetryPolicy.none())
    results = Benchmark("Q: {q}", DATA, ExactMatchScorer()).run(client, max_concurrency=8)
    assert len(results.rows) == 12 and all(r["error"] is None for r in results.rows)
    stats = results.limits["openai-compat:fake"]
    assert stats["backoffs"] >= 1 and stats["limit"] < 8


def test_a_model_that_times_out_is_an_error_row(tmp_path):
    with FakeOpenAIServer(default=Reply(text="0")) as slow:
        slow.add(Reply(text="late", delay=3.0))
        client = wb.client(f"openai-compat:fake@{slow.base_url}", retry=RetryPolicy.none(), timeout=0.5)
        results = Benchmark("Q: {q}", DATA[:4], ExactMatchScorer()).run(client, max_concurrency=1)
    errors = [r for r in results.rows if r["error"]]
    assert len(errors) == 1 and "imeout" in errors[0]["error"] and len(results.rows) == 4


def test_ctrl_c_stops_the_run_and_keeps_every_finished_row(tmp_path):
    import _thread

    with FakeOpenAIServer(default=Reply(text="0", delay=0.1)) as slow:
        # the 8th answer interrupts: a known point, not a timer
        slow.add(*[Reply(text="0", delay=0.1)] * 7, Reply(text="0", delay=0.1, after=(0, _thread.interrupt_main)))
        bench = Benchmark("Q: {q}", [{"q": str(i), "expected": "0"} for i in range(100)], ExactMatchScorer())
        with pytest.raises(KeyboardInterrupt):
            bench.run(wb.client(f"openai-compat:fake@{slow.base_url}"), store=tmp_path / "runs.db",
                      run_id="stopped", max_concurrency=2)
    stored = BenchmarkResults.load(tmp_path / "runs.db", "stopped")
    assert stored.status == "interrupted" and 0 < len(stored.rows) < 100
    assert all(r["error"] is None for r in stored.rows)


def test_a_run_id_in_use_needs_resume(server, tmp_path):
    bench = Benchmark("Q: {q}", DATA[:2], ExactMatchScorer())
    bench.run(client_for(server), store=tmp_path / "runs.db", run_id="exp")
    with pytest.raises(DataError, match="resume='exp'"):
        bench.run(client_for(server), store=tmp_path / "runs.db", run_id="exp")


def test_inside_a_running_event_loop_the_run_gets_its_own_and_ctrl_c_cancels_it(tmp_path):
    import _thread
    import asyncio

    with FakeOpenAIServer(default=Reply(text="0", delay=0.1)) as slow:
        bench = Benchmark("Q: {q}", [{"q": str(i), "expected": "0"} for i in range(100)], ExactMatchScorer())
        client = wb.client(f"openai-compat:fake@{slow.base_url}")

        async def cell():            # what a notebook cell is: code under a running loop
            return bench.run(client, store=tmp_path / "runs.db", run_id="in-loop", max_concurrency=2)

        # like ipykernel: a loop is running and SIGINT raises KeyboardInterrupt in the cell's
        # code (asyncio.run would instead turn the first SIGINT into a task cancel)
        loop = asyncio.new_event_loop()
        slow.add(*[Reply(text="0", delay=0.1)] * 7, Reply(text="0", delay=0.1, after=(0, _thread.interrupt_main)))
        try:
            with pytest.raises(KeyboardInterrupt):
                loop.run_until_complete(cell())
        finally:
            loop.close()
        sent = len(slow.requests)
        time.sleep(0.5)
        assert len(slow.requests) <= sent + 2          # the run stopped, not carried on in the background
    stored = BenchmarkResults.load(tmp_path / "runs.db", "in-loop")
    assert stored.status == "interrupted" and 0 < len(stored.rows) < 100


def test_more_bad_input_is_a_typed_error(server, tmp_path):
    from workbench import aio

    with pytest.raises(DataError, match="not mappings"):
        Benchmark("{q}", ["a", "b"], ExactMatchScorer())
    with pytest.raises(DataError, match="Row 1 has no expected"):
        Benchmark("{q}", [{"q": "a", "expected": "b"}, {"q": "c"}], ExactMatchScorer())
    with pytest.raises(DataError, match="same name"):
        Benchmark("{q}", DATA, ExactMatchScorer()).run([client_for(server), client_for(server)])
    with pytest.raises(DataError, match="aio client"):
        Benchmark("{q}", DATA, LLMJudgeScorer(aio.client(f"openai-compat:j@{server.base_url}")))
    with pytest.raises(RunStoreError, match="No run store at"):
        BenchmarkResults.load(tmp_path / "typo.db", "x")
    assert not (tmp_path / "typo.db").exists()


def test_a_row_the_store_cannot_take_does_not_take_its_neighbours_with_it(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    store.start_run("r", "r", {}, {1: "{q}"})
    good = {"run_id": "r", "model": "m", "epoch": 0, "prompt_version": 1, "score": 1.0}
    for i in range(5):
        store.write_row({**good, "sample_id": str(i)})
    store.write_row({**good, "sample_id": "bad", "output": b"\xff" * 3, "feedback": {"a": 1}})  # coerced
    store.write_row({**good, "sample_id": None})                  # no key at all: cannot be stored
    with pytest.raises(RunStoreError, match="NOT NULL"):          # said, not swallowed
        store.flush()
    rows = dict(store._conn.execute("SELECT sample_id, feedback FROM rows").fetchall())
    assert set(rows) == {"0", "1", "2", "3", "4", "bad"} and rows["bad"] == "{'a': 1}"   # the burst survived
    store._writer.close(5)
    with pytest.raises(RunStoreError):         # after the writer stopped: says so at once, no hang
        store.flush()


def test_resume_refuses_a_different_experiment(server, tmp_path):
    Benchmark("Q: {q}", DATA[:3], ExactMatchScorer()).run(client_for(server), store=tmp_path / "r.db", run_id="e")
    with pytest.raises(DataError, match="other text for prompt version"):
        Benchmark("Question: {q}", DATA[:3], ExactMatchScorer()).run(client_for(server), store=tmp_path / "r.db",
                                                                     resume="e")
    with pytest.raises(DataError, match="stored over 3 rows"):
        Benchmark("Q: {q}", DATA[:4], ExactMatchScorer()).run(client_for(server), store=tmp_path / "r.db",
                                                              resume="e")
    from workbench.prompts import PromptTemplate
    assert PromptTemplate("{content} {other}", variables="content").variables == ("content",)


def test_cloud_rows_are_awaited_on_one_connection_pool_not_a_thread_each(tmp_path):
    """A cloud model's calls go through its SDK's async client in the run's loop (no worker
    thread per call, one pool shared by the forks); a string-comparing scorer runs in the loop."""
    import threading

    seen_threads: list[int] = []

    def during(event):
        if type(event).__name__ == "RowFinished":
            seen_threads.append(sum(t.name.startswith("bench") for t in threading.enumerate()))

    with FakeOpenAIServer(default=Reply(text="0", delay=0.05)) as fake:
        client = client_for(fake)
        results = Benchmark("Q: {q}", DATA, ExactMatchScorer(), name="pool").run(
            client, store=tmp_path / "runs.db", max_concurrency=6, on_event=during)
    assert len(results.rows) == 12 and all(r["error"] is None for r in results.rows)
    assert all(r["output_tokens"] for r in results.rows)          # each fork's usage is its own row's
    assert seen_threads and max(seen_threads) == 0
    # the user's client never got an async SDK bound to the run's (now closed) event loop
    assert client._async_sdk is None and client.messages == []
