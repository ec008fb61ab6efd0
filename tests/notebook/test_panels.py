"""The panels' faults and their static output, on the fake server (no browser: the browser
tests in tests/browser/test_panels_browser.py look at the same output in JupyterLab)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

import workbench as wb
from workbench.errors import DataError, RunStoreError
from workbench.evals import Benchmark, BenchmarkResults
from workbench.evals.events import RowFinished
from workbench.evals.results import open_run
from workbench.models.retry import RetryPolicy
from workbench.notebook.bench_panel import BenchPanel
from workbench.notebook.bench_render import plot_png, run_html, run_text
from workbench.prompts import ExactMatchScorer
from workbench.testing import FakeOpenAIServer, Reply

DATA = [{"q": str(i), "expected": str(i % 2)} for i in range(60)]


@pytest.fixture
def server():
    with FakeOpenAIServer(default=Reply(text="0")) as fake:
        yield fake


def client_for(server, **kwargs):
    return wb.client(f"openai-compat:fake@{server.base_url}", **kwargs)


def test_every_row_failing_shows_the_errors_not_an_empty_table(tmp_path):
    dead = wb.client("openai-compat:dead@http://127.0.0.1:9/v1", retry=RetryPolicy(max_attempts=1))
    results = Benchmark("Q: {q}", DATA[:6], ExactMatchScorer()).run({"dead": dead}, store=tmp_path / "r.db",
                                                                     panel=False)
    assert len(results.rows) == 6 and all(r["error"] for r in results.rows)
    page = run_html(results)
    assert "Every row failed (6)" in page and "ConnectionFailed" in page
    assert page.count('class="wb-cell wb-error"') == 6
    assert "first error: ConnectionFailed" in run_text(results)
    assert plot_png(results) is not None           # the latency side still draws


def test_a_panel_closed_while_its_run_goes_on_loses_nothing(server, tmp_path):
    panel = BenchPanel("closing")
    seen = []

    def close_half_way(event):
        if isinstance(event, RowFinished):
            seen.append(event.done)
            if event.done == 20:
                panel.close()

    results = Benchmark("Q: {q}", DATA, ExactMatchScorer()).run(
        {"fake": client_for(server)}, store=tmp_path / "r.db", panel=False, on_event=[panel, close_half_way],
        max_concurrency=4)
    assert len(results.rows) == 60 and results.status == "finished" and seen[-1] == 60
    assert not panel.alive
    assert len(BenchmarkResults.load(tmp_path / "r.db", results.run_id).rows) == 60


def test_a_second_run_of_a_run_id_still_going_is_refused(tmp_path):
    async def scenario():
        with FakeOpenAIServer(default=Reply(text="0", delay=0.05)) as slow:
            bench = Benchmark("Q: {q}", DATA, ExactMatchScorer())
            clients = {"slow": client_for(slow)}
            first = asyncio.create_task(bench.arun(clients, store=tmp_path / "r.db", run_id="one", panel=False,
                                                   max_concurrency=2))
            await asyncio.sleep(0.3)
            with pytest.raises(DataError, match="still running in this kernel"):
                await Benchmark("Q: {q}", DATA, ExactMatchScorer()).arun(clients, store=tmp_path / "r.db",
                                                                         resume="one", panel=False)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
        return bench

    bench = asyncio.run(scenario())
    assert BenchmarkResults.load(tmp_path / "r.db", "one").status == "interrupted"
    assert "resume='one'" in bench.last_run["resume_code"]


def test_a_stored_run_with_missing_rows_is_shown_incomplete_with_its_resume_code(server, tmp_path):
    store = tmp_path / "r.db"
    bench = Benchmark("Q: {q}", DATA, ExactMatchScorer(), name="partial")
    results = bench.run({"fake": client_for(server)}, store=store, run_id="partial-1", panel=False)
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM rows WHERE run_id='partial-1' AND CAST(sample_id AS INTEGER) >= 40")
    reopened = open_run(store, "partial")                    # a prefix of the id
    assert len(reopened.rows) == 40 and reopened.run_id == results.run_id
    page = run_html(reopened, resume_code="RESUME-CODE")
    assert "40 of 60 rows stored" in page and "Incomplete" in page and "RESUME-CODE" in page
    from workbench.evals.benchmark import stored_resume_code

    code = stored_resume_code(reopened.info, store, "partial-1")
    assert f"wb.client('openai-compat:fake@{server.base_url}')" in code and "resume='partial-1'" in code
    namespace = {"bench": bench}
    exec(code, namespace)                                   # the shown code finishes the run
    assert len(namespace["results"].rows) == 60 and namespace["results"].sent == 20


def test_open_run_names_what_is_there(server, tmp_path):
    store = tmp_path / "r.db"
    with pytest.raises(RunStoreError, match="No run store"):
        open_run(store)
    bench = Benchmark("Q: {q}", DATA[:4], ExactMatchScorer())
    for rid in ("exp-a1", "exp-a2"):
        bench.run({"fake": client_for(server)}, store=store, run_id=rid, panel=False)
    assert open_run(store).run_id == "exp-a2"               # the newest
    with pytest.raises(DataError, match="matches 2 runs"):
        open_run(store, "exp-a")
    with pytest.raises(RunStoreError, match="No run 'zzz'.*exp-a1, exp-a2"):
        open_run(store, "zzz")


def test_without_a_store_rows_go_to_the_default_store(server, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_RUN_STORE", str(tmp_path / "default" / "runs.db"))
    results = Benchmark("Q: {q}", DATA[:3], ExactMatchScorer()).run({"fake": client_for(server)}, panel=False)
    assert results.store_path == tmp_path / "default" / "runs.db"
    assert open_run().run_id == results.run_id


def test_a_terminal_gets_a_bar_and_a_text_summary(server, tmp_path, capsys):
    Benchmark("Q: {q}", DATA[:10], ExactMatchScorer(), name="term").run(
        {"fake": client_for(server)}, store=tmp_path / "r.db", panel=True)
    out = capsys.readouterr()
    assert "term:" in out.out + out.err and "row/s" in out.out + out.err        # the tqdm bar
    assert "finished · 10 of 10 rows stored" in out.out and "fake: score 0.500" in out.out


def test_secrets_stay_out_of_the_resume_code(server, tmp_path):
    from workbench.evals.benchmark import model_strings

    client = wb.client(f"openai-compat:fake@{server.base_url}", api_key="sk-secret-123")
    assert "sk-secret" not in str(model_strings({"a": client}))
    results = Benchmark("Q: {q}", DATA[:2], ExactMatchScorer()).run({"a": client}, store=tmp_path / "r.db",
                                                                    panel=False)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("r.db*"))
    assert b"sk-secret" not in stored and "sk-secret" not in run_html(results) + run_text(results)


def test_a_stopped_tuning_run_keeps_the_best_prompt_so_far(tmp_path):
    from workbench.evals.events import CandidateScored
    from workbench.prompts import ClassificationPromptTuner, PromptCatalog

    rows = [{"content": c, "label": l} for c, l in [("loved", "positive"), ("hated", "negative")] * 4]
    with FakeOpenAIServer(default=Reply(text="positive")) as model, \
            FakeOpenAIServer(default=Reply(text="```\nSay positive or negative: {content}\n```")) as mutator:
        tuner = ClassificationPromptTuner(client_for(model), labels=("positive", "negative"),
                                          mutator_client=client_for(mutator))
        catalog = PromptCatalog(tmp_path / "p.db")

        def stop_after_the_initial_prompt(event):
            if isinstance(event, CandidateScored):
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt) as info:
            tuner.tune(rows[:6], "Review: {content}", validation_data=rows[6:], catalog=catalog,
                       prompt_name="s", on_event=stop_after_the_initial_prompt)
    shown = "\n".join(info.value._render_traceback_())
    assert "best prompt so far" in shown and "tuner.last_result.prompt" in shown
    result = tuner.last_result
    assert result.stopped == "interrupted" and result.prompt == "Review: {content}"
    assert catalog.retrieve_label("s", client_for(model).model_string, "best").prompt == "Review: {content}"
    with pytest.raises(DataError, match="No candidate 7"):
        result.store_as_best(7)


def test_resume_code_keeps_epochs_and_a_resumed_run_keeps_every_model(server, tmp_path):
    from workbench.evals.benchmark import stored_resume_code

    store = tmp_path / "r.db"
    bench = Benchmark("Q: {q}", DATA[:3], ExactMatchScorer())
    bench.run({"a": client_for(server)}, store=store, run_id="ep", epochs=2, panel=False)
    assert "epochs=2" in bench.last_run["resume_code"]
    bench.run({"b": client_for(server)}, store=store, run_id="ep", resume="ep", panel=False)
    reopened = open_run(store, "ep")
    assert reopened.info["config"]["models"] == ["a", "b"] and reopened.info["config"]["epochs"] == 2
    code = stored_resume_code(reopened.info, store, "ep")
    assert "'a': wb.client(" in code and "'b': wb.client(" in code and "epochs=2" in code
    namespace = {"bench": bench}
    exec(code, namespace)                              # b's second epoch is what was missing
    assert namespace["results"].sent == 3 and len(namespace["results"].rows) == 12


def test_no_model_string_is_written_where_it_would_not_rebuild_the_same_client(server):
    from workbench.evals.benchmark import model_strings

    url = server.base_url
    shown = model_strings({
        "plain": client_for(server),
        "query": wb.client(f"openai-compat:fake@{url}?token=abc"),
        "kwarg": wb.client("openai-compat:fake", base_url=url),
        "userinfo": f"openai-compat:fake@http://user:pw@127.0.0.1:1/v1",
        "string": f"openai-compat:fake@{url}",
    })
    assert shown == {"plain": f"openai-compat:fake@{url}", "query": None, "kwarg": None, "userinfo": None,
                     "string": f"openai-compat:fake@{url}"}


def test_a_store_path_that_cannot_be_created_is_a_run_store_error(server, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(RunStoreError, match="writable folder"):
        Benchmark("Q: {q}", DATA[:2], ExactMatchScorer()).run({"a": client_for(server)},
                                                              store=tmp_path / "file" / "runs.db", panel=False)


def test_tuning_without_a_store_leaves_the_default_store_alone_and_a_failure_ends_the_run(server, monkeypatch,
                                                                                           tmp_path):
    from workbench.evals.events import TuneFinished
    from workbench.prompts import ClassificationPromptTuner

    default = tmp_path / "default.db"
    monkeypatch.setenv("WORKBENCH_RUN_STORE", str(default))
    rows = [{"content": c, "label": l} for c, l in [("loved", "positive"), ("hated", "negative")] * 4]
    server.default = Reply(text="positive")
    tuner = ClassificationPromptTuner(client_for(server), labels=("positive", "negative"), mutator_client=client_for(server))
    tuner.tune(rows[:6], "Review: {content}", validation_data=rows[6:], max_iterations=1, panel=False)
    assert not default.exists()                     # the tuner's evaluations went to a scratch store

    class BrokenCatalog:
        def store_prompt(self, *args, **kwargs):
            raise RuntimeError("catalog broke")

    seen = []
    with pytest.raises(RuntimeError, match="catalog broke"):
        tuner.tune(rows[:6], "Review: {content}", validation_data=rows[6:], max_iterations=1, panel=False,
                   catalog=BrokenCatalog(), on_event=seen.append)
    assert isinstance(seen[-1], TuneFinished) and seen[-1].stopped == "failed"


@pytest.fixture
def shell():
    """A real IPython shell (display() then returns handles, as in a kernel); gone afterwards."""
    from IPython.core.interactiveshell import InteractiveShell

    yield InteractiveShell.instance()
    InteractiveShell.clear_instance()


def test_a_final_view_that_cannot_be_drawn_leaves_a_note_not_a_live_widget(server, tmp_path, monkeypatch, capsys,
                                                                            shell):
    import workbench.notebook.bench_render as render
    from workbench.notebook.bench_panel import PanelRun

    results = Benchmark("Q: {q}", DATA[:2], ExactMatchScorer()).run({"a": client_for(server)},
                                                                    store=tmp_path / "r.db", panel=False)
    monkeypatch.setattr(render, "run_html", lambda *a, **k: 1 / 0)
    monkeypatch.setattr(render, "plot_png", lambda *a, **k: 1 / 0)
    run = PanelRun("bench", widget=True)
    with pytest.warns(RuntimeWarning, match="could not draw its plots"):
        run.end(results, None)
    assert run.view.comm is None                    # the widget is closed
    assert "could not draw its final view (ZeroDivisionError" in capsys.readouterr().out
    assert results.panel_stats == {"messages": run.view.messages_sent, "bytes": run.view.bytes_sent}
