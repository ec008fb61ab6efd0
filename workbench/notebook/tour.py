"""Run the tour notebooks on a real kernel and write executed notebooks plus HTML.

    python -c "from workbench.notebook.tour import run_tour; run_tour('tour-output')"

Each notebook in ``notebooks/`` runs with nbclient in ``out_dir`` (so checkpoints land
there, not in the repository). Widget state is stored in the executed notebook, and the
HTML export prefers the static renderings (text/html) over widget views, so the HTML reads
well offline without the widget JavaScript.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

TOUR = ("01_getting_started", "02_streaming_and_thinking", "03_tools_and_agents", "04_workflows",
        "05_local_models_and_cache", "06_checkpoints", "07_benchmarks_and_tuning", "08_images",
        "09_history_and_memory")

# nbconvert's default puts widget views first; they need JavaScript from a CDN to show.
HTML_PRIORITY = ["text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg",
                 "application/vnd.jupyter.widget-view+json", "text/latex", "text/plain"]


def notebooks_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "notebooks"


def execute_notebook(source: Path, out_dir: Path, timeout: int = 900):
    """Execute one notebook in ``out_dir``; return the executed NotebookNode (raises on a failing cell)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(source, as_version=4)
    repo = str(Path(__file__).resolve().parents[2])
    env_path = os.environ.get("PYTHONPATH", "")
    checkout = (Path(repo) / "pyproject.toml").exists()     # not an installed package (site-packages)
    if checkout and repo not in env_path.split(os.pathsep):  # the kernel imports this checkout
        os.environ["PYTHONPATH"] = repo + (os.pathsep + env_path if env_path else "")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(out_dir)}})
    client.execute()
    return nb


def export_html(nb, target: Path) -> None:
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config({"NbConvertBase": {"display_data_priority": HTML_PRIORITY}})
    body, _ = HTMLExporter(config=config).from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def run_tour(out_dir: str | os.PathLike = "tour-output", names: tuple[str, ...] = TOUR,
             source_dir: str | os.PathLike | None = None) -> list[Path]:
    """Execute the tour notebooks; write ``NAME.ipynb`` and ``NAME.html`` into ``out_dir``."""
    import nbformat
    from nbclient.exceptions import CellExecutionError

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    source = Path(source_dir) if source_dir else notebooks_dir()
    written: list[Path] = []
    failed: list[str] = []
    for name in names:
        start = time.monotonic()
        path = source / f"{name}.ipynb"
        try:
            nb = execute_notebook(path, out)
            status = "ok"
        except CellExecutionError as exc:
            nb = getattr(exc, "nb", None) or nbformat.read(path, as_version=4)
            status = "FAILED: " + str(exc).strip().splitlines()[-1][:200]
            failed.append(name)
        nbformat.write(nb, out / f"{name}.ipynb")
        export_html(nb, out / f"{name}.html")
        written += [out / f"{name}.ipynb", out / f"{name}.html"]
        print(f"{name}: {status} ({time.monotonic() - start:.1f} s) -> {out / (name + '.html')}", flush=True)
    print(f"\nThe executed tour is in {out}: open the .html files in a browser, "
          f"or the .ipynb files in JupyterLab.")
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        raise SystemExit(1)
    return written


if __name__ == "__main__":
    run_tour(sys.argv[1] if len(sys.argv) > 1 else "tour-output")
