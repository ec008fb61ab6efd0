"""The run store: one SQLite file that outlives the kernel.

Tables (documented in README):

- ``runs``: ``run_id`` (primary key), ``name``, ``status`` (running | finished |
  interrupted | failed), ``config`` (JSON: models, prompt versions, epochs, rows, scorer),
  ``created_at``, ``finished_at``;
- ``run_prompts``: the prompt text of each (run, prompt version);
- ``rows``: one row per (run, model, sample, epoch, prompt version), unique: ``output``,
  ``thinking``, ``score``, ``passed``, ``feedback``, ``error``, ``latency_s``,
  ``input_tokens``, ``output_tokens``, ``cost``, ``cache_hit``, ``created_at``, and the
  rendered ``prompt`` (so a stored run shows what each row was asked, from SQLite alone).

Rows are written as they finish by one writer thread (WAL, a busy timeout), so a killed
kernel loses at most the rows in flight, and two processes can share one file. A row is
never duplicated; a retried row replaces an *error* row with the same key, never a result.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable

from workbench.errors import RunStoreError
from workbench.prompts.catalog import connect
from workbench.sqlite_writer import BatchWriter

ROW_FIELDS = ("run_id", "model", "sample_id", "epoch", "prompt_version", "prompt", "output", "thinking", "score", "passed",
              "feedback", "error", "latency_s", "input_tokens", "output_tokens", "cost", "cache_hit", "created_at")
KEY_FIELDS = ("model", "sample_id", "epoch", "prompt_version")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, name TEXT, status TEXT NOT NULL, config TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL, finished_at REAL
);
CREATE TABLE IF NOT EXISTS run_prompts (
    run_id TEXT NOT NULL, prompt_version INTEGER NOT NULL, prompt TEXT NOT NULL,
    PRIMARY KEY (run_id, prompt_version)
);
CREATE TABLE IF NOT EXISTS rows (
    run_id TEXT NOT NULL, model TEXT NOT NULL, sample_id TEXT NOT NULL, epoch INTEGER NOT NULL,
    prompt_version INTEGER NOT NULL, prompt TEXT, output TEXT, thinking TEXT, score REAL, passed INTEGER, feedback TEXT,
    error TEXT, latency_s REAL, input_tokens INTEGER, output_tokens INTEGER, cost REAL,
    cache_hit INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
    UNIQUE (run_id, model, sample_id, epoch, prompt_version)
);
"""

_INSERT = (f"INSERT INTO rows ({', '.join(ROW_FIELDS)}) VALUES ({', '.join('?' * len(ROW_FIELDS))}) "
           "ON CONFLICT (run_id, model, sample_id, epoch, prompt_version) DO UPDATE SET "
           + ", ".join(f"{f}=excluded.{f}" for f in ROW_FIELDS[5:]) + " WHERE rows.error IS NOT NULL")


class RunStore:
    """Open (or create) a run store; ``write_row`` is non-blocking, ``flush`` waits."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._conn = connect(self.path)
        self._conn.executescript(SCHEMA)
        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(rows)")}
        if "prompt" not in columns:        # a store written before rows kept their prompt
            try:
                self._conn.execute("ALTER TABLE rows ADD COLUMN prompt TEXT")
            except sqlite3.OperationalError as exc:   # another process added it first
                if "duplicate column" not in str(exc):
                    raise
        self.rows_written = 0
        self._writer = BatchWriter(lambda: connect(self.path), self._write_batch, name=f"RunStore:{self.path.name}")

    @property
    def _error(self) -> BaseException | None:
        return self._writer.error

    # -- runs -------------------------------------------------------------------------------
    def start_run(self, run_id: str, name: str, config: dict[str, Any], prompts: dict[int, str]) -> None:
        self.flush()
        with self._transaction() as conn:
            exists = conn.execute("SELECT config FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if exists:     # resumed: the config keeps what every part of the run used
                merged = merge_config(json.loads(exists[0] or "{}"), config)
                conn.execute("UPDATE runs SET status='running', finished_at=NULL, config=? WHERE run_id=?",
                             (json.dumps(merged, default=str), run_id))
            else:
                conn.execute("INSERT INTO runs (run_id, name, status, config, created_at) VALUES (?,?,?,?,?)",
                             (run_id, name, "running", json.dumps(config, default=str), time.time()))
            conn.executemany("INSERT OR IGNORE INTO run_prompts (run_id, prompt_version, prompt) VALUES (?,?,?)",
                             [(run_id, v, text) for v, text in prompts.items()])

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        """Record the run's end; the status is written even when the last rows failed to."""
        try:
            self.flush()
        finally:
            self._conn.execute("UPDATE runs SET status=?, finished_at=? WHERE run_id=?",
                               (status, time.time(), run_id))

    def has_run(self, run_id: str) -> bool:
        return self._conn.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone() is not None

    def run_info(self, run_id: str) -> dict[str, Any]:
        row = self._conn.execute("SELECT run_id, name, status, config, created_at, finished_at FROM runs "
                                 "WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            known = ", ".join(r["run_id"] for r in self.list_runs()[:10]) or "(none)"
            raise RunStoreError(f"No run {run_id!r} in {self.path}. Runs there: {known}.")
        return {"run_id": row[0], "name": row[1], "status": row[2], "config": json.loads(row[3] or "{}"),
                "created_at": row[4], "finished_at": row[5]}

    def prompts(self, run_id: str) -> dict[int, str]:
        return {v: t for v, t in self._conn.execute(
            "SELECT prompt_version, prompt FROM run_prompts WHERE run_id=? ORDER BY prompt_version", (run_id,))}

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first: id, name, status, times, config, stored rows and errors, and
        the mean score per model (rows without an error)."""
        self.flush()
        scores: dict[str, dict[str, float]] = {}
        for run_id, model, mean in self._conn.execute(
                "SELECT run_id, model, AVG(score) FROM rows WHERE error IS NULL AND score IS NOT NULL "
                "GROUP BY run_id, model"):
            scores.setdefault(run_id, {})[model] = mean
        out = []
        for run_id, name, status, config, created, finished, rows, errors in self._conn.execute(
                "SELECT r.run_id, r.name, r.status, r.config, r.created_at, r.finished_at, COUNT(x.run_id), "
                "SUM(CASE WHEN x.error IS NOT NULL THEN 1 ELSE 0 END) FROM runs r LEFT JOIN rows x "
                "ON x.run_id = r.run_id GROUP BY r.run_id ORDER BY r.created_at"):
            out.append({"run_id": run_id, "name": name, "status": status, "rows": rows, "errors": errors or 0,
                        "created_at": created, "finished_at": finished, "config": json.loads(config or "{}"),
                        "scores": scores.get(run_id, {})})
        return out

    # -- rows -------------------------------------------------------------------------------
    def write_row(self, row: dict[str, Any]) -> None:
        if self._error is not None:
            raise RunStoreError(f"The run store {self.path} stopped writing: {self._error}") from self._error
        self._writer.put(tuple(storable(row).get(f) for f in ROW_FIELDS))

    def flush(self, timeout: float = 120.0) -> None:
        """Wait until every row handed to ``write_row`` is committed."""
        if not self._writer.flush(timeout):
            raise RunStoreError(f"The run store {self.path} did not finish writing within {timeout:.0f} s "
                                "(is another process holding a write lock on it?).")
        if self._error is not None:
            raise RunStoreError(f"The run store {self.path} failed to write: {self._error}") from self._error

    def rows(self, run_id: str) -> list[dict[str, Any]]:
        self.flush()
        cur = self._conn.execute(f"SELECT {', '.join(ROW_FIELDS)} FROM rows WHERE run_id=? "
                                 "ORDER BY model, prompt_version, epoch, sample_id", (run_id,))
        out = []
        for values in cur:
            row = dict(zip(ROW_FIELDS, values))
            row["passed"] = None if row["passed"] is None else bool(row["passed"])
            row["cache_hit"] = bool(row["cache_hit"])
            out.append(row)
        return out

    def done_keys(self, run_id: str) -> set[tuple]:
        """The keys (model, sample_id, epoch, prompt_version) with a result (not an error)."""
        self.flush()
        return {tuple(r) for r in self._conn.execute(
            "SELECT model, sample_id, epoch, prompt_version FROM rows WHERE run_id=? AND error IS NULL", (run_id,))}

    def close(self) -> None:
        self.flush()
        self._writer.close()
        self._conn.close()

    # -- the writer thread (workbench.sqlite_writer) ------------------------------------------
    def _write_batch(self, conn, batch: list[tuple]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_INSERT, batch)
            conn.execute("COMMIT")
            self.rows_written += len(batch)
        except Exception:
            try:
                conn.execute("ROLLBACK")
            except Exception:
                pass
            self._write_one_by_one(conn, batch)   # one bad row must not take the burst with it

    def _write_one_by_one(self, conn, batch: list[tuple]) -> None:
        failed: Exception | None = None
        for values in batch:
            try:
                conn.execute(_INSERT, values)
                self.rows_written += 1
            except Exception as exc:
                # the row's key is kept with the reason as its error, so resume sends it again
                fallback = dict(zip(ROW_FIELDS, values))
                keep = {k: fallback[k] for k in ("run_id", "model", "sample_id", "epoch", "prompt_version")}
                keep.update(error=f"RunStoreError: this row could not be stored ({exc})", created_at=time.time(),
                            cache_hit=False)
                try:
                    conn.execute(_INSERT, tuple(keep.get(f) for f in ROW_FIELDS))
                except Exception as final:   # the file itself is failing: the run is told
                    failed = final
        if failed is not None:
            raise failed                     # after the rest of the burst was tried

    @contextlib.contextmanager
    def _transaction(self):
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")


def storable(row: dict[str, Any]) -> dict[str, Any]:
    """The row with SQLite-friendly values: text fields as str, numbers as numbers."""
    out = dict(row)
    for key in ("run_id", "model", "sample_id", "prompt", "output", "thinking", "feedback", "error"):
        if out.get(key) is not None and not isinstance(out[key], str):
            out[key] = str(out[key])
    for key in ("score", "latency_s", "cost"):
        if out.get(key) is not None:
            try:
                out[key] = float(out[key])
            except (TypeError, ValueError):
                out[key] = None
    for key in ("input_tokens", "output_tokens", "epoch", "prompt_version"):
        if out.get(key) is not None and not isinstance(out[key], int):
            try:
                out[key] = int(out[key])
            except (TypeError, ValueError):
                out[key] = None
    out["passed"] = None if out.get("passed") is None else bool(out["passed"])
    out["cache_hit"] = bool(out.get("cache_hit"))
    out["created_at"] = out.get("created_at") or time.time()
    return out


def merge_config(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A resumed run's config: models and prompt versions of both parts (in order), the most
    epochs, model strings of both; the rest as the latest part ran."""
    merged = {**old, **new}
    for key in ("models", "prompt_versions"):
        merged[key] = list(dict.fromkeys([*(old.get(key) or []), *(new.get(key) or [])]))
    merged["epochs"] = max(int(old.get("epochs") or 1), int(new.get("epochs") or 1))
    strings = dict(old.get("model_strings") or {})
    strings.update({k: v for k, v in (new.get("model_strings") or {}).items() if v or k not in strings})
    merged["model_strings"] = strings
    return merged


def default_store_path() -> Path:
    """Where runs go without ``store=``: $WORKBENCH_RUN_STORE, else ``.workbench/runs.db`` under
    the working directory (next to ``.workbench/checkpoints/``)."""
    return Path(os.environ.get("WORKBENCH_RUN_STORE") or Path(".workbench") / "runs.db")


def open_store(store: "str | Path | RunStore", *, must_exist: bool = False) -> RunStore:
    if isinstance(store, RunStore):
        return store
    if must_exist and not Path(store).exists():
        raise RunStoreError(f"No run store at {str(store)!r}; check the path (a run writes it with store=...).")
    try:
        Path(store).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunStoreError(f"Cannot create the folder of the run store {str(store)!r} ({exc.strerror}); "
                            "pass store= a path in a writable folder, or set WORKBENCH_RUN_STORE.") from exc
    return RunStore(store)


def list_runs(store: "str | Path | RunStore") -> list[dict[str, Any]]:
    """Every run in a store, finished or not, with its row and error counts."""
    opened = open_store(store, must_exist=True)
    try:
        return opened.list_runs()
    finally:
        if opened is not store:
            opened.close()


def keys_of(rows: Iterable[dict[str, Any]]) -> list[tuple]:
    return [tuple(r[k] for k in KEY_FIELDS) for r in rows]
