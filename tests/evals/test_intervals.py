"""Intervals that mean what they say: a pass rate gets a Wilson interval (sensible at 0/n and
n/n), and a run with several epochs gets its score interval over samples (a sample's epochs
are one cluster), so repeating epochs never narrows the interval by itself."""

from __future__ import annotations

import math

import pytest

from workbench.evals import BenchmarkResults
from workbench.evals.results import clustered_mean_ci, mean_ci, wilson


def row(model, sample, epoch, score):
    return {"model": model, "sample_id": sample, "epoch": epoch, "prompt_version": 1, "score": score,
            "passed": score >= 1.0, "error": None, "latency_s": 0.1}


def test_wilson_at_the_edges_and_in_the_middle():
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(10, 10)
    assert high == 1.0 and low == pytest.approx(0.7225, abs=1e-4)
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert wilson(0, 0) == (None, None)


def test_epochs_are_clustered_by_sample():
    # 4 samples, each scored the same in 3 epochs: 12 rows but 4 pieces of evidence
    scores = {"a": 1.0, "b": 0.0, "c": 1.0, "d": 0.5}
    rows = [row("m", s, e, v) for s, v in scores.items() for e in range(3)]
    m = BenchmarkResults("r", rows).metrics["m"]
    mean, low, high = mean_ci(list(scores.values()))
    assert m["mean_score"] == pytest.approx(mean) and m["samples"] == 4 and m["scored"] == 12
    assert (m["ci_low"], m["ci_high"]) == pytest.approx((low, high))
    naive = mean_ci([r["score"] for r in rows])
    assert m["ci_high"] - m["ci_low"] > naive[2] - naive[1]          # wider than 12 "independent" rows
    assert m["pass_rate"] == pytest.approx(6 / 12) and 0 < m["pass_low"] < 0.5 < m["pass_high"] < 1


def test_one_row_per_sample_keeps_the_plain_t_interval():
    values = [0.2, 0.4, 0.9, 1.0]
    assert clustered_mean_ci({i: [v] for i, v in enumerate(values)}) == mean_ci(values)


def test_compare_clusters_a_samples_epochs():
    rows = []
    for s, (a, b) in {"x": (0.0, 1.0), "y": (0.5, 0.5), "z": (0.0, 0.5)}.items():
        rows += [row("A", s, e, a) for e in range(4)] + [row("B", s, e, b) for e in range(4)]
    out = BenchmarkResults("r", rows).compare("A", "B")
    mean, low, high = mean_ci([1.0, 0.0, 0.5])
    assert out["n"] == 12 and out["mean_diff"] == pytest.approx(mean)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((low, high)) and not math.isnan(out["ci_low"])
