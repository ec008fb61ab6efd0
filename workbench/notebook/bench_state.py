"""What the live benchmark panel knows, and the small messages that keep a browser in step.

Pure (no I/O, the clock is injected), so the rate and size of what the kernel sends can be
tested without a browser. ``on_event`` takes the engine's events (RunStarted, RowFinished,
RunFinished); ``take()`` returns one message with what changed since the last one, or None.

A message is compact, because a fast run finishes thousands of rows a second and the
panel's budget is a few dozen messages a second and about 200 bytes per row::

    {"seq": n, "t": seconds since the start,
     "g": {"<group index>": [done, errors, cache_hits, scored, mean, ci_low, ci_high, passed,
                             input_tokens, output_tokens, cost]},       # changed groups only
     "r": [[group, sample_id, epoch, version, score, passed, latency_ms, output, error,
            feedback], ...],                                            # a few new rows
     "status": "finished"}                                              # once, at the end

Counts are exact in every message; the rows are a sample of the newest (errors first, at
most ``rows_per_message``), which is all a table a person reads can show while it runs.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

from workbench.evals.events import RowFinished, RunFinished, RunStarted
from workbench.evals.results import group_of, t95

PREVIEW = 60        # characters of an output in a live row
ERROR_PREVIEW = 120
ID_PREVIEW = 40     # characters of a sample id
HEARTBEAT = 1.0     # seconds between messages that carry every group


def clip(text: Any, limit: int) -> str | None:
    if text is None:
        return None
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Tally:
    """One group's running figures: the mean of every score (Welford's update) and its 95%
    interval over samples, as the final metrics have it (``clustered_mean_ci``): a sample's
    epochs are one cluster, kept as running sums of the cluster means and their squares."""

    __slots__ = ("total", "done", "errors", "cache_hits", "scored", "mean", "passed",
                 "input_tokens", "output_tokens", "cost", "latency_sum", "clusters", "s1", "s2")

    def __init__(self, total: int = 0):
        self.total = total
        self.done = self.errors = self.cache_hits = self.scored = self.passed = 0
        self.mean = 0.0
        self.input_tokens = self.output_tokens = 0
        self.cost: float | None = None
        self.latency_sum = 0.0
        self.clusters: dict[Any, list[float]] = {}    # sample id -> [sum of scores, count]
        self.s1 = self.s2 = 0.0                         # sums of the cluster means, and of their squares

    def add(self, row: dict[str, Any]) -> None:
        self.done += 1
        self.cache_hits += bool(row.get("cache_hit"))
        self.input_tokens += row.get("input_tokens") or 0
        self.output_tokens += row.get("output_tokens") or 0
        self.latency_sum += row.get("latency_s") or 0.0
        if row.get("cost") is not None:
            self.cost = (self.cost or 0.0) + float(row["cost"])
        if row.get("error") is not None:
            self.errors += 1
            return
        if row.get("score") is None:
            return
        self.scored += 1
        self.passed += bool(row.get("passed"))
        value = float(row["score"])
        self.mean += (value - self.mean) / self.scored
        cluster = self.clusters.setdefault(row.get("sample_id"), [0.0, 0])
        if cluster[1]:
            old = cluster[0] / cluster[1]
            self.s1 -= old
            self.s2 -= old * old
        cluster[0] += value
        cluster[1] += 1
        new = cluster[0] / cluster[1]
        self.s1 += new
        self.s2 += new * new

    def interval(self) -> tuple[float | None, float | None]:
        k = len(self.clusters)
        if k < 2:
            return None, None
        variance = max(0.0, (self.s2 - self.s1 * self.s1 / k) / (k - 1))
        half = t95(k - 1) * math.sqrt(variance / k)
        return self.mean - half, self.mean + half

    def packed(self) -> list:
        low, high = self.interval()
        mean = self.mean if self.scored else None
        return [self.done, self.errors, self.cache_hits, self.scored, _round(mean), _round(low), _round(high),
                self.passed, self.input_tokens, self.output_tokens, _round(self.cost, 6)]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


class BenchLive:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, rows_per_message: int = 8):
        self.clock = clock
        self.rows_per_message = rows_per_message
        self.started: float | None = None
        self.run_id = ""
        self.name = ""
        self.groups: list[str] = []
        self.tallies: dict[str, Tally] = {}
        self.several_versions = False
        self.status = "running"
        self.skipped = 0
        self.store: str | None = None
        self.seq = 0
        self.messages = 0
        self._changed: set[str] = set()
        self._rows: list[list] = []
        self._status_sent = False
        self._last_full = float("-inf")

    # -- events (the engine's thread) ------------------------------------------------------
    def on_event(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            self.started = self.clock()
            self.run_id, self.name, self.skipped, self.store = event.run_id, event.name, event.skipped, event.store
            totals = event.totals or {m: event.total // max(1, len(event.models)) for m in event.models}
            self.groups = list(totals)
            self.several_versions = any(g not in event.models for g in self.groups)
            self.tallies = {g: Tally(n) for g, n in totals.items()}
        elif isinstance(event, RowFinished):
            row = event.row
            group = group_of(row.get("model", ""), row.get("prompt_version", 1), self.several_versions)
            tally = self.tallies.get(group)
            if tally is None:           # a group the start did not announce: show it anyway
                self.groups.append(group)
                tally = self.tallies[group] = Tally()
            tally.add(row)
            self._changed.add(group)
            self._rows.append(self.packed_row(group, row))
            if len(self._rows) > 4 * self.rows_per_message:
                self._rows = self._trim(self._rows)
        elif isinstance(event, RunFinished):
            self.status = event.status

    def packed_row(self, group: str, row: dict[str, Any]) -> list:
        latency = row.get("latency_s")
        sid = row.get("sample_id")
        return [self.groups.index(group), clip(sid, ID_PREVIEW) if isinstance(sid, str) else sid, row.get("epoch", 0), row.get("prompt_version", 1),
                _round(row.get("score")), row.get("passed"), None if latency is None else round(latency * 1000),
                clip(row.get("output"), PREVIEW), clip(row.get("error"), ERROR_PREVIEW),
                clip(row.get("feedback"), PREVIEW) if (row.get("score") or 0) < 1 else None]

    def _trim(self, rows: list[list]) -> list[list]:
        """The rows worth showing from a burst, in order: errors first, then the newest."""
        n = self.rows_per_message
        errors = [r for r in rows if r[8] is not None][-n:]
        others = [r for r in rows if r[8] is None][-(n - len(errors)):] if len(errors) < n else []
        keep = {id(r) for r in errors + others}
        return [r for r in rows if id(r) in keep]

    # -- what the browser gets ------------------------------------------------------------
    def initial(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "name": self.name, "groups": self.groups,
                "totals": [self.tallies[g].total for g in self.groups], "skipped": self.skipped,
                "store": self.store, "status": self.status, "seq": self.seq,
                "tallies": {str(i): self.tallies[g].packed() for i, g in enumerate(self.groups)},
                "t": self.elapsed()}

    def elapsed(self) -> float:
        return 0.0 if self.started is None else round(self.clock() - self.started, 3)

    def take(self) -> dict[str, Any] | None:
        """What changed since the last message (None if nothing did)."""
        final = self.status != "running" and not self._status_sent
        now = self.clock()
        if self.groups and now - self._last_full >= HEARTBEAT and (self.status == "running" or final):
            # every group now and then, changed or not: a lost message heals, and the
            # browser's clock (rows/s, ETA) moves while a slow model answers nothing
            self._changed, self._last_full = set(self.groups), now
        if not self._changed and not self._rows and not final:
            return None
        self.seq += 1
        self.messages += 1
        message: dict[str, Any] = {"seq": self.seq, "t": self.elapsed()}
        if self._changed:
            message["g"] = {str(self.groups.index(g)): self.tallies[g].packed() for g in sorted(self._changed)}
        if self._rows:
            message["r"] = self._trim(self._rows) if len(self._rows) > self.rows_per_message else self._rows
        if final:
            message["status"] = self.status
            self._status_sent = True
        self._changed, self._rows = set(), []
        return message

    # -- a text line per group (terminal and the summary) ---------------------------------
    def lines(self) -> list[str]:
        out = []
        for group in self.groups:
            t = self.tallies[group]
            low, high = t.interval()
            score = "-" if not t.scored else f"{t.mean:.3f}" + ("" if low is None else f" [{low:.3f}, {high:.3f}]")
            out.append(f"{group}: {t.done}/{t.total} rows, score {score}, {t.errors} errors, "
                       f"{t.cache_hits} cached")
        return out
