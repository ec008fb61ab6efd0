"""Notebooks executed on a real kernel (nbclient), the way "Run All" and nbconvert run them.

Each test writes a small notebook, runs it, and reads what a user would see in the saved
file: failed cells fail with a few lines, the resume code is in the output, `%aimu resume`
inserts it once, cleared weights reload, `--format code` keeps prose out of cells, and
README's notebook snippets run as they are written.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from workbench.notebook.tour import execute_notebook, run_tour
from workbench.testing import FakeAnthropicServer, FakeOpenAIServer, Reply

README = Path(__file__).resolve().parents[2] / "README.md"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def notebook(*sources: str):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def run(nb, tmp_path, *, allow_errors: bool = False):
    """Execute in ``tmp_path`` (the kernel imports this checkout, as the tour does)."""
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    if not allow_errors:
        return execute_notebook(path, tmp_path, timeout=300)
    executed = nbformat.read(path, as_version=4)
    NotebookClient(executed, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return executed


def text_of(cell) -> str:
    """Everything a cell shows: streams, displayed text and its error lines (no ANSI)."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append("\n".join(out.traceback))
        else:
            parts.append(out.get("data", {}).get("text/plain", ""))
    return ANSI.sub("", "\n".join(parts))


def error_lines(cell) -> list[str]:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors, "the cell was expected to fail"
    return ANSI.sub("", "\n".join(errors[0].traceback)).splitlines()


@pytest.fixture
def server():
    with FakeOpenAIServer(default=Reply(text="Default answer.")) as fake:
        yield fake


def test_a_failing_magic_fails_run_all_with_a_short_message(tmp_path):
    nb = notebook("%load_ext workbench", "%%aimu nosuchprovider:model\nHi", "print('after the failure')")
    with pytest.raises(CellExecutionError) as info:
        run(nb, tmp_path)
    assert "nosuchprovider" in str(info.value)
    executed = run(nb, tmp_path, allow_errors=True)
    lines = error_lines(executed.cells[1])
    shown = "\n".join(lines)
    assert "%aimu models" in shown and "Traceback" not in shown and "File \"" not in shown
    assert len(lines) <= 4


def test_a_tour_notebook_with_a_failing_magic_fails_the_tour(tmp_path, capsys):
    source = tmp_path / "src"
    source.mkdir()
    nbformat.write(notebook("%load_ext workbench", "%%aimu openai-compat:m@http://127.0.0.1:9/v1\nHi"),
                   source / "broken.ipynb")
    with pytest.raises(SystemExit):
        run_tour(tmp_path / "out", names=("broken",), source_dir=source)
    assert "broken: FAILED" in capsys.readouterr().out


def test_a_cut_magic_run_shows_its_resume_code_and_resume_inserts_it_once(tmp_path, server):
    model = f"openai-compat:fake-model@{server.base_url}"
    server.add(Reply(text="First answer."), Reply(text="a long answer that is cut " * 20, drop_after=3),
               Reply(text="Resumed answer."))
    nb = notebook("%load_ext workbench", f"%%aimu {model}\nFirst", f"%%aimu {model}\nSecond",
                  "%aimu resume", "%aimu resume")
    executed = run(nb, tmp_path, allow_errors=True)
    failed = "\n".join(error_lines(executed.cells[2]))
    assert "Traceback" not in failed and "the code that resumes the run is in the output above" in failed
    shown = text_of(executed.cells[2])           # the static output keeps the code, copyable
    match = re.search(r"^(%%aimu .* --restore (\S+))\n(Continue where you left off\.)$", shown, re.M)
    assert match, shown
    assert (tmp_path / match.group(2)).exists()
    # nothing piles up: %aimu resume inserts the code once, then only says where it is
    assert "the next cell holds the resume code" in text_of(executed.cells[3])
    assert "already in a cell" in text_of(executed.cells[4])
    # the shown code is a working cell: restore and continue in a fresh kernel
    resume = match.group(1) + "\n" + match.group(3)
    again = run(notebook("%load_ext workbench", resume), tmp_path)
    assert "Resumed answer." in text_of(again.cells[1])
    sent = server.last_request.json["messages"]
    assert [m["content"] for m in sent] == ["First", "First answer.", "Second", "Continue where you left off."]


def test_wb_show_of_a_cut_agent_run_fails_the_cell_with_the_resume_code(tmp_path, server):
    model = f"openai-compat:fake-model@{server.base_url}"
    server.add(Reply(text="Chapter one of a long report " * 20, drop_after=4))
    nb = notebook("import workbench as wb",
                  f"agent = wb.agent({model!r}, system='You write reports.')\n"
                  "wb.show(agent.run('Write the report.', stream=True))",
                  "print('not reached')")
    with pytest.raises(CellExecutionError):
        run(nb, tmp_path)
    server.add(Reply(text="Chapter one of a long report " * 20, drop_after=4))
    executed = run(nb, tmp_path, allow_errors=True)
    lines = error_lines(executed.cells[1])
    shown = "\n".join(lines)
    assert "Traceback" not in shown and "httpx" not in shown and len(lines) <= 3
    assert shown.startswith("StreamInterrupted: ") and "Saved checkpoint .workbench/checkpoints/" in shown
    assert "the code that resumes the run is in the output above" in shown
    above = text_of(executed.cells[1])
    assert "agent.restore(wb.load_checkpoint(" in above
    assert "wb.show(agent.run('Continue where you left off.', stream=True))" in above
    # the static output of the view shows the same resume code, for the saved notebook
    html = "".join(o.get("data", {}).get("text/html", "") for o in executed.cells[1].outputs)
    assert "wb-resume-code" in html and "agent.restore(" in html


@pytest.mark.slow
@pytest.mark.usefixtures("tiny_model")
def test_a_magic_on_cleared_weights_reloads_them(tmp_path):
    nb = notebook("%load_ext workbench\n%aimu model hf:workbench-tiny", "%%aimu\nWhat is 17+25?",
                  "%aimu clear hf", "%%aimu\nWhat is 17+25?", "%aimu clear hf\n%aimu reload")
    executed = run(nb, tmp_path)
    assert "freed" in text_of(executed.cells[2])
    assert "were cleared; reloaded them" in text_of(executed.cells[3])
    assert "42" in text_of(executed.cells[3])
    assert "reloaded the weights of hf:workbench-tiny" in text_of(executed.cells[4])


def test_format_code_keeps_prose_out_of_cells(tmp_path, server):
    model = f"openai-compat:fake-model@{server.base_url}"
    server.add(Reply(text="Paris is the capital of France."), Reply(text="```python\nx = 1\n```"),
               Reply(text="```python\nx = 1\n```"))
    nb = notebook("%load_ext workbench", f"%%aimu {model} --format code\nCapital?",
                  f"%%aimu {model} --format code\nCode", f"%%aimu {model} --format code\nCode")
    executed = run(nb, tmp_path)
    assert "no code block" in text_of(executed.cells[1])
    assert "no code block" not in text_of(executed.cells[2]) and "already" not in text_of(executed.cells[2])
    # nbclient sends no cell id (JupyterLab does), so the same source counts as a re-run
    # of the same cell: the same code is not inserted twice
    assert "already in the cell below" in text_of(executed.cells[3])


def readme_notebook_cells() -> list[str]:
    """The ```ipython blocks of README's "In a notebook" section, as written."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## In a notebook"):]
    section = section[:section.index("\n## ", 3)]
    return [block.strip("\n") for block in re.findall(r"```ipython\n(.*?)```", section, re.S)]


def test_readme_notebook_snippets_run_as_written(tmp_path, monkeypatch):
    cells = readme_notebook_cells()
    assert len(cells) >= 3 and cells[1].startswith("%%aimu")
    with FakeAnthropicServer(default=Reply(text="Attention weighs tokens.", thinking="Two sentences.")) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "fake-key-for-the-readme-test")
        executed = run(notebook(*cells), tmp_path)
    assert "Attention weighs tokens." in text_of(executed.cells[1])
    shown = text_of(executed.cells[2])
    assert "Two sentences." in shown and "[user] Explain attention in two sentences." in shown
    assert "fake-key-for" not in nbformat.writes(executed)
