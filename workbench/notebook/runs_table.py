"""``%aimu runs``: the runs of a store as a table (HTML in a notebook, text elsewhere)."""

from __future__ import annotations

import datetime
import html
from pathlib import Path
from typing import Any

from workbench.notebook.bench_render import CELL, expected_rows


def run_rows(runs: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for run in reversed(runs):          # newest first
        when = datetime.datetime.fromtimestamp(run["created_at"]).strftime("%Y-%m-%d %H:%M")
        config = run.get("config") or {}
        expected = expected_rows(run)
        stored = f"{run['rows']}" + (f" of {expected}" if expected is not None and expected != run["rows"] else "")
        scores = ", ".join(f"{m} {v:.3f}" for m, v in (run.get("scores") or {}).items()) or "-"
        out.append([run["run_id"], run.get("name") or "", when, run["status"], ", ".join(config.get("models") or []),
                    stored, str(run["errors"]), scores])
    return out


HEAD = ["run id", "name", "started", "status", "models", "rows", "errors", "mean score"]


def show_runs(store: Any = None) -> None:
    from IPython.display import display

    from workbench.evals.benchmark import last_store
    from workbench.evals.store import list_runs

    path = Path(store) if store is not None else last_store()
    runs = list_runs(path)
    rows = run_rows(runs)
    if not rows:
        print(f"no runs in {path}")
        return
    hint = f"Open one with <code>%aimu run ID</code> or <code>wb.open_run({html.escape(repr(str(path)))}, ID)</code>."
    display(table_bundle(f"runs in {path}", f"{len(rows)} runs in <code>{html.escape(str(path))}</code>", HEAD, rows,
                         hint, "wb-runs"), raw=True)


def table_bundle(plain_title: str, html_title: str, head: list[str], rows: list[list[str]], hint_html: str,
                 css_class: str) -> dict[str, str]:
    """A text/plain + text/html bundle of one table (the runs of a store, the call log)."""
    text = "\n".join(["  ".join(head)] + ["  ".join(r) for r in rows])
    th = "".join(f'<th style="{CELL};background:#f6f8fa">{html.escape(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f'<td style="{CELL}">{html.escape(c)}</td>' for c in r) + "</tr>" for r in rows)
    return {"text/plain": f"{plain_title}:\n{text}",
            "text/html": f'<div class="{css_class}" style="font-family:system-ui,sans-serif;font-size:13px">'
                         f"<div>{html_title}</div>"
                         f'<table style="border-collapse:collapse;margin:6px 0"><tr>{th}</tr>{body}</table>'
                         f'<div style="color:#57606a">{hint_html}</div></div>'}
