"""A tuning run as static output: the candidates, the best prompt with its word diff, its
worst rows, the calls spent, and the score curve (matplotlib). What the tuning panel becomes
when the run ends, and what a ``TuneResult`` shows in a notebook."""

from __future__ import annotations

import html
import io
from typing import Any

from workbench.notebook.bench_render import BOX, CELL, _table
from workbench.notebook.tune_state import word_diff


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def candidate_rows(result: Any) -> list[list[str]]:
    rows = []
    for c in result.candidates:
        mark = "best" if c is result.best else ""
        rows.append([str(c.index), "-" if c.parent is None else str(c.parent.index), str(c.round),
                     _score(c.train_score), _score(c.val_score), str(c.tokens),
                     str(getattr(c.stored, "version", "-") if c.stored is not None else "-"), mark,
                     " ".join(c.prompt.split())[:90]])
    return rows


HEAD = ["#", "parent", "round", "train", "validation", "tokens", "catalog version", "", "prompt"]


def result_html(result: Any) -> str:
    best = result.best
    parent = best.parent.prompt if best.parent is not None else None
    diff = word_diff(parent, best.prompt) if parent is not None else html.escape(best.prompt)
    worst = sorted(best.rows, key=lambda r: (r.get("error") is None, r.get("score") or 0.0))[:5]
    worst_rows = [[str(r.get("sample_id")), _score(r.get("score")), " ".join(str(r.get("output") or "").split())[:100],
                   str(r.get("error") or r.get("feedback") or "")[:140]] for r in worst
                  if (r.get("score") or 0) < 1 or r.get("error")]
    rejected = ""
    if result.rejected:
        items = "".join(f"<li>{html.escape(r)}</li>" for r in result.rejected[:10])
        rejected = f"<details><summary>{len(result.rejected)} proposals rejected before scoring</summary><ul>{items}</ul></details>"
    store_hint = ("" if getattr(result, "catalog", None) is None else
                  "<div style=\"color:#57606a\">Candidate <code>#</code> as the catalog's best instead: "
                  "<code>result.store_as_best(#)</code></div>")
    return (f'<div class="wb-tune-static" data-status="{html.escape(result.stopped)}" style="{BOX}">'
            f"<div><b>prompt tuning</b> · stopped: <span class=\"wb-stopped\">{html.escape(result.stopped)}</span> · "
            f"{result.calls} of {result.projected_calls} projected calls · best: candidate {best.index} "
            f"(validation {_score(best.val_score)}, initial {_score(result.initial.val_score)})</div>"
            f"{_table(HEAD, candidate_rows(result), 'wb-candidates')}"
            f"<div><b>best prompt</b> (changes against its parent)</div>"
            f'<pre class="wb-best-prompt" style="white-space:pre-wrap;background:#f6f8fa;padding:6px">{diff}</pre>'
            + (f"<div><b>its worst training rows</b></div>{_table(['sample', 'score', 'output', 'problem'], worst_rows, 'wb-worst')}"
               if worst_rows else "")
            + f"{rejected}{store_hint}</div>")


def result_text(result: Any) -> str:
    lines = [f"prompt tuning stopped: {result.stopped}; {result.calls} of {result.projected_calls} projected calls"]
    for row in candidate_rows(result):
        lines.append(f"  #{row[0]} round {row[2]} train {row[3]} val {row[4]} {row[7]} {row[8][:60]!r}")
    lines.append("best prompt:\n" + result.best.prompt)
    return "\n".join(lines)


def curve_png(result: Any) -> bytes | None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    cands = result.candidates
    fig = Figure(figsize=(6, 2.4), dpi=80, layout="constrained")
    ax = fig.subplots()
    ax.scatter([c.index for c in cands], [c.train_score or 0 for c in cands], s=14, color="#8c959f", label="train")
    validated = [c for c in cands if c.val_score is not None]
    ax.scatter([c.index for c in validated], [c.val_score for c in validated], s=22, color="#0969da",
               label="validation")
    best, xs, ys = None, [], []
    for c in cands:
        if c.val_score is not None and (best is None or c.val_score > best):
            best = c.val_score
        xs.append(c.index)
        ys.append(best if best is not None else 0)
    ax.step(xs, ys, where="post", color="#1a7f37", label="best so far")
    ax.set_xlabel("candidate")
    ax.set_ylabel("score")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="lower right", fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def display_result(result: Any) -> None:
    """A TuneResult in a notebook: the static panel and its score curve."""
    from IPython.display import display

    display({"text/html": result_html(result), "text/plain": result_text(result)}, raw=True)
    plot = curve_png(result)
    if plot is not None:
        display({"image/png": plot, "text/plain": "<score curve>"}, raw=True)
