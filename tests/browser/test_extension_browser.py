"""The JupyterLab extension (extensions/aimu-workbench) in real JupyterLab 4.6 and Chromium.

It is installed and its plugins activate; ``%%aimu`` cells get their own highlighting from
the first render (and no other cell does); the status bar shows the kernel's weight cache,
follows loads and clears, and shows nothing for a kernel without workbench; a run whose
stream the fake server cuts gets exactly one resume cell below it, and that cell resumes
the conversation; a Regenerate button on a `%%aimu` answer answers again in place.
Screenshots go to artifacts/browser/ (look at them).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lab_helpers import ARTIFACTS, REPO, open_and_run, write_notebook
from test_notebook_experience import cells, output_text, run_cell, wait_idle

pytestmark = pytest.mark.browser

PATH = f"import sys\nsys.path.insert(0, {str(REPO)!r})"
GAUGE = ".jp-aimu-gauge"


def open_notebook(page, lab, name: str) -> list[str]:
    """Open ``name`` in a fresh workspace without running it; the console's messages."""
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset")
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook .cm-editor')",
                           timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    return messages


def gauge(page) -> dict:
    return page.evaluate(f"""() => {{
      const node = document.querySelector('{GAUGE}');
      if (!node) return {{present: false}};
      const shown = node.offsetParent !== null && node.closest('.jp-StatusBar-Item, .jp-StatusBar-GroupItem') !== null;
      return {{present: true, shown, active: node.dataset.active, text: node.textContent,
               bytes: node.dataset.bytes ? Number(node.dataset.bytes) : null}};
    }}""")


def wait_gauge(page, condition: str, timeout_ms: int = 60_000) -> dict:
    page.wait_for_function(f"""() => {{
      const node = document.querySelector('{GAUGE}');
      const bytes = node && node.dataset.bytes ? Number(node.dataset.bytes) : null;
      const active = !!node && node.dataset.active === 'true';
      return {condition};
    }}""", timeout=timeout_ms)
    return gauge(page)


def test_the_extension_is_listed_and_its_plugins_activate(lab, page):
    listed = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True,
                            text=True, timeout=120)
    assert "aimu-workbench v0.1.0" in listed.stdout + listed.stderr
    line = next(ln for ln in (listed.stdout + listed.stderr).splitlines() if "aimu-workbench" in ln)
    assert "enabled" in line and "OK" in line
    write_notebook(lab.root / "plugins.ipynb", ["print('hi')"])
    messages = open_notebook(page, lab, "plugins.ipynb")
    plugins = page.evaluate("""() => ['aimu-workbench:highlighting', 'aimu-workbench:kernel-link'].map(
        (id) => [id, window.jupyterapp.hasPlugin(id), window.jupyterapp.isPluginActivated(id)])""")
    assert plugins == [["aimu-workbench:highlighting", True, True], ["aimu-workbench:kernel-link", True, True]]
    bad = [m for m in messages if "failed to activate" in m.lower() or ("aimu" in m.lower() and m.startswith("error"))]
    assert bad == []


HIGHLIGHT_CELLS = [
    "%%aimu hf:workbench-tiny --vars --max-tokens 40\nDon't stop: it's {topic}, isn't it?\nSecond line with {{braces}}.",
    "def plain():\n    return 'a string'",
]

CLASSES_JS = """(index) => {
  const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[index];
  const q = (sel) => [...cell.querySelectorAll(sel)].map((n) => n.textContent);
  return {header: q('.cm-aimu-header').length, magic: q('.cm-aimu-magic'), model: q('.cm-aimu-model'),
          flags: q('.cm-aimu-flag'), values: q('.cm-aimu-value'), body: q('.cm-aimu-body'), vars: q('.cm-aimu-var'),
          any: cell.querySelectorAll('[class*="cm-aimu-"]').length};
}"""


def test_aimu_cells_are_highlighted_from_the_first_render_and_no_other_cell(lab, page):
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                       "language_info": {"name": "python", "codemirror_mode": {"name": "ipython", "version": 3}}},
          "cells": [{"cell_type": "code", "id": "aimu", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": HIGHLIGHT_CELLS[0]},
                    {"cell_type": "code", "id": "plain", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": HIGHLIGHT_CELLS[1]},
                    {"cell_type": "markdown", "id": "md", "metadata": {}, "source": "%%aimu in a Markdown cell"},
                    {"cell_type": "raw", "id": "raw", "metadata": {}, "source": "%%aimu in a raw cell\nbody"}]}
    (lab.root / "highlight.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    open_notebook(page, lab, "highlight.ipynb")                     # never edited, never run
    page.wait_for_selector(".cm-aimu-header", timeout=30_000)
    # the Markdown cell shows its editor (no rendering), so its text is in a CodeMirror view too
    page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
                              nb.widgets[2].rendered = false; }""")
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "aimu_highlighting.png"), full_page=True)

    aimu = page.evaluate(CLASSES_JS, 0)
    assert aimu["header"] == 1 and aimu["magic"] == ["%%aimu"] and aimu["model"] == ["hf:workbench-tiny"]
    assert aimu["flags"] == ["--vars", "--max-tokens"] and aimu["values"] == ["40"]
    assert aimu["body"] == ["Don't stop: it's {topic}, isn't it?", "Second line with {{braces}}."]
    assert aimu["vars"] == ["{topic}"]                                # {{braces}} is not interpolated
    for index in (1, 2, 3):
        assert page.evaluate(CLASSES_JS, index)["any"] == 0, index
    # The apostrophes open no Python string: every piece of the body line has the body's colour.
    colours = page.evaluate("""() => {
      const line = document.querySelector('.cm-aimu-body');
      const base = getComputedStyle(line).color;
      const pieces = [...line.querySelectorAll('span')].filter((s) => !s.closest('.cm-aimu-var'));
      return {base, others: [...new Set(pieces.map((s) => getComputedStyle(s).color))]};
    }""")
    assert colours["others"] in ([], [colours["base"]])

    # Typing a new first line turns the highlighting on for a plain cell, and off again.
    page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
        nb.widgets[1].model.sharedModel.setSource('%%aimu --new\\nNow a prompt'); }""")
    page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell')[1].querySelector('.cm-aimu-header')")
    assert page.evaluate(CLASSES_JS, 1)["flags"] == ["--new"]
    page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
        nb.widgets[1].model.sharedModel.setSource('x = 1'); }""")
    page.wait_for_function("!document.querySelectorAll('.jp-Notebook .jp-Cell')[1].querySelector('[class*=\"cm-aimu-\"]')")


def test_the_status_bar_gauge_follows_loads_and_clears_and_hides_without_workbench(lab, page):
    write_notebook(lab.root / "gauge.ipynb", [
        "print('no workbench here yet')",
        PATH + "\nimport workbench as wb",
        "c = wb.client('hf:workbench-tiny')\nprint(c.chat('What is 17+25?', generate_kwargs={'max_tokens': 4}))",
        "%load_ext workbench\n%aimu clear all",
        "c.reload()\nc.chat('again', generate_kwargs={'max_tokens': 2})",
    ])
    open_notebook(page, lab, "gauge.ipynb")
    run_cell(page, 0)
    wait_idle(page)
    page.wait_for_timeout(1500)
    before = gauge(page)
    assert not before.get("shown") and before.get("active") != "true"     # a kernel without workbench: nothing

    run_cell(page, 1)                                                     # import workbench: the kernel announces it
    empty = wait_gauge(page, "active && bytes === 0")
    assert empty["shown"] and "none loaded" in empty["text"]
    run_cell(page, 2)
    loaded = wait_gauge(page, "active && bytes > 0")
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "status_bar_gauge_loaded.png"))
    assert "1 model" in loaded["text"]
    run_cell(page, 3)                                                     # %aimu clear all
    wait_gauge(page, "active && bytes === 0")
    wait_idle(page)
    assert "freed" in output_text(page, 3)

    # A page reload (or a second tab) finds the kernel's workbench at once.
    run_cell(page, 4)
    wait_gauge(page, "active && bytes > 0")
    wait_idle(page)
    page.reload()
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
    reloaded = wait_gauge(page, "active && bytes > 0")
    assert "1 model" in reloaded["text"]

    # The click menu: "Clear every cached weight" frees them.
    page.locator(GAUGE).click()
    menu = page.locator(".jp-aimu-gauge-menu")
    menu.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "status_bar_gauge_menu.png"))
    assert "Show the memory gauge" in menu.inner_text()
    menu.get_by_text("Clear every cached weight").click()
    wait_gauge(page, "active && bytes === 0")

    # A restarted kernel has no workbench until it is imported again: the item goes away.
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    page.wait_for_function(f"document.querySelector('{GAUGE}').dataset.active !== 'true'", timeout=60_000)
    wait_idle(page)
    run_cell(page, 1)
    wait_gauge(page, "active && bytes === 0")


def fake_server_cell(default: str, queued: str) -> str:
    """The first cell of a notebook against the fake OpenAI server: ``default`` answers when
    nothing is queued; ``queued`` is the Reply(...) list to queue first."""
    return f"""{PATH}
%load_ext workbench
import workbench as wb
from workbench.testing import FakeOpenAIServer, Reply
server = FakeOpenAIServer(default=Reply(text={default!r})).start()
M = 'openai-compat:fake@' + server.base_url
server.add({queued})"""


def kernel_output(page, code: str) -> str:
    """Run ``code`` in the current notebook's kernel outside any cell; its printed text."""
    return page.evaluate("""async (code) => {
      const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
      let text = '';
      const future = kernel.requestExecute({code});
      future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') text += msg.content.text; };
      await future.done;
      return text;
    }""", code)


CUT = fake_server_cell("Resumed answer.", "Reply(text='one two three four five six seven eight nine ten ' * 3, "
                                          "drop_after=6)")


def test_a_cut_stream_gets_exactly_one_resume_cell_and_it_resumes(lab, page):
    write_notebook(lab.root / "cut.ipynb", [
        CUT,
        "%%aimu {M}\nTell a long story.",
        "print('after')",
    ])
    open_and_run(page, lab, "cut.ipynb")
    page.wait_for_function("window.jupyterapp.shell.currentWidget.content.model.cells.length === 4",
                           timeout=120_000)
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "resume_cell_inserted.png"), full_page=True)
    after = cells(page)
    assert after[1]["source"].startswith("%%aimu {M}")
    resume = after[2]["source"]
    assert resume.startswith("%%aimu openai-compat:fake@http://127.0.0.1:") and "--restore" in resume
    assert resume.endswith("Continue where you left off.")
    assert after[3]["source"] == "print('after')" and after[3]["count"] is None   # Run All stopped
    meta = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.get(2).getMetadata('workbench')")
    assert meta == {"resume_for": "resume:c1"}
    assert page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".cm-aimu-header").count() == 1

    # Re-running the failed cell (cut again) replaces the resume cell's code: still one.
    page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.model.cells.get(2)
                     .sharedModel.setSource('# edited')""")
    kernel_output(page, "server.add(Reply(text='cut again ' * 20, drop_after=4))")
    run_cell(page, 1)
    wait_idle(page)
    page.wait_for_function("window.jupyterapp.shell.currentWidget.content.model.cells.get(2).sharedModel.getSource() !== '# edited'")
    again = cells(page)
    assert len(again) == 4 and again[2]["source"] == resume
    # The extension's comm is open now, so the message names the cell below.
    assert "the cell below holds the code" in output_text(page, 1)

    # The resume cell resumes the conversation: the model gets the cut turn and continues.
    run_cell(page, 2)
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "resume_cell_resumed.png"), full_page=True)
    assert "Resumed answer." in output_text(page, 2)
    page.evaluate("""() => { const nb = window.jupyterapp.shell.currentWidget.content;
        nb.model.sharedModel.insertCell(4, {cell_type: 'code', source:
          "import json\\nprint(json.dumps([m['role'] for m in server.last_request.json['messages']]))"}); }""")
    run_cell(page, 4)
    wait_idle(page)
    shown = output_text(page, 4)
    assert shown.strip().startswith("["), shown
    roles = json.loads(shown.strip().splitlines()[-1])
    assert roles[:1] == ["user"] and roles[-1] == "user" and len(roles) >= 3
    assert len(cells(page)) == 5                                           # success adds no cell


REGEN = fake_server_cell("Later answer.", "Reply(text='First answer.'), Reply(text='Shown by wb.show.'), "
                                          "Reply(text='Second answer.')")


def test_regenerate_on_an_aimu_answer_replaces_the_exchange_in_place(lab, page):
    write_notebook(lab.root / "regen.ipynb", [
        REGEN,
        "%%aimu {M}\nSay something.",
        "other = wb.client(M)\n_ = wb.show(other.chat('Hi', stream=True))",
    ])
    open_and_run(page, lab, "regen.ipynb")
    wait_idle(page)
    aimu_cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    button = aimu_cell.locator(".wb-stream-static .wb-regenerate")
    button.wait_for(timeout=60_000)
    assert "First answer." in aimu_cell.locator(".wb-answer").inner_text()
    # only %%aimu answers get the button (a wb.show of another client has no turn to replace)
    assert page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".wb-regenerate").count() == 0
    page.screenshot(path=str(ARTIFACTS / "regenerate_button.png"), full_page=True)
    button.click()
    page.wait_for_function("""() => {
      const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[1];
      const answer = cell.querySelector('.wb-stream-static .wb-answer');
      return answer && answer.innerText.includes('Second answer.');
    }""", timeout=60_000)
    wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "regenerated_answer.png"), full_page=True)
    assert len(cells(page)) == 3                                           # in place: no cell added
    history = kernel_output(page, "import json\nfrom workbench.notebook.extension import session\n"
                                  "c = session(get_ipython()).client(M)\n"
                                  "print(json.dumps([[m['role'], m.get('content')] for m in c.messages]))")
    exchanges = json.loads(history.strip().splitlines()[-1])
    users = [content for role, content in exchanges if role == "user"]
    answers = [content for role, content in exchanges if role == "assistant"]
    assert users == ["Say something."] and answers == ["Second answer."]
