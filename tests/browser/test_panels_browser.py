"""The benchmark and tuning panels in real JupyterLab 4.6 and Debian's Chromium.

A 2,000-row benchmark against the fake server (no latency) counts every row, ends as
static output (summary, matrix, plots) with no "IOPub message rate exceeded"; Stop stops a
run whose shown resume code finishes it; a tuning run shows its candidates and best
prompt; a saved notebook reopened without its kernel still shows both; ``%aimu runs`` and
``%aimu run ID`` reopen a stored run from SQLite. Screenshots go to artifacts/browser/.
"""

from __future__ import annotations

import pytest

from lab_helpers import ARTIFACTS, REPO, open_and_run, saved_and_reopened, write_notebook
from test_notebook_experience import output_text, run_cell, wait_idle

pytestmark = pytest.mark.browser

SETUP = f"""import sys
sys.path.insert(0, {str(REPO)!r})
%load_ext workbench
import workbench as wb
from workbench.testing import FakeOpenAIServer, Reply
from workbench.evals import Benchmark
from workbench.prompts import ExactMatchScorer, ContainsScorer
server = FakeOpenAIServer(default=Reply(text='1')).start()
zeros = FakeOpenAIServer(default=Reply(text='0')).start()
M = 'openai-compat:fake@' + server.base_url
Z = 'openai-compat:zeros@' + zeros.base_url"""

BIG = """data = [{'q': f'What is {i} mod 2?', 'expected': str(i % 2)} for i in range(1000)]
bench = Benchmark('Q: {q}', data, ExactMatchScorer(), name='mod2')
results = bench.run({'fake': wb.client(M), 'other': wb.client(Z)}, store='runs.db', run_id='big-1',
                    max_concurrency=32)"""

STATS = "print(len(results.rows), results.status, results.panel_stats)"


def test_a_2000_row_benchmark_counts_every_row_and_ends_as_matrix_and_plots(lab, page, browser):
    write_notebook(lab.root / "bench.ipynb", [SETUP, BIG, STATS, "%aimu runs runs.db", "%aimu run big runs.db"])
    open_and_run(page, lab, "bench.ipynb")
    live = page.locator(".wb-bench")
    live.wait_for(timeout=60_000)
    page.wait_for_function("Number(document.querySelector('.wb-bench')?.dataset.rows || 0) > 100", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "bench_panel_live.png"), full_page=True)
    assert live.locator(".wb-group").count() == 2
    assert live.locator(".wb-row").count() > 0
    static = page.locator(".wb-bench-static[data-status='finished']").first
    static.wait_for(timeout=240_000)
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "bench_panel_final.png"), full_page=True)
    summary = static.locator(".wb-summary").inner_text()
    assert "fake" in summary and "other" in summary and "1000" in summary
    assert "2000 of 2000 rows stored" in static.locator(".wb-run-status").inner_text()
    assert static.locator(".wb-matrix tr").count() == 101          # header + 100 samples shown
    assert static.locator(".wb-cell.wb-pass").count() > 0 and static.locator(".wb-cell.wb-fail").count() > 0
    cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    assert cell.locator(".jp-OutputArea-output img").count() == 1  # the plots, their own PNG output
    printed = output_text(page, 2)
    assert printed.startswith("2000 finished")
    messages = int(printed.split("'messages': ")[1].split(",")[0])
    sent = int(printed.split("'bytes': ")[1].split("}")[0])
    assert sent <= 200 * 2000 + 20_000, sent
    print(f"2000 rows: {messages} panel messages, {sent} bytes ({sent / 2000:.0f} bytes/row)")
    log = (lab.root.parent / "jupyterlab.log").read_text()
    assert "IOPub message rate exceeded" not in log and "IOPub data rate exceeded" not in log
    assert "model not found" not in cell.inner_text()
    # clicking a matrix cell opens the row: its prompt and output
    first = static.locator(".wb-cell.wb-fail details").first
    first.locator("summary").click()
    assert "prompt" in first.inner_text() and "Q: What is" in first.inner_text()
    runs = output_text(page, 3)
    assert "big-1" in runs and "finished" in runs
    reopened = page.locator(".jp-Notebook .jp-Cell").nth(4).locator(".wb-bench-static")
    assert "2000 of 2000 rows stored" in reopened.inner_text()

    with saved_and_reopened(page, lab, browser, "bench.ipynb") as fresh:
        again = fresh.locator(".wb-bench-static").first
        again.wait_for(timeout=60_000)
        fresh.wait_for_timeout(1000)
        fresh.screenshot(path=str(ARTIFACTS / "bench_panel_reopened.png"), full_page=True)
        assert again.locator(".wb-matrix tr").count() == 101
        cell = fresh.locator(".jp-Notebook .jp-Cell").nth(1)
        assert cell.locator(".jp-OutputArea-output img").count() == 1
        assert "model not found" not in cell.inner_text()


SLOW = """slow = FakeOpenAIServer(default=Reply(text='1', delay=0.05)).start()
data = [{'q': str(i), 'expected': '1'} for i in range(400)]
bench = Benchmark('Q: {q}', data, ExactMatchScorer(), name='slow')
results = bench.run({'slow': wb.client('openai-compat:slow@' + slow.base_url)}, store='runs.db', run_id='stop-1',
                    max_concurrency=4)"""


def test_stop_stops_the_run_and_its_resume_code_finishes_it(lab, page):
    write_notebook(lab.root / "stop_bench.ipynb", [
        SETUP, SLOW, "exec(bench.last_run['resume_code'])\nprint(len(results.rows), results.status, results.sent)"])
    open_and_run(page, lab, "stop_bench.ipynb")
    try:
        page.wait_for_function("Number(document.querySelector('.wb-bench')?.dataset.rows || 0) > 40", timeout=60_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "bench_panel_before_stop.png"), full_page=True)
    page.locator(".wb-bench .wb-stop").click()
    static = page.locator(".wb-bench-static[data-status='interrupted']")
    static.wait_for(timeout=60_000)
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "bench_panel_stopped.png"), full_page=True)
    shown = output_text(page, 1)
    assert "Incomplete" in shown and "resume='stop-1'" in shown
    assert "Interrupted:" in shown and "Resume with this code" in shown and "Traceback" not in shown
    run_cell(page, 2)
    try:
        page.wait_for_function("document.querySelectorAll('.wb-bench-static[data-status=\"finished\"]').length >= 1",
                               timeout=120_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "bench_panel_resumed.png"), full_page=True)
    wait_idle(page)
    stored, status, sent = output_text(page, 2).strip().splitlines()[-1].split()
    assert stored == "400" and status == "finished" and 0 < int(sent) < 400


TUNE = """from workbench.prompts import ClassificationPromptTuner, PromptCatalog

def sentiment_model(body):
    prompt = body["messages"][-1]["content"]
    if "positive or negative" not in prompt:
        return Reply(text="It is a review.", delay=0.02)
    return Reply(text="positive" if "loved" in prompt.lower() or "great" in prompt.lower() else "negative", delay=0.02)

model_server = FakeOpenAIServer(responder=sentiment_model).start()
mutator_server = FakeOpenAIServer(default=Reply(text="```\\nIs it positive or negative? Review: {content}\\n```",
                                                delay=0.3)).start()
reviews = [("I loved it", "positive"), ("Great film", "positive"), ("I hated it", "negative"),
           ("Dull and long", "negative"), ("Loved the cast", "positive"), ("Awful plot", "negative")] * 5
rows = [{"content": c, "label": l} for c, l in reviews]
catalog = PromptCatalog("prompts.db")
tuner = ClassificationPromptTuner(wb.client("openai-compat:classifier@" + model_server.base_url),
                                  labels=("positive", "negative"),
                                  mutator_client=wb.client("openai-compat:mutator@" + mutator_server.base_url))
result = tuner.tune(rows[:20], "Review: {content}", validation_data=rows[20:], catalog=catalog,
                    prompt_name="sentiment", seed=0)"""


def test_a_tuning_run_shows_its_candidates_and_the_best_prompt(lab, page):
    write_notebook(lab.root / "tune.ipynb", [SETUP, TUNE, "print(result.best.index, result.stopped)"])
    open_and_run(page, lab, "tune.ipynb")
    live = page.locator(".wb-tune")
    live.wait_for(timeout=60_000)
    page.wait_for_function("Number(document.querySelector('.wb-tune')?.dataset.candidates || 0) >= 1",
                           timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "tune_panel_live.png"), full_page=True)
    static = page.locator(".wb-tune-static").first
    static.wait_for(timeout=120_000)
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "tune_panel_final.png"), full_page=True)
    assert static.locator(".wb-candidates tr").count() >= 3          # header, the initial prompt, a candidate
    best = static.locator(".wb-best-prompt")
    assert "positive or negative" in best.inner_text()
    assert best.locator("ins").count() >= 1                           # the words the candidate added
    assert "validation perfect" in static.inner_text()
    assert page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output img").count() == 1
    assert output_text(page, 2).strip().endswith("validation perfect")
