"""A newcomer's notebook in real JupyterLab 4.6 and Debian's Chromium.

Failed cells fail (Run All stops) with a short message; a finished run is static output
that a notebook reopened after its kernel is gone still shows; the resume code is shown
(the JupyterLab extension puts it into one cell below; ``%aimu resume`` adds no second); cleared weights reload; ``--format code`` inserts
code once and prose never; the live view renders tables, math and code as the saved output
does; the footer moves while a tool runs; the stop button ends a run cleanly.
Screenshots go to artifacts/browser/ (look at them).
"""

from __future__ import annotations

import re

import pytest

from lab_helpers import ARTIFACTS, REPO, open_and_run, saved_and_reopened, wait_done, write_notebook

pytestmark = pytest.mark.browser

SETUP = f"""import sys, time
sys.path.insert(0, {str(REPO)!r})
%load_ext workbench
import workbench as wb
from workbench.testing import FakeOpenAIServer, Reply, ToolCall
server = FakeOpenAIServer(default=Reply(text='Default answer.')).start()
M = 'openai-compat:fake@' + server.base_url"""

CELLS_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  const out = [];
  for (let i = 0; i < nb.model.cells.length; i++) {
    const cell = nb.model.cells.get(i);
    out.push({source: cell.sharedModel.getSource(), count: cell.executionCount ?? null});
  }
  return out;
}"""


def cells(page) -> list[dict]:
    return page.evaluate(CELLS_JS)


def run_cell(page, index: int) -> None:
    page.evaluate(f"""() => {{
      const panel = window.jupyterapp.shell.currentWidget;
      panel.content.activeCellIndex = {index};
      window.jupyterapp.commands.execute('notebook:run-cell');
    }}""")


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """The current notebook's kernel is idle and no cell is queued or running ([*])."""
    page.wait_for_timeout(300)
    page.wait_for_function("""() => {
      const panel = window.jupyterapp.shell.currentWidget;
      const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
      const busy = [...panel.node.querySelectorAll('.jp-InputPrompt')].some((p) => p.textContent.includes('*'));
      return kernel && kernel.status === 'idle' && !busy;
    }""", timeout=timeout_ms)


def output_text(page, index: int) -> str:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea").inner_text()


def stop_when_streaming(page, screenshot: str | None = None) -> None:
    """Click the live view's Stop once some answer has arrived; wait for the run to end."""
    stop = page.locator(".wb-stream .wb-stop")
    stop.wait_for(state="visible", timeout=60_000)
    page.wait_for_function("(document.querySelector('.wb-stream .wb-answer')?.innerText || '').length > 40",
                           timeout=60_000)
    if screenshot:
        page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    stop.click()
    wait_done(page, 1, status="interrupted", timeout_ms=60_000)
    wait_idle(page)


def test_a_failing_magic_stops_run_all_with_a_short_message(lab, page):
    write_notebook(lab.root / "failing.ipynb", [SETUP, "%%aimu nosuchprovider:model\nHi", "print('after the failure')"])
    open_and_run(page, lab, "failing.ipynb")
    page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").first.wait_for(
        timeout=60_000)
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "failing_magic.png"), full_page=True)
    shown = output_text(page, 1)
    assert "Unknown provider 'nosuchprovider'" in shown and "%aimu models" in shown
    assert "Traceback" not in shown and len(shown.strip().splitlines()) <= 4
    assert cells(page)[2]["count"] is None                 # Run All stopped at the failed cell
    assert output_text(page, 2).strip() == ""


def test_a_saved_notebook_reopened_without_its_kernel_shows_every_answer(lab, page, browser):
    write_notebook(lab.root / "reopen.ipynb", [
        SETUP + "\nserver.add(Reply(text='## Result\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n\\nThe answer is $x^2$.', "
                "thinking='Let me think about **this**.'))",
        "%%aimu {M}\nAnswer with a table.",
        "%aimu cache",
    ])
    open_and_run(page, lab, "reopen.ipynb")
    wait_done(page, 1)
    page.locator(".wb-gauge").first.wait_for(timeout=60_000)
    wait_idle(page)
    with saved_and_reopened(page, lab, browser, "reopen.ipynb") as fresh:
        view = fresh.locator(".wb-stream-static").first
        view.wait_for(timeout=60_000)
        fresh.wait_for_timeout(1500)
        fresh.screenshot(path=str(ARTIFACTS / "reopened_notebook.png"), full_page=True)
        assert view.locator(".wb-answer table td", has_text="2").count() == 1
        assert view.locator(".wb-answer math").count() == 1
        thinking = view.locator(".wb-thinking")
        assert thinking.get_attribute("open") is None
        thinking.locator("summary").click()
        assert "this" in thinking.inner_text()
        footer = view.locator(".wb-footer").inner_text()
        assert "fake" in footer and "tokens" in footer
        # no "Error displaying widget: model not found": the stream view is static output,
        # and the extension puts the gauge's saved copy in place of its missing live widget
        answer_cell = fresh.locator(".jp-Notebook .jp-Cell").nth(1).inner_text()
        assert "model not found" not in answer_cell
        gauge_cell = fresh.locator(".jp-Notebook .jp-Cell").nth(2)
        gauge_cell.locator(".wb-static-copy .wb-gauge-static").wait_for(timeout=30_000)
        fresh.screenshot(path=str(ARTIFACTS / "reopened_gauge_copy.png"), full_page=True)
        assert "model not found" not in gauge_cell.inner_text()
        assert "Weight cache" in gauge_cell.inner_text() and "when this cell ran" in gauge_cell.inner_text()


def test_the_stop_button_ends_the_run_and_resume_inserts_the_code_once(lab, page):
    write_notebook(lab.root / "stop.ipynb", [
        SETUP + "\nserver.add(Reply(text='slow words ' * 400, chunk_delay=0.02))",
        "%%aimu {M}\nTalk slowly.",
        "%aimu resume",
    ])
    open_and_run(page, lab, "stop.ipynb")
    stop_when_streaming(page, "live_view_streaming.png")
    page.screenshot(path=str(ARTIFACTS / "stopped_run.png"), full_page=True)
    view = page.locator(".wb-stream-static").first
    assert "slow words" in view.locator(".wb-answer").inner_text()            # the partial answer is kept
    assert "interrupted" in view.locator(".wb-footer").inner_text()
    code = view.locator(".wb-resume-code").inner_text()
    assert re.match(r"%%aimu openai-compat:fake@http://127\.0\.0\.1:\d+/v1 --restore \S+\nContinue", code)
    shown = output_text(page, 1)
    assert "interrupted" in shown and "Traceback" not in shown
    # The JupyterLab extension put the resume code into a cell below the stopped one.
    after = cells(page)
    assert len(after) == 4 and after[2]["source"] == code and after[2]["count"] is None
    assert after[3]["source"] == "%aimu resume" and after[3]["count"] is None  # Run All stopped

    for _ in range(2):                                                        # %aimu resume, twice
        run_cell(page, 3)
        wait_idle(page)
        assert len(cells(page)) == 4 and cells(page)[2]["source"] == code     # still one resume cell
        assert "the cell below the failed cell holds the resume code" in output_text(page, 3)


def test_format_code_inserts_code_once_and_prose_never(lab, page):
    write_notebook(lab.root / "code.ipynb", [
        SETUP + "\nserver.add(Reply(text='Paris is the capital of France.'), "
                "Reply(text='```python\\nprint(6 * 7)\\n```'), Reply(text='```python\\nprint(6 * 7)\\n```'))",
        "%%aimu {M} --format code\nCapital of France?",
        "%%aimu {M} --format code\nPrint six times seven.",
    ])
    open_and_run(page, lab, "code.ipynb")
    wait_done(page, 2)
    wait_idle(page)
    assert "no code block" in output_text(page, 1)
    sources = [c["source"] for c in cells(page)]
    assert sources.count("print(6 * 7)") == 1 and sources[3] == "print(6 * 7)"
    run_cell(page, 2)                                                          # the same cell again
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "format_code.png"), full_page=True)
    assert [c["source"] for c in cells(page)].count("print(6 * 7)") == 1
    assert "already in the cell below" in output_text(page, 2)


LIVE_MARKDOWN = ("## Table\\n\\n| x | y |\\n|---|---|\\n| 1 | 2 |\\n\\nEuler: $e^{i\\\\pi} + 1 = 0$\\n\\n"
                 "```python\\ndef f():\\n    return 42\\n```\\n\\n" + "and more words " * 60)


def test_live_view_renders_tables_math_and_code_and_the_footer_moves_during_a_tool(lab, page):
    write_notebook(lab.root / "live.ipynb", [
        SETUP + "\n@wb.tool\ndef slow_lookup(q: str) -> str:\n    '''Look something up slowly.'''\n"
                "    time.sleep(3)\n    return 'found ' + q\n"
                "server.add(Reply(tool_calls=[ToolCall('slow_lookup', {'q': 'euler'})]), "
                f"Reply(text=\"{LIVE_MARKDOWN}\", chunk_delay=0.03))",
        "%%aimu {M} --tools slow_lookup\nExplain Euler's identity.",
    ])
    open_and_run(page, lab, "live.ipynb")
    page.locator(".wb-stream .wb-tool-running").wait_for(timeout=60_000)
    footer = page.locator(".wb-stream .wb-footer")
    first = footer.inner_text()
    page.wait_for_timeout(1200)
    second = footer.inner_text()
    assert first != second and "streaming" in second                  # the clock moves while the tool runs
    page.locator(".wb-stream .wb-answer table").wait_for(timeout=60_000)  # rendered while streaming
    live = page.locator(".wb-stream .wb-answer")
    live.locator("math").wait_for(timeout=30_000)
    live.locator("pre code").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "live_markdown.png"), full_page=True)
    assert live.locator("td", has_text="2").count() == 1
    assert page.locator(".wb-stream").first.get_attribute("data-status") == "streaming"
    wait_done(page, 1)
    static = page.locator(".wb-stream-static .wb-answer")
    assert static.locator("table").count() == 1 and static.locator("math").count() == 1
    assert "return 42" in static.locator("pre code").inner_text()
    page.screenshot(path=str(ARTIFACTS / "final_markdown.png"), full_page=True)


@pytest.mark.usefixtures("tiny_model")
def test_a_magic_after_a_weight_clear_reloads_the_weights(lab, page):
    write_notebook(lab.root / "reload.ipynb", [
        SETUP, "%%aimu hf:workbench-tiny\nWhat is 17+25?", "%aimu clear hf", "%%aimu hf:workbench-tiny\nWhat is 17+25?",
    ])
    open_and_run(page, lab, "reload.ipynb")
    wait_done(page, 2)
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "reload_after_clear.png"), full_page=True)
    assert "freed" in output_text(page, 2)
    assert "were cleared; reloaded them" in output_text(page, 3)
    assert "42" in page.locator(".wb-stream-static .wb-answer").nth(1).inner_text()


def test_a_stopped_agent_run_in_wb_show_fails_the_cell_and_shows_its_resume_code(lab, page):
    write_notebook(lab.root / "agent.ipynb", [
        SETUP + "\nagent = wb.agent(M, system='You write long reports.')\n"
                "server.add(Reply(text='report words ' * 400, chunk_delay=0.02))",
        "wb.show(agent.run('Write the report.', stream=True))",
        "print('not reached')",
    ])
    open_and_run(page, lab, "agent.ipynb")
    stop_when_streaming(page)
    page.screenshot(path=str(ARTIFACTS / "stopped_agent_run.png"), full_page=True)
    view = page.locator(".wb-stream-static").first
    assert "report words" in view.locator(".wb-answer").inner_text()
    assert "fake" in view.locator(".wb-footer").inner_text()                # the footer names the model
    code = view.locator(".wb-resume-code").inner_text()
    assert code.startswith("import workbench as wb\nagent.restore(wb.load_checkpoint(")
    assert code.endswith("wb.show(agent.run('Continue where you left off.', stream=True))")
    shown = output_text(page, 1)
    assert "KeyboardInterrupt: interrupted" in shown and "Traceback" not in shown and "httpx" not in shown
    after = cells(page)                       # the extension's resume cell, then the cell Run All skipped
    assert after[2]["source"] == code and after[2]["count"] is None
    assert after[3]["source"] == "print('not reached')" and after[3]["count"] is None
