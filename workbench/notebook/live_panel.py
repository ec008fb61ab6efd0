"""What the live panels share: a widget that takes a run's events, and a sender thread that
sends what changed at most ``1/interval`` times a second, whatever the event rate.

``live`` is the panel's pure state (``bench_state.BenchLive``, ``tune_state.TuneLive``):
``on_event(event)``, ``initial()`` (the browser's starting state) and ``take()`` (a message
with what changed, or None). The events come from the run's thread; the sender has its own.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable

import anywidget
import traitlets

from workbench.notebook.stream_view import kernel_id


class LivePanel(anywidget.AnyWidget):
    state = traitlets.Dict({}).tag(sync=True)
    start_events: tuple[type, ...] = ()
    state_events: tuple[type, ...] = ()    # rare events whose whole state is synced (never lost)
    end_events: tuple[type, ...] = ()

    def __init__(self, name: str, live: Any, *, interval: float = 1 / 20, **kwargs: Any):
        super().__init__(state={"name": name, "status": "starting", "kernel_id": kernel_id()}, **kwargs)
        self.live = live
        self.interval = interval
        self.messages_sent = 0
        self.bytes_sent = 0
        self.send_failed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sender: threading.Thread | None = None

    def __call__(self, event: Any) -> None:
        with self._lock:
            self.live.on_event(event)
        if isinstance(event, self.start_events + self.state_events):
            # The start goes into the synced state, not a custom message: the browser may
            # still be loading the view's module, and custom messages sent before it
            # listens are lost (later ones carry absolute counts, so they heal themselves).
            with self._lock:
                start = self.live.initial()
            try:
                self.state = {**self.state, "start": start}
            except Exception:
                self.send_failed = True
            if self._sender is None and isinstance(event, self.start_events):
                self._sender = threading.Thread(target=self._loop, name=f"{type(self).__name__}-sender", daemon=True)
                self._sender.start()
        elif isinstance(event, self.end_events):
            self.stop_sending()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.send_due()

    def send_due(self) -> None:
        with self._lock:
            message = self.live.take()
        if message is not None:
            self._post(message)

    def stop_sending(self) -> None:
        """Stop the sender and send what is left (the final figures and status)."""
        self._stop.set()
        sender = self._sender
        if sender is not None and sender is not threading.current_thread():
            sender.join(timeout=5)
        self.send_due()

    @property
    def alive(self) -> bool:
        return getattr(self, "comm", None) is not None and not self.send_failed

    def _post(self, message: dict[str, Any]) -> None:
        if not self.alive:
            return
        try:
            self.send(message)
        except Exception:       # the display must never fail the run
            self.send_failed = True
            return
        self.messages_sent += 1
        self.bytes_sent += len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode())

    def close(self) -> None:
        self._stop.set()
        super().close()


def replace_with_static(handle: Any, view: Any, render: Callable[[], dict[str, Any]], metadata: dict | None = None,
                        plot: Callable[[], bytes | None] | None = None, plot_text: str = "") -> None:
    """The live view becomes static output (a saved notebook shows it without a kernel), and
    the plots follow as a PNG output of their own. ``render`` and ``plot`` draw them; a drawing
    that fails costs that drawing (a short note says so), never a live widget left behind."""
    from IPython.display import display

    view.stop_sending()
    try:
        try:
            data = render()
        except Exception as exc:
            note = f"The panel could not draw its final view ({type(exc).__name__}: {exc}); the results are complete."
            data = {"text/plain": note, "text/html": _static_div(note, "drawing-failed")}
        handle.update(data, metadata=metadata or {}, raw=True)
    finally:
        view.close()
    if plot is None:
        return
    try:
        png = plot()
    except Exception as exc:
        import warnings

        warnings.warn(f"The panel could not draw its plots ({type(exc).__name__}: {exc}).", RuntimeWarning,
                      stacklevel=2)
        return
    if png is not None:
        display({"image/png": png, "text/plain": plot_text}, raw=True)


def abort_static(handle: Any, view: Any, text: str) -> None:
    try:
        view.stop_sending()
        if handle is not None:
            handle.update({"text/plain": text, "text/html": _static_div(text, "failed")}, raw=True)
    finally:
        view.close()


def _static_div(text: str, status: str) -> str:
    import html

    return f'<div class="wb-panel-static" data-status="{status}" style="color:#cf222e">{html.escape(text)}</div>'
