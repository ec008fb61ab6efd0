"""Every tour notebook runs top to bottom on a real kernel (nbclient), offline."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from workbench.notebook.tour import TOUR, export_html, notebooks_dir, run_tour



def test_tour_notebooks_are_committed_without_outputs():
    for name in TOUR:
        nb = nbformat.read(notebooks_dir() / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{name}: strip outputs before committing"


LOCAL = ("05_local_models_and_cache", "07_benchmarks_and_tuning",      # these load local weights
         "08_images", "09_history_and_memory")


@pytest.mark.parametrize("name", [n for n in TOUR if n not in LOCAL])
def test_tour_notebook_runs(name, tmp_path, capsys):
    run_tour(tmp_path, names=(name,))
    assert "ok" in capsys.readouterr().out
    nb = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    html = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
    assert "IOPub message rate exceeded" not in html
    views = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert not views, "a finished run leaves static output, not a widget that needs its kernel"
    if name != "01_getting_started":
        static = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                  if "wb-stream-static" in o.get("data", {}).get("text/html", "")]
        assert static, "the stream view was shown and became static"
        assert all({"text/markdown", "text/plain"} <= set(o["data"]) for o in static)
        assert "wb-stream-static" in html
    stray = [o["data"]["text/plain"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if o.output_type == "execute_result" and "Fake" in o.get("data", {}).get("text/plain", "")]
    assert not stray, f"stray reprs: {stray}"


@pytest.mark.slow
@pytest.mark.usefixtures("tiny_model")
@pytest.mark.parametrize("name", LOCAL)
def test_local_models_tour_notebook_runs(name, tmp_path):
    run_tour(tmp_path, names=(name,))
    nb = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    if name == "07_benchmarks_and_tuning":      # both panels ended as static HTML, with their plots
        assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
        assert sum('class="wb-bench-static" data-status="finished"' in h for h in html) >= 3   # run, %aimu run, resume
        assert any("wb-tune-static" in h and "validation perfect" in h for h in html)
        assert any("wb-runs" in h and "tour-1" in h for h in html)
        assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
    if name == "08_images":                     # pictures in every section, streams ended static, no noise
        pngs = [o for o in outputs if "image/png" in o.get("data", {})]
        assert len(pngs) >= 5
        html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
        assert sum("wb-stream-static" in h and "<img" in h for h in html) >= 3   # tiny-sd, OpenAI, the agent
        texts = [o.get("text") or o.get("data", {}).get("text/plain", "") for o in outputs]
        assert any("refused: IMAGE_SAFETY" in t for t in texts)
        assert any(".workbench/images/a-blue-square-" in t for t in texts)
        assert not [o for o in outputs if o.get("name") == "stderr"], "warnings or progress bars in the tour"
        assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    if name == "09_history_and_memory":         # the log table, a resumed conversation, real semantic hits
        texts = [o.get("text") or o.get("data", {}).get("text/plain", "") for o in outputs]
        html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
        assert any("wb-log" in h and "conversation=tide-pools" in h for h in html)
        assert any(t.startswith("5 messages; Crabs hide") for t in texts)
        assert any("(0.4" in t and "metric units" in t.split("),")[0] for t in texts)       # the right fact first
        assert any("allergic to peanuts" in t and "score" in t for t in texts)              # recall reached the agent
        assert any("[Octopuses]" in t or "three hearts" in t for t in texts)


def test_html_export_prefers_static_renderings(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
        "display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2,
                                                                            "version_minor": 0},
                              "text/html": "<div class='wb-stream-static'>Hello</div>", "text/plain": "Hello"})])])
    export_html(nb, tmp_path / "x.html")
    assert "wb-stream-static" in (tmp_path / "x.html").read_text()


def test_failing_notebook_is_reported_and_still_written(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0")]), src / "broken.ipynb")
    with pytest.raises(SystemExit):
        run_tour(tmp_path / "out", names=("broken",), source_dir=src)
    assert (tmp_path / "out" / "broken.html").exists()
    assert "broken" in capsys.readouterr().err
