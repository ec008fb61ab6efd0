"""The live benchmark panel: an anywidget (this class plus bench_panel.js) and its terminal twin.

``bench.run(...)`` in a Jupyter kernel shows it by itself (``panel=False`` turns it off):

- while the run goes on, a sender thread sends what changed at most ``1/interval`` times a
  second (``bench_state.BenchLive``: exact counts, running means with their intervals, a
  few new rows), whatever the row rate, so Jupyter Server never drops iopub messages;
- when the run ends (finished, failed or stopped), the panel becomes static output: the
  summary, the samples x models matrix and the errors as HTML, and the plots as their own
  PNG output (``bench_render``), so a saved notebook shows them without a kernel.

The Stop button interrupts the kernel through Jupyter Server (the kernel cannot read a comm
message while it runs the cell): finished rows are stored, and the output shows the code
that resumes the run. A panel closed while its run goes on stops sending; the run finishes.

Outside a kernel the ``TerminalPanel`` shows a tqdm bar and prints the text summary.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from workbench.evals.events import RowFinished, RunFinished, RunStarted
from workbench.notebook.bench_state import BenchLive
from workbench.notebook.live_panel import LivePanel, abort_static, replace_with_static
from workbench.notebook.widget_js import module

_HERE = Path(__file__).parent


class BenchPanel(LivePanel):
    _esm = module("bench_panel.js")
    _css = _HERE / "bench_panel.css"
    start_events = (RunStarted,)
    end_events = (RunFinished,)

    def __init__(self, name: str = "benchmark", *, interval: float = 1 / 20,
                 clock: Callable[[], float] = time.monotonic, **kwargs: Any):
        super().__init__(name, BenchLive(clock=clock), interval=interval, **kwargs)


class PanelRun:
    """One run's panel from start to static output (the benchmark calls ``listener`` with
    events, and ``end`` from the caller's thread, where a display update reaches the cell)."""

    def __init__(self, name: str, *, widget: bool):
        self.widget = widget
        self.handle = None
        if widget:
            from IPython.display import display

            self.view: Any = BenchPanel(name)
            self.handle = display(self.view, display_id=True)
        else:
            self.view = TerminalPanel()

    @property
    def listener(self) -> Callable[[Any], None]:
        return self.view

    def end(self, results: Any, resume_code: str | None) -> None:
        from workbench.notebook.bench_render import plot_png, run_html, run_text

        if isinstance(self.view, TerminalPanel):
            self.view.close()
            print(run_text(results, resume_code=resume_code))
            return
        results.displayed = True        # shown here: the result as a cell's value is one line
        try:
            replace_with_static(self.handle, self.view,
                                lambda: {"text/html": run_html(results, resume_code=resume_code),
                                         "text/plain": run_text(results, resume_code=resume_code)},
                                {"workbench": {"run_id": results.run_id, "status": results.status}},
                                lambda: plot_png(results), f"<plots of {results.run_id}: score per model, latency>")
        finally:       # what the live view cost, final message included (the benchmarks print it)
            results.panel_stats = {"messages": self.view.messages_sent, "bytes": self.view.bytes_sent}

    def abort(self, message: str) -> None:
        """The run failed before it started (a store it cannot write, an executor that did
        not come up): the panel says why instead of waiting forever."""
        if isinstance(self.view, TerminalPanel):
            self.view.close()
        else:
            abort_static(self.handle, self.view, f"The benchmark did not run: {message}")


class TerminalPanel:
    """A tqdm bar while the run goes on (the summary is printed by ``PanelRun.end``)."""

    def __init__(self):
        self.bar = None

    def __call__(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=event.total, desc=event.name, unit="row")
        elif isinstance(event, RowFinished) and self.bar is not None:
            self.bar.update(1)
        elif isinstance(event, RunFinished):
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def open_panel(panel: bool | None, name: str) -> PanelRun | None:
    """The panel a run gets: a widget in a Jupyter kernel, a bar and a summary in a terminal
    (``panel=None`` shows one only where someone is watching: a kernel or a tty)."""
    import sys

    from workbench.notebook.show import has_frontend

    if panel is False:
        return None
    if has_frontend():
        return PanelRun(name, widget=True)
    if panel or sys.stderr.isatty():
        return PanelRun(name, widget=False)
    return None
