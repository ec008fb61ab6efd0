"""The call log: every chat() and generate() on record, searchable later (opt-in).

    import workbench as wb
    wb.log.enable()                  # .workbench/log.db (or a path); WORKBENCH_LOG=1 does it too
    wb.log.search("octopus")         # full-text over prompts, answers and thinking: a DataFrame
    wb.log.df(model="hf:workbench-tiny", since=time.time() - 3600)
    wb.log.recent(5)                 # plain dicts, newest first (no pandas needed)
    with wb.log.context(experiment="prompt-b"):   # tags on every call made inside
        c.chat("...")
    %aimu log 20                     # the last 20 calls as a table in a notebook

Every surface goes through the client's turn (sync, ``workbench.aio``, magics, agents,
benchmarks), so every call is recorded: model, options, the messages sent, answer,
thinking, tool calls, tokens, timing, error, and the client / conversation / run / agent
it belongs to. Writing happens in a writer thread; a failed write is a ``CallLogWarning``,
never a failed call. Credentials are redacted before anything is written. The table is
described in ``workbench/log/store.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.log import runtime
from workbench.log.runtime import context

__all__ = ["enable", "disable", "enabled", "path", "context", "recent", "search", "df", "flush", "count"]


def enable(path: "str | Path | None" = None) -> Path:
    """Start logging every call to ``path`` (default ``.workbench/log.db``); returns the path.
    A file that cannot be used raises StoreError naming it."""
    from workbench.log.store import CallLog, default_path

    target = Path(path) if path is not None else default_path()
    current = runtime._log
    if current is not None and current.path.resolve() == target.resolve():
        return current.path
    log = CallLog(target)
    disable()
    runtime.set_active(log)
    return log.path


def disable() -> None:
    """Stop logging (what was submitted is written first)."""
    log = runtime._log
    runtime.set_active(None)
    if log is not None:
        log.close()


def enabled() -> bool:
    return runtime.active() is not None


def path() -> Path | None:
    log = runtime.active()
    return None if log is None else log.path


def _open(store: "str | Path | None"):
    from workbench.log.store import CallLog, default_path

    if store is not None:
        return CallLog(store), True
    log = runtime.active()
    if log is not None:
        return log, False
    target = default_path()
    if not target.exists():
        from workbench.errors import StoreError

        raise StoreError(f"No call log at {str(target)!r}: turn it on with wb.log.enable() (or WORKBENCH_LOG=1), "
                         "or pass store='path/to/log.db'.")
    return CallLog(target), True


def _read(method: str, *args: Any, store=None, **kwargs: Any) -> list[dict[str, Any]]:
    log, opened = _open(store)
    try:
        return getattr(log, method)(*args, **kwargs)
    finally:
        if opened:
            log.close()


def recent(n: int = 20, *, store: "str | Path | None" = None, **filters: Any) -> list[dict[str, Any]]:
    """The last ``n`` calls as dicts, newest first; filters: model, kind, conversation,
    run_id, agent, client_id, provider, since (unix seconds), errors (True: failed only)."""
    return _read("recent", n, store=store, **filters)


def search(query: str, n: int = 50, *, store: "str | Path | None" = None, raw: bool = False, **filters: Any):
    """Calls matching ``query`` (every word; ``word*`` for a prefix), best first, as a
    pandas DataFrame (the same filters as ``recent``)."""
    return _frame(_read("search", query, n, store=store, raw=raw, **filters))


def df(n: int = 1000, *, store: "str | Path | None" = None, **filters: Any):
    """The last ``n`` calls as a pandas DataFrame, newest first."""
    return _frame(recent(n, store=store, **filters))


def count(*, store: "str | Path | None" = None) -> int:
    return _read("count", store=store)


def flush() -> None:
    """Wait until every call so far is written."""
    log = runtime.active()
    if log is not None:
        log.flush()


def _frame(rows: list[dict[str, Any]]):
    try:
        import pandas as pd
    except ImportError as exc:
        from workbench.errors import MissingDependencyError

        raise MissingDependencyError("pandas", "evals") from exc
    frame = pd.DataFrame(rows)
    if "started_at" in frame:
        frame["started_at"] = pd.to_datetime(frame["started_at"], unit="s")
    return frame
