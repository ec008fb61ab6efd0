"""BenchmarkResults: every row of a run, and the figures a comparison needs.

``rows`` is a list of plain dicts (one per model x sample x epoch x prompt version; the
fields are the run store's). ``metrics`` gives, per model (and prompt version when there
are several): rows, scored, errors, the mean score with a 95% interval (normal
approximation, t for small n), pass rate, tokens and latency p50/p95. ``compare(a, b)``
pairs the rows of two models on the same samples and gives the mean difference with its
interval. ``to_pandas()``, ``to_csv()``, ``to_json()``, ``to_parquet()`` export.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

from workbench.errors import DataError

# two-sided 95% t quantiles (df = n - 1); beyond the table, a Cornish-Fisher expansion
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
        20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048,
        29: 2.045, 30: 2.042}


def t95(df: int) -> float:
    if df <= 0:
        return float("nan")
    if df in _T95:
        return _T95[df]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def mean_ci(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """(mean, low, high) of a 95% interval; None when there is nothing to average."""
    if not values:
        return None, None, None
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None, None
    half = t95(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def clustered_mean_ci(clusters: dict[Any, list[float]]) -> tuple[float | None, float | None, float | None]:
    """(mean, low, high) when rows come in clusters (a sample's epochs): the mean of every
    value, its 95% interval over the cluster means, so repeated epochs of one sample never
    pass for independent evidence. One value per cluster: the same as ``mean_ci``."""
    values = [v for vs in clusters.values() for v in vs]
    if not values:
        return None, None, None
    means = [statistics.fmean(vs) for vs in clusters.values() if vs]
    if len(means) == len(values):
        return mean_ci(values)
    mean = statistics.fmean(values)
    if len(means) < 2:
        return mean, None, None
    half = t95(len(means) - 1) * statistics.stdev(means) / math.sqrt(len(means))
    return mean, mean - half, mean + half


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    """The 95% Wilson score interval of a pass rate (sensible at 0/n and n/n, unlike mean +- 2 SE)."""
    if n <= 0:
        return None, None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def _by_sample(rows: list[dict[str, Any]], value) -> dict[Any, list[float]]:
    clusters: dict[Any, list[float]] = {}
    for r in rows:
        clusters.setdefault(r.get("sample_id"), []).append(value(r))
    return clusters


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def group_of(model: str, version: int, several_versions: bool) -> str:
    """The name a row's figures are grouped under: the model, with its prompt version when a
    run has several (the results' metrics, the panels and the plots all group this way)."""
    return f"{model} v{version}" if several_versions else model


class BenchmarkResults:
    def __init__(self, run_id: str, rows: list[dict[str, Any]], *, store_path: Path | None = None,
                 info: dict[str, Any] | None = None, sent: int | None = None):
        self.run_id = run_id
        self.rows = rows
        self.store_path = store_path
        self.info = info or {}
        self.sent = sent          # rows this run ran (a resume runs only what was missing)
        self.limits: dict[str, dict[str, int]] = {}    # per model: final concurrency limit, back-offs
        self._several: bool | None = None

    @classmethod
    def load(cls, store: Any, run_id: str) -> "BenchmarkResults":
        """The results of a stored run (finished or not), e.g. after a kernel restart."""
        from workbench.evals.store import open_store

        opened = open_store(store, must_exist=True)
        try:
            info = opened.run_info(run_id)
            return cls(run_id, opened.rows(run_id), store_path=opened.path, info=info)
        finally:
            if opened is not store:
                opened.close()

    @property
    def status(self) -> str:
        return self.info.get("status", "")

    # -- figures ----------------------------------------------------------------------------
    def group(self, row: dict[str, Any]) -> str:
        """The group a row's figures count under (``group_of``)."""
        if self._several is None:
            self._several = len({r["prompt_version"] for r in self.rows}) > 1
        return group_of(row["model"], row["prompt_version"], self._several)

    def _groups(self) -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in self.rows:
            groups.setdefault(self.group(r), []).append(r)
        return groups

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        out = {}
        for key, rows in self._groups().items():
            scored = [r for r in rows if r.get("error") is None and r.get("score") is not None]
            # the interval is over samples: a sample's epochs are one cluster, not n rows
            mean, low, high = clustered_mean_ci(_by_sample(scored, lambda r: float(r["score"])))
            latency = [r["latency_s"] for r in rows if r.get("latency_s") is not None]
            passed = sum(bool(r.get("passed")) for r in scored)
            pass_low, pass_high = wilson(passed, len(scored))
            out[key] = {
                "rows": len(rows), "scored": len(scored), "errors": sum(r.get("error") is not None for r in rows),
                "samples": len({r.get("sample_id") for r in scored}),
                "mean_score": mean, "ci_low": low, "ci_high": high,
                "pass_rate": (passed / len(scored)) if scored else None, "pass_low": pass_low, "pass_high": pass_high,
                "input_tokens": sum(r.get("input_tokens") or 0 for r in rows),
                "output_tokens": sum(r.get("output_tokens") or 0 for r in rows),
                "latency_p50_s": _percentile(latency, 0.5), "latency_p95_s": _percentile(latency, 0.95),
            }
        return out

    def compare(self, a: str, b: str) -> dict[str, Any]:
        """Model ``b`` minus model ``a`` over the samples both scored (paired by sample,
        epoch and prompt version): mean difference, its 95% interval over samples (a sample's
        epochs are one cluster), and n (pairs)."""
        models = {r["model"] for r in self.rows}
        for name in (a, b):
            if name not in models:
                raise DataError(f"No model {name!r} in this run; models: {', '.join(sorted(models))}.")
        def scores(model: str) -> dict[tuple, float]:
            return {(r["sample_id"], r["epoch"], r["prompt_version"]): float(r["score"]) for r in self.rows
                    if r["model"] == model and r.get("error") is None and r.get("score") is not None}
        left, right = scores(a), scores(b)
        paired = sorted(left.keys() & right.keys())
        diffs = [right[k] - left[k] for k in paired]
        clusters: dict[Any, list[float]] = {}
        for k, d in zip(paired, diffs):     # a sample's epochs and versions: one cluster
            clusters.setdefault(k[0], []).append(d)
        mean, low, high = clustered_mean_ci(clusters)
        return {"a": a, "b": b, "n": len(diffs), "mean_diff": mean, "ci_low": low, "ci_high": high,
                "b_better": None if mean is None else (low is not None and low > 0)}

    # -- export -------------------------------------------------------------------------------
    def to_pandas(self):
        try:
            import pandas as pd
        except ImportError as exc:
            from workbench.errors import MissingDependencyError

            raise MissingDependencyError("pandas", "evals") from exc
        return pd.DataFrame(self.rows)

    def to_csv(self, path: str | Path) -> Path:
        import csv

        from workbench.evals.store import ROW_FIELDS

        target = Path(path)
        with target.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(ROW_FIELDS))
            writer.writeheader()
            writer.writerows(self.rows)
        return target

    def to_json(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(json.dumps({"run_id": self.run_id, "info": self.info, "rows": self.rows},
                                     ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        return target

    def to_parquet(self, path: str | Path) -> Path:
        """Parquet through pandas; needs pyarrow (pip install pyarrow), which no extra pins."""
        self.to_pandas().to_parquet(path)
        return Path(path)

    def _ipython_display_(self) -> None:
        """In a notebook: the run's panel as static output (summary, matrix, errors, plots);
        one line when the run's own panel already shows it above."""
        if getattr(self, "displayed", False):
            from IPython.display import display

            display({"text/plain": repr(self)}, raw=True)
            return
        from workbench.notebook.bench_render import display_results

        display_results(self)

    def __repr__(self) -> str:
        parts = []
        for key, m in self.metrics.items():
            score = "-" if m["mean_score"] is None else f"{m['mean_score']:.3f}"
            parts.append(f"{key}: {score} ({m['scored']}/{m['rows']} scored, {m['errors']} errors)")
        return f"<BenchmarkResults {self.run_id} {self.status}: " + "; ".join(parts) + ">"


def open_run(store: Any = None, run_id: str | None = None) -> BenchmarkResults:
    """A stored run's results, from SQLite alone (after a kernel restart): ``run_id`` may be a
    unique prefix of the id; without one, the newest run. ``store`` defaults to the default
    store (``.workbench/runs.db``). In a notebook the result draws the run's panel."""
    from workbench.errors import RunStoreError
    from workbench.evals.store import default_store_path, list_runs

    path = store if store is not None else default_store_path()
    runs = list_runs(path)
    if not runs:
        raise RunStoreError(f"The run store {str(path)!r} has no runs yet.")
    if run_id is None:
        chosen = runs[-1]["run_id"]
    else:
        exact = [r["run_id"] for r in runs if r["run_id"] == run_id]
        matches = exact or [r["run_id"] for r in runs if r["run_id"].startswith(run_id) or
                            r["run_id"].split("-")[-1].startswith(run_id)]
        if not matches:
            known = ", ".join(r["run_id"] for r in runs[-10:])
            raise RunStoreError(f"No run {run_id!r} in {path}. Newest runs there: {known}.")
        if len(matches) > 1:
            raise DataError(f"{run_id!r} matches {len(matches)} runs ({', '.join(matches[:5])}); give more of the id.")
        chosen = matches[0]
    return BenchmarkResults.load(path, chosen)
