"""``%aimu log [N] [--search WORDS]``: the last calls of the call log as a table."""

from __future__ import annotations

import datetime
import html
from typing import Any

from workbench.notebook.runs_table import table_bundle

HEAD = ["#", "when", "kind", "model", "prompt", "answer", "tokens in/out", "seconds", "tags / error"]


def _clip(text: Any, limit: int = 80) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def log_rows(calls: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for call in calls:
        when = datetime.datetime.fromtimestamp(call["started_at"]).strftime("%m-%d %H:%M:%S")
        tokens = f"{call.get('input_tokens') or '-'}/{call.get('output_tokens') or '-'}"
        labels = {k: call.get(k) for k in ("conversation", "run_id", "agent") if call.get(k)}
        labels.update(call.get("tags") or {})
        last = call.get("error") or ", ".join(f"{k}={v}" for k, v in labels.items())
        out.append([str(call["id"]), when, call.get("kind") or "", call.get("model") or "", _clip(call.get("prompt")),
                    _clip(call.get("answer")), tokens, f"{call.get('duration_s') or 0:.2f}", _clip(last, 60)])
    return out


def show_log(n: int = 20, search: str | None = None) -> None:
    from IPython.display import display

    import workbench.log as log

    calls = log._read("search", search, n) if search else log.recent(n)
    where = log.path() or "the call log"
    if not calls:
        print(f"no calls{' matching ' + repr(search) if search else ''} in {where}")
        return
    what = f"{len(calls)} call{'' if len(calls) == 1 else 's'}" + (f" matching {search!r}" if search else ", newest first")
    hint = ("Everything about a call: <code>wb.log.recent(N)</code>; search: <code>%aimu log --search WORDS</code> "
            "or <code>wb.log.search(...)</code>.")
    display(table_bundle(f"{what} in {where}", f"{html.escape(what)} in <code>{html.escape(str(where))}</code>",
                         HEAD, log_rows(calls), hint, "wb-log"), raw=True)
