"""The memory gauge: weight-cache entries with their size per device, device totals, and
clear buttons (one per entry and one for all).

It refreshes itself: a daemon thread reads the cache and memory figures about once a
second (only sending when something changed) until the widget is closed, and the cache's
``subscribe`` callback refreshes it right after every load or clear.

The rows come from memory_rows.py (device figures: torch.cuda when torch is already
imported, else NVML; the process RSS and system RAM through psutil).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from workbench.notebook.memory_rows import _weights, clear_entry, device_rows, entry_rows, human_bytes

__all__ = ["MemoryGauge", "clear_entry", "device_rows", "entry_rows", "human_bytes"]

_HERE = Path(__file__).parent


class MemoryGauge(anywidget.AnyWidget):
    _esm = _HERE / "gauge.js"
    _css = _HERE / "gauge.css"
    entries = traitlets.List([]).tag(sync=True)
    devices = traitlets.List([]).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(self, refresh_s: float = 1.0, *, autostart: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.refresh_s = refresh_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.refresh()
        self.on_msg(self._on_frontend_message)
        self._subscribed = self._subscribe()
        if autostart:
            self.start()

    # -- refreshing -------------------------------------------------------------------------
    def refresh(self, *_args: Any, **_kwargs: Any) -> None:
        entries, devices = entry_rows(), device_rows()
        with self._lock:
            if entries != self.entries:
                self.entries = entries
            if devices != self.devices:
                self.devices = devices

    def start(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self._stop.clear()
            self.thread = threading.Thread(target=self._run, name="workbench-memory-gauge", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_s):
            if getattr(self, "comm", None) is None:   # closed from anywhere: stop polling
                return
            try:
                self.refresh()
            except Exception:
                pass  # a failed read must not kill the gauge; the next tick tries again

    def stop(self) -> None:
        self._stop.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def close(self) -> None:
        self.stop()
        if self._subscribed:
            try:
                _weights().unsubscribe(self.refresh)
            except Exception:
                pass
            self._subscribed = False
        super().close()

    def _subscribe(self) -> bool:
        try:
            _weights().subscribe(self.refresh)
        except (ImportError, AttributeError):
            return False
        return True

    # -- the buttons ------------------------------------------------------------------------
    def clear(self, key: str | None = None) -> int:
        """Clear one entry by its key (or all with None); refreshes and returns bytes freed."""
        if key is None:
            freed = clear_entry(None)
        else:
            row = next((r for r in self.entries if r["key"] == key), None)
            if row is None:
                self.message = f"No cache entry {key!r} (already cleared?)."
                return 0
            freed = clear_entry(row)
        self.refresh()
        self.message = f"Freed {human_bytes(freed)}."
        return freed

    def _on_frontend_message(self, _widget, content: dict[str, Any], _buffers) -> None:
        if not isinstance(content, dict):
            return
        try:
            if content.get("type") == "clear":
                self.clear(str(content.get("key")))
            elif content.get("type") == "clear_all":
                self.clear(None)
        except Exception as exc:
            self.message = f"Could not clear: {type(exc).__name__}: {exc}"

    # -- text ---------------------------------------------------------------------------------
    def text(self) -> str:
        lines = ["Weight cache:" if self.entries else "Weight cache: empty"]
        for row in self.entries:
            per = ", ".join(f"{d} {human_bytes(b)}" for d, b in row["bytes_by_device"].items())
            lines.append(f"  {row['provider']}:{row['model']}  {human_bytes(row['bytes'])}  ({per})")
        for dev in self.devices:
            lines.append(f"  {dev['name']}: {human_bytes(dev['used'])} / {human_bytes(dev['total'])}")
        return "\n".join(lines)

    def html(self) -> str:
        """A static table of the same figures (saved notebooks, nbconvert HTML)."""
        import html

        rows = "".join(
            f"<tr><td>{html.escape(r['provider'])}:{html.escape(r['model'])}</td><td>{human_bytes(r['bytes'])}</td>"
            f"<td>{html.escape(', '.join(f'{d} {human_bytes(b)}' for d, b in r['bytes_by_device'].items()))}</td></tr>"
            for r in self.entries)
        devices = "".join(f"<tr><td>{html.escape(d['name'])}</td><td>{human_bytes(d['used'])}</td>"
                          f"<td>of {human_bytes(d['total'])}</td></tr>" for d in self.devices)
        title = f"{len(self.entries)} loaded" if self.entries else "empty"
        return (f'<div class="wb-gauge-static"><b>Weight cache: {title}</b>'
                f"<table>{rows}{devices}</table>"
                '<div style="font-size:80%;color:#57606a">Figures from when this cell ran '
                "(live while its kernel runs).</div></div>")

    def _repr_mimebundle_(self, **kwargs: Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/plain"] = self.text()
            data["text/html"] = self.html()
        return bundle
