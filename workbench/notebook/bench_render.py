"""A run as static output: the summary table, the samples x models matrix, the errors, and
the plots (matplotlib). What the benchmark panel becomes when its run ends, what
``%aimu run ID`` and ``wb.open_run`` draw from SQLite alone, and what a saved notebook,
GitHub's viewer and nbconvert show without a kernel.

Every model- or user-written text is HTML-escaped; styles are inline because a static
output has no stylesheet.
"""

from __future__ import annotations

import html
import io
from typing import Any

MAX_SAMPLES = 100       # matrix rows shown; the rest are a DataFrame away
DETAIL_CHARS = 800      # characters of a prompt / output / thinking in a matrix cell

BOX = ("font-family:system-ui,sans-serif;font-size:13px;border:1px solid #d0d7de;border-radius:6px;"
       "padding:8px 12px;margin:4px 0")
CELL = "border:1px solid #d0d7de;padding:2px 6px;text-align:left;vertical-align:top"
COLOURS = {"pass": "#dafbe1", "fail": "#ffebe9", "error": "#fff1c2", "none": "#f6f8fa"}


def expected_rows(info: dict[str, Any]) -> int | None:
    """How many rows a complete run has (rows x models x prompt versions x epochs)."""
    config = info.get("config") or {}
    try:
        return (int(config["rows"]) * len(config["models"]) * len(config.get("prompt_versions") or [1])
                * int(config.get("epochs") or 1))
    except (KeyError, TypeError, ValueError):
        return None


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _clip(text: Any, limit: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


def _esc(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def outcome(row: dict[str, Any] | None) -> str:
    if row is None:
        return "none"
    if row.get("error") is not None:
        return "error"
    return "pass" if row.get("passed") else "fail"


# -- the parts ---------------------------------------------------------------------------------
def summary_rows(results: Any) -> list[list[str]]:
    out = []
    for group, m in results.metrics.items():
        score = _fmt(m["mean_score"])
        if m["ci_low"] is not None:
            score += f" [{m['ci_low']:.3f}, {m['ci_high']:.3f}]"
        cost = sum(r.get("cost") or 0 for r in results.rows if results.group(r) == group)
        cached = sum(bool(r.get("cache_hit")) for r in results.rows if results.group(r) == group)
        latency = f"{_fmt(m['latency_p50_s'], 2)} / {_fmt(m['latency_p95_s'], 2)}"
        out.append([group, str(m["rows"]), str(m["errors"]), str(cached), score,
                    "-" if m["pass_rate"] is None else f"{m['pass_rate']:.1%}",
                    f"{m['input_tokens']} / {m['output_tokens']}", f"{cost:.4f}" if cost else "-", latency])
    return out


SUMMARY_HEAD = ["model", "rows", "errors", "cached", "mean score [95% CI]", "pass rate", "tokens in / out",
                "cost", "latency p50 / p95 (s)"]


def _table(head: list[str], rows: list[list[str]], cls: str) -> str:
    th = "".join(f'<th style="{CELL};background:#f6f8fa">{_esc(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f'<td style="{CELL}">{_esc(c)}</td>' for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}" style="border-collapse:collapse;margin:6px 0">{th and "<tr>" + th + "</tr>"}{body}</table>'


def _detail(row: dict[str, Any]) -> str:
    parts = []
    for label, key in (("prompt", "prompt"), ("output", "output"), ("thinking", "thinking"),
                       ("feedback", "feedback"), ("error", "error")):
        if row.get(key):
            parts.append(f"<div><b>{label}</b><pre style=\"white-space:pre-wrap;margin:2px 0\">"
                         f"{_esc(_clip(row[key], DETAIL_CHARS))}</pre></div>")
    score = "" if row.get("score") is None else f"score {row['score']:.3f} · "
    latency = "" if row.get("latency_s") is None else f"{row['latency_s']:.2f} s"
    parts.append(f"<div style=\"color:#57606a\">{score}{latency}{' · cached' if row.get('cache_hit') else ''}</div>")
    return "".join(parts)


def matrix_html(results: Any, max_samples: int = MAX_SAMPLES) -> str:
    """Samples x groups; each cell the output, coloured pass / fail / error, opening to the
    row's prompt, output, thinking, feedback and error. Samples where the models disagree
    come first, then those every model failed, then the rest."""
    groups = list(results.metrics)
    cells: dict[tuple, dict[str, dict]] = {}
    for row in results.rows:
        cells.setdefault((row["sample_id"], row["epoch"]), {})[results.group(row)] = row
    epochs = len({k[1] for k in cells}) > 1

    def order(key: tuple) -> tuple:
        kinds = {outcome(cells[key].get(g)) for g in groups}
        rank = 0 if len(kinds) > 1 else 2 if kinds == {"pass"} else 1
        sid = key[0]
        return (rank, 0 if str(sid).isdecimal() else 1, int(sid) if str(sid).isdecimal() else 0, str(sid), key[1])

    keys = sorted(cells, key=order)
    head = "".join(f'<th style="{CELL};background:#f6f8fa">{_esc(h)}</th>'
                   for h in ["sample" + (" / epoch" if epochs else "")] + groups)
    body = []
    for key in keys[:max_samples]:
        tds = [f'<td style="{CELL}"><code>{_esc(key[0])}{f" / {key[1]}" if epochs else ""}</code></td>']
        for g in groups:
            row = cells[key].get(g)
            kind = outcome(row)
            if row is None:
                tds.append(f'<td class="wb-cell wb-none" style="{CELL};background:{COLOURS["none"]}">missing</td>')
                continue
            shown = row.get("error") if kind == "error" else row.get("output")
            tds.append(f'<td class="wb-cell wb-{kind}" style="{CELL};background:{COLOURS[kind]};max-width:28em">'
                       f'<details><summary>{_esc(_clip(" ".join(str(shown or "").split()), 80))}</summary>'
                       f'{_detail(row)}</details></td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    more = ""
    if len(keys) > max_samples:
        more = (f'<div style="color:#57606a">{max_samples} of {len(keys)} samples shown (disagreements first, then failures); '
                "every row: <code>results.to_pandas()</code></div>")
    return (f'<div style="max-height:36em;overflow:auto;margin:6px 0"><table class="wb-matrix" '
            f'style="border-collapse:collapse"><tr>{head}</tr>' + "".join(body) + "</table></div>" + more)


def errors_html(results: Any, limit: int = 10) -> str:
    errors = [r for r in results.rows if r.get("error") is not None]
    if not errors:
        return ""
    counts: dict[str, int] = {}
    for r in errors:
        counts[r["error"].split(" | ")[0]] = counts.get(r["error"].split(" | ")[0], 0) + 1
    items = "".join(f"<li><code>{_esc(_clip(text, 300))}</code> × {n}</li>"
                    for text, n in sorted(counts.items(), key=lambda kv: -kv[1])[:limit])
    all_failed = len(errors) == len(results.rows)
    title = (f"Every row failed ({len(errors)})" if all_failed else f"{len(errors)} rows failed")
    return (f'<details class="wb-errors" {"open" if all_failed else ""}><summary style="color:#cf222e">'
            f"<b>{title}</b>: the errors</summary><ul>{items}</ul></details>")


def status_line(results: Any) -> tuple[str, bool]:
    """(text, complete) for a run: its status, and how many of its rows are stored."""
    info = results.info or {}
    expected = expected_rows(info)
    stored = len(results.rows)
    complete = (expected is None or stored >= expected) and info.get("status") == "finished"
    text = f"{info.get('status') or 'unknown'}"
    if expected is not None:
        text += f" · {stored} of {expected} rows stored"
    return text, complete


def run_html(results: Any, *, resume_code: str | None = None, plot: bytes | None = None,
             max_samples: int = MAX_SAMPLES) -> str:
    info = results.info or {}
    text, complete = status_line(results)
    where = f" · {_esc(results.store_path)}" if results.store_path else ""
    head = (f'<div><b>{_esc(info.get("name") or "benchmark")}</b> <code>{_esc(results.run_id)}</code> · '
            f'<span class="wb-run-status">{_esc(text)}</span>{where}</div>')
    note = ""
    if not complete:
        note = ('<div class="wb-incomplete" style="color:#9a6700;margin:4px 0">Incomplete: the missing rows '
                "are sent again (stored ones are kept) by"
                + (f'<pre style="background:#f6f8fa;padding:6px">{_esc(resume_code)}</pre>' if resume_code
                   else " the same <code>bench.run(...)</code> with <code>resume=</code> this run id.") + "</div>")
    image = ""
    if plot is not None:
        import base64

        image = (f'<img class="wb-plots" alt="score per model and latency" style="max-width:100%" '
                 f'src="data:image/png;base64,{base64.b64encode(plot).decode()}">')
    return (f'<div class="wb-bench-static" data-status="{_esc(info.get("status") or "")}" style="{BOX}">'
            f"{head}{_table(SUMMARY_HEAD, summary_rows(results), 'wb-summary')}{note}"
            f"{errors_html(results)}{image}{matrix_html(results, max_samples)}</div>")


def run_text(results: Any, *, resume_code: str | None = None) -> str:
    text, complete = status_line(results)
    lines = [f"{(results.info or {}).get('name') or 'benchmark'} {results.run_id}: {text}"]
    for row in summary_rows(results):
        lines.append(f"  {row[0]}: score {row[4]}, pass rate {row[5]}, {row[1]} rows, {row[2]} errors, "
                     f"{row[3]} cached, tokens {row[6]}, latency p50/p95 {row[8]} s")
    errors = [r for r in results.rows if r.get("error") is not None]
    if errors:
        lines.append(f"  first error: {_clip(errors[0]['error'], 200)}")
    if not complete and resume_code:
        lines += ["  incomplete; resume with:", *("    " + line for line in resume_code.splitlines())]
    return "\n".join(lines)


# -- plots ---------------------------------------------------------------------------------------
def plot_png(results: Any) -> bytes | None:
    """Score per model with its 95% interval, and the latency distribution, as one PNG
    (None without rows or without matplotlib)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    metrics = results.metrics
    if not metrics:
        return None
    groups = list(metrics)
    fig = Figure(figsize=(8, 1.2 + 0.45 * len(groups)), dpi=80, layout="constrained")
    score_ax, latency_ax = fig.subplots(1, 2)
    means = [metrics[g]["mean_score"] for g in groups]
    ys = list(range(len(groups)))
    shown = [m if m is not None else 0.0 for m in means]
    errs = [[(m - metrics[g]["ci_low"]) if metrics[g]["ci_low"] is not None else 0 for g, m in zip(groups, shown)],
            [(metrics[g]["ci_high"] - m) if metrics[g]["ci_high"] is not None else 0 for g, m in zip(groups, shown)]]
    score_ax.barh(ys, shown, xerr=errs, color="#54aeff", capsize=3)
    score_ax.set_yticks(ys, groups, parse_math=False)
    score_ax.invert_yaxis()
    score_ax.set_xlabel("mean score (95% CI)")
    score_ax.set_xlim(0, max(1.0, max(shown) * 1.1 if shown else 1.0))
    latencies = [[r["latency_s"] for r in results.rows if results.group(r) == g and r.get("latency_s") is not None]
                 for g in groups]
    if any(latencies):
        latency_ax.boxplot([l or [0.0] for l in latencies], orientation="horizontal", tick_labels=groups,
                           showfliers=False)
        latency_ax.invert_yaxis()
        latency_ax.set_xlabel("latency (s)")
    else:
        latency_ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def display_results(results: Any) -> None:
    """A run's panel as static output: HTML (and text), then the plots as a PNG. The HTML is
    on screen before matplotlib is imported."""
    from IPython.display import display

    code = None
    if results.store_path is not None:
        from workbench.evals.benchmark import stored_resume_code

        code = stored_resume_code(results.info or {}, results.store_path, results.run_id)
    display({"text/html": run_html(results, resume_code=code), "text/plain": run_text(results, resume_code=code)},
            raw=True)
    plot = plot_png(results)
    if plot is not None:
        display({"image/png": plot, "text/plain": f"<plots of {results.run_id}: score per model, latency>"}, raw=True)
