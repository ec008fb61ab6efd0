"""What the live tuning panel knows (pure: events in, small messages out).

A message: ``{"seq", "t", "progress": {round, calls, projected, doing}, "cands": [candidate,
...], "status"}``; candidates are sent once, when scored (with the word diff of their prompt
against their parent's, rendered here), progress only when it changed.
"""

from __future__ import annotations

import difflib
import html
import re
import time
from typing import Any, Callable

from workbench.evals.events import CandidateScored, TuneFinished, TuneProgress, TuneStarted
from workbench.notebook.bench_state import clip


def word_diff(old: str, new: str) -> str:
    """``new`` as HTML with the words that differ from ``old`` marked (``<del>`` / ``<ins>``)."""
    a, b = re.findall(r"\s+|[^\s]+", old or ""), re.findall(r"\s+|[^\s]+", new or "")
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(html.escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append('<del style="background:#ffebe9;color:#82071e">' + html.escape("".join(a[i1:i2])) + "</del>")
        if j2 > j1:
            out.append('<ins style="background:#dafbe1;color:#116329;text-decoration:none">'
                       + html.escape("".join(b[j1:j2])) + "</ins>")
    return "".join(out)


def candidate_dict(event: CandidateScored, parent_prompt: str | None) -> dict[str, Any]:
    return {"index": event.index, "parent": event.parent, "round": event.round, "prompt": event.prompt,
            "train": event.train_score, "val": event.val_score, "tokens": event.tokens, "accepted": event.accepted,
            "best": event.best, "version": event.version,
            "diff": word_diff(parent_prompt, event.prompt) if parent_prompt is not None else html.escape(event.prompt),
            "worst": [{"sample_id": r.get("sample_id"), "output": clip(r.get("output"), 120), "score": r.get("score"),
                       "feedback": clip(r.get("feedback"), 120), "error": clip(r.get("error"), 160)}
                      for r in event.worst]}


class TuneLive:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.started: float | None = None
        self.info: dict[str, Any] = {}
        self.candidates: list[dict[str, Any]] = []
        self.progress: dict[str, Any] = {"round": 0, "calls": 0, "projected": 0, "doing": "starting"}
        self.best = 0
        self.status = "running"
        self.stopped = ""
        self.seq = 0
        self._new: list[dict[str, Any]] = []
        self._progress_changed = False
        self._status_sent = False

    def on_event(self, event: Any) -> None:
        if isinstance(event, TuneStarted):
            self.started = self.clock()
            self.info = {"name": event.name, "model": event.model, "train_rows": event.train_rows,
                         "val_rows": event.val_rows, "max_iterations": event.max_iterations,
                         "budget_calls": event.budget_calls}
            self.progress = {"round": 0, "calls": 0, "projected": event.projected_calls,
                             "doing": "scoring the initial prompt"}
        elif isinstance(event, TuneProgress):
            self.progress = {"round": event.round, "calls": event.calls, "projected": event.projected_calls,
                             "doing": event.doing}
            self._progress_changed = True
        elif isinstance(event, CandidateScored):
            parent = next((c["prompt"] for c in self.candidates if c["index"] == event.parent), None)
            cand = candidate_dict(event, parent)
            self.candidates.append(cand)
            self._new.append(cand)
            self.best = event.best
        elif isinstance(event, TuneFinished):
            self.status = "interrupted" if event.stopped == "interrupted" else "finished"
            self.stopped, self.best = event.stopped, event.best
            self.progress = {**self.progress, "calls": event.calls, "doing": f"stopped: {event.stopped}"}
            self._progress_changed = True

    def elapsed(self) -> float:
        return 0.0 if self.started is None else round(self.clock() - self.started, 3)

    def initial(self) -> dict[str, Any]:
        return {**self.info, "progress": self.progress, "candidates": list(self.candidates), "best": self.best,
                "status": self.status, "t": self.elapsed()}

    def take(self) -> dict[str, Any] | None:
        final = self.status != "running" and not self._status_sent
        if not self._new and not self._progress_changed and not final:
            return None
        self.seq += 1
        message: dict[str, Any] = {"seq": self.seq, "t": self.elapsed(), "best": self.best}
        if self._progress_changed:
            message["progress"] = self.progress
        if self._new:
            message["cands"] = self._new
        if final:
            message["status"], message["stopped"] = self.status, self.stopped
            self._status_sent = True
        self._new, self._progress_changed = [], False
        return message
