"""The benchmark panel's state and messages, without a browser (pure; the clock is faked)."""

from __future__ import annotations

import json

import pytest

from workbench.evals.events import RowFinished, RunFinished, RunStarted
from workbench.notebook.bench_state import BenchLive, Tally
from workbench.evals.results import mean_ci


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def row(i: int, model: str = "a", *, error: str | None = None) -> dict:
    score = float(i % 3 == 0)
    return {"model": model, "sample_id": str(i), "epoch": 0, "prompt_version": 1, "output": f"answer {i} " * 20,
            "score": None if error else score, "passed": None if error else bool(score), "error": error,
            "feedback": None if score else "Expected '0'.", "latency_s": 0.01, "input_tokens": 9, "output_tokens": 3,
            "cache_hit": i % 10 == 0}


def test_10000_fast_rows_fit_the_message_and_byte_budget_and_every_row_is_counted():
    clock = Clock()
    live = BenchLive(clock=clock)
    live.on_event(RunStarted("r", "bench", ("a", "b"), 10_000, totals={"a": 5000, "b": 5000}))
    messages = []
    for i in range(10_000):                        # 5000 rows a second; the sender takes every 50 ms
        clock.now = i / 5000
        live.on_event(RowFinished("r", row(i // 2, "ab"[i % 2], error="Boom: x" if i % 97 == 0 else None), i + 1,
                                  10_000))
        if i % 250 == 249:
            message = live.take()
            if message:
                messages.append(message)
    live.on_event(RunFinished("r", "finished", 10_000, 10_000))
    messages.append(live.take())
    assert live.take() is None                     # nothing changed since: nothing sent
    seconds = 10_000 / 5000
    assert len(messages) / seconds <= 30
    size = sum(len(json.dumps(m, separators=(",", ":"))) for m in messages)
    assert size <= 200 * 10_000
    last = messages[-1]
    assert last["status"] == "finished"
    tallies = {}
    for m in messages:
        tallies.update(m.get("g", {}))
    assert tallies["0"][0] + tallies["1"][0] == 10_000          # done, exact
    errors = sum(1 for i in range(10_000) if i % 97 == 0)
    assert tallies["0"][1] + tallies["1"][1] == errors
    # errors are sent before plain rows when a burst is trimmed
    shown_errors = sum(1 for m in messages for r in m.get("r", []) if r[8] is not None)
    assert shown_errors >= min(errors, len(messages))


def test_the_running_mean_and_interval_match_the_final_metrics():
    values = [0.0, 1.0, 1.0, 0.5, 1.0, 0.0, 0.25]
    tally = Tally(len(values))
    for i, v in enumerate(values):
        tally.add({"sample_id": str(i), "score": v, "passed": v >= 1})
    mean, low, high = mean_ci(values)
    assert abs(tally.mean - mean) < 1e-12
    lo, hi = tally.interval()
    assert abs(lo - low) < 1e-9 and abs(hi - high) < 1e-9
    assert tally.packed()[T_PASSED] == 3


T_PASSED = 7


def test_with_epochs_the_running_interval_is_over_samples_like_the_final_metrics():
    """Three epochs of five samples, in the order a concurrent run finishes them: the live
    interval is the one BenchmarkResults reports, not a narrower one over 15 rows."""
    from workbench.evals import BenchmarkResults

    scores = {"a": [1.0, 0.0, 1.0], "b": [0.0, 0.0, 0.5], "c": [1.0, 1.0, 1.0], "d": [0.25, 0.5, 0.0],
              "e": [1.0, 0.75, 0.5]}
    rows = [{"model": "m", "sample_id": s, "epoch": e, "prompt_version": 1, "score": v, "passed": v >= 1,
             "error": None, "latency_s": 0.1} for e in range(3) for s, vs in scores.items() for v in [vs[e]]]
    tally = Tally(len(rows))
    for r in rows:
        tally.add(r)
    final = BenchmarkResults("r", rows).metrics["m"]
    lo, hi = tally.interval()
    assert tally.mean == pytest.approx(final["mean_score"])
    assert (lo, hi) == pytest.approx((final["ci_low"], final["ci_high"]))
    naive = mean_ci([r["score"] for r in rows])
    assert hi - lo > naive[2] - naive[1]


def test_an_all_failing_run_sends_its_errors_not_an_empty_table():
    live = BenchLive(clock=Clock())
    live.on_event(RunStarted("r", "bench", ("a",), 5, totals={"a": 5}))
    for i in range(5):
        live.on_event(RowFinished("r", row(i, error="ConnectionFailed: refused"), i + 1, 5))
    message = live.take()
    assert message["g"]["0"][:2] == [5, 5]
    assert [r[8] for r in message["r"]] == ["ConnectionFailed: refused"] * 5


def test_every_group_is_resent_each_second_so_a_lost_message_heals():
    clock = Clock()
    live = BenchLive(clock=clock)
    live.on_event(RunStarted("r", "bench", ("a", "b"), 4, totals={"a": 2, "b": 2}))
    live.on_event(RowFinished("r", row(1, "a"), 1, 4))
    assert set(live.take()["g"]) == {"0", "1"}           # the first message carries every group
    clock.now = 0.5
    live.on_event(RowFinished("r", row(2, "a"), 2, 4))
    assert set(live.take()["g"]) == {"0"}                # then only what changed...
    clock.now = 0.7
    assert live.take() is None                           # ...and nothing when nothing did
    clock.now = 1.2
    heartbeat = live.take()                              # a second on: every group, changed or not
    assert set(heartbeat["g"]) == {"0", "1"} and heartbeat["g"]["0"][0] == 2 and heartbeat["t"] == 1.2


def test_a_long_sample_id_is_clipped_in_live_rows():
    live = BenchLive(clock=Clock())
    live.on_event(RunStarted("r", "bench", ("a",), 1, totals={"a": 1}))
    live.on_event(RowFinished("r", {**row(1), "sample_id": "x" * 5000}, 1, 1))
    assert len(live.take()["r"][0][1]) <= 40
