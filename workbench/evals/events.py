"""Typed events of a run: what progress views (tqdm, the notebook panels) consume.

The engine emits; consumers never steer it. ``on_event`` gets every event in the order they
happen, from the thread that runs the engine (a notebook panel schedules its own redraws).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    name: str
    models: tuple[str, ...]
    total: int                 # rows this run will send (after what resume skips)
    skipped: int = 0           # rows already stored (resume)
    totals: dict[str, int] = field(default_factory=dict)    # rows to send per group (results.group_of)
    store: str | None = None   # the run store's path


@dataclass(frozen=True)
class RowFinished:
    run_id: str
    row: dict[str, Any]
    done: int                  # rows finished so far in this run
    total: int


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    status: str                # finished | interrupted | failed
    done: int
    total: int
    metrics: dict[str, Any] = field(default_factory=dict)


Event = RunStarted | RowFinished | RunFinished


class Emitter:
    """Hands events to the listeners; a failing listener is reported once, never raised
    into the run (a progress bar must not kill a benchmark)."""

    def __init__(self, listeners: list[Callable[[Any], None]]):
        self.listeners = [l for l in listeners if l is not None]
        self.failed: list[str] = []

    def __call__(self, event: Any) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception as exc:
                import warnings

                self.listeners.remove(listener)
                self.failed.append(f"{type(exc).__name__}: {exc}")
                warnings.warn(f"A run event listener failed and was removed: {exc}", RuntimeWarning, stacklevel=2)


class TqdmProgress:
    """A ``tqdm.auto`` bar over a run's rows (a notebook gets the widget bar)."""

    def __init__(self):
        self.bar = None
        self.errors = 0

    def __call__(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=event.total, desc=event.name, unit="row")
        elif isinstance(event, RowFinished) and self.bar is not None:
            self.errors += event.row.get("error") is not None
            self.bar.update(1)
            if self.errors:
                self.bar.set_postfix(errors=self.errors, refresh=False)
        elif isinstance(event, RunFinished) and self.bar is not None:
            self.bar.close()


def progress_listener(progress: bool) -> Callable[[Any], None] | None:
    if not progress:
        return None
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return None
    return TqdmProgress()


# -- prompt tuning (workbench.prompts.tuners) ---------------------------------------------------
@dataclass(frozen=True)
class TuneStarted:
    name: str
    model: str
    initial_prompt: str
    train_rows: int
    val_rows: int
    max_iterations: int
    projected_calls: int
    budget_calls: int | None = None


@dataclass(frozen=True)
class TuneProgress:
    round: int
    calls: int                 # model calls so far (scoring and mutation)
    projected_calls: int
    doing: str                 # what the tuner does now, in words


@dataclass(frozen=True)
class CandidateScored:
    index: int                 # 0 is the initial prompt; candidates count on from 1
    parent: int | None
    round: int
    prompt: str
    train_score: float | None
    val_score: float | None    # None: not validated (it lost on the training rows)
    tokens: int                # input + output tokens its scoring cost
    accepted: bool             # it became the best prompt
    best: int                  # the best candidate's index after this one
    version: int | None = None     # its catalog version, when a catalog is given
    worst: tuple = ()          # a few of its worst training rows (dicts)


@dataclass(frozen=True)
class TuneFinished:
    stopped: str
    best: int
    calls: int
    projected_calls: int
