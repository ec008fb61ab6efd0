"""The live prompt-tuning panel: an anywidget (this class plus tune_panel.js).

``tuner.tune(...)`` in a Jupyter kernel shows it by itself (``panel=False`` turns it off): the
candidates (version, parent, train and validation score, tokens), the score curve, the best
prompt with a word diff against its parent, the worst rows of the best candidate, and the
calls spent against the projection. Stop interrupts the kernel, as the benchmark panel's
does: the best prompt so far is kept (``tuner.last_result``) and labelled in the catalog.
When the run ends the panel becomes static output (``tune_render``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from workbench.evals.events import CandidateScored, TuneFinished, TuneStarted
from workbench.notebook.live_panel import LivePanel, abort_static, replace_with_static
from workbench.notebook.tune_state import TuneLive
from workbench.notebook.widget_js import module

_HERE = Path(__file__).parent


class TunePanel(LivePanel):
    _esm = module("tune_panel.js")
    _css = _HERE / "tune_panel.css"
    start_events = (TuneStarted,)
    state_events = (CandidateScored,)      # a few per round: each one must reach the browser
    end_events = (TuneFinished,)

    def __init__(self, name: str = "tuning", *, interval: float = 1 / 10,
                 clock: Callable[[], float] = time.monotonic, **kwargs: Any):
        super().__init__(name, TuneLive(clock=clock), interval=interval, **kwargs)


class TuneRun:
    def __init__(self, name: str):
        from IPython.display import display

        self.view = TunePanel(name)
        self.handle = display(self.view, display_id=True)

    @property
    def listener(self) -> Callable[[Any], None]:
        return self.view

    def end(self, result: Any) -> None:
        from workbench.notebook.tune_render import curve_png, result_html, result_text

        result.displayed = True
        replace_with_static(self.handle, self.view,
                            lambda: {"text/html": result_html(result), "text/plain": result_text(result)},
                            {"workbench": {"stopped": result.stopped, "best": result.best.index}},
                            lambda: curve_png(result), "<score curve>")

    def abort(self) -> None:
        abort_static(self.handle, self.view, "The tuning run failed; see the error below.")


def open_tune_panel(panel: bool | None, name: str) -> TuneRun | None:
    """A widget in a Jupyter kernel; elsewhere none (the tuner returns its result)."""
    from workbench.notebook.show import has_frontend

    if panel is False or not has_frontend():
        return None
    return TuneRun(name)
