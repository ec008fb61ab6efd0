"""Static renderings of a stream (HTML, Markdown, plain text) and rich reprs of results.

These are what a saved notebook, nbconvert HTML, a terminal or a frontend without widget
support shows: the same final state the widget shows, with thinking folded in a
``<details>`` element. Everything user- or model-written is HTML-escaped here; the answer's
Markdown is rendered with mistune (which nbconvert brings) with raw HTML escaped and unsafe
link protocols dropped, so saved notebooks and HTML exports show it formatted.
"""

from __future__ import annotations

import functools
import html
import json
from typing import Any

RESUME_HINT = "Resume with this code (%aimu resume puts it in a cell):"
LONG_ANSWER_CHARS = 4000    # beyond this the static answer scrolls in a box

STYLE = ("font-family:system-ui,sans-serif;border:1px solid #d0d7de;border-radius:6px;"
         "padding:8px 12px;margin:4px 0")


def footer_text(footer: dict[str, Any]) -> str:
    parts = [footer.get("model") or "model ?"]
    tokens = footer.get("output_tokens")
    if footer.get("input_tokens") is not None:
        parts.append(f"{footer['input_tokens']} in / {tokens} out tokens")
    elif tokens is not None:
        parts.append(f"{'~' if footer.get('estimated') else ''}{tokens} tokens")
    if footer.get("elapsed_s") is not None:
        parts.append(f"{footer['elapsed_s']:.2f} s")
    if footer.get("tokens_per_s"):
        parts.append(f"{footer['tokens_per_s']:.1f} tok/s")
    status = footer.get("status")
    if status and status not in ("done", "streaming"):
        parts.append(status + (f": {footer['error']}" if footer.get("error") else ""))
    return " · ".join(parts)


def _tool_line(tool: dict[str, Any]) -> str:
    args = tool.get("arguments")
    args_text = json.dumps(args, ensure_ascii=False) if not isinstance(args, str) else args
    line = f"{tool.get('name')}({args_text}) [{tool.get('status')}]"
    if tool.get("result") is not None:
        line += f" -> {tool['result']}"
    return line


def snapshot_plain(state: dict[str, Any]) -> str:
    out: list[str] = []
    multi = len(state.get("lanes") or []) > 1
    for lane in state.get("lanes") or []:
        if multi or lane.get("name"):
            out.append(f"[{lane.get('name') or 'main'}]")
        if lane.get("thinking"):
            out.append("(thinking) " + lane["thinking"].strip())
        for tool in lane.get("tools") or []:
            out.append("tool: " + _tool_line(tool))
        if lane.get("text"):
            out.append(lane["text"])
    out.append("-- " + footer_text(state.get("footer") or {}))
    checkpoint = state.get("checkpoint") or {}
    if checkpoint.get("path"):
        out.append(f"Saved checkpoint {checkpoint['path']}.")
    if checkpoint.get("resume_code"):
        out.append(RESUME_HINT + "\n" + checkpoint["resume_code"])
    return "\n".join(out)


def snapshot_markdown(state: dict[str, Any]) -> str:
    out: list[str] = []
    multi = len(state.get("lanes") or []) > 1
    for lane in state.get("lanes") or []:
        if multi or lane.get("name"):
            out.append(f"**{lane.get('name') or 'main'}**\n")
        if lane.get("thinking"):
            quoted = "\n".join("> " + line for line in lane["thinking"].strip().splitlines())
            out.append("> *thinking*\n>\n" + quoted + "\n")
        for tool in lane.get("tools") or []:
            out.append("- tool `" + _tool_line(tool).replace("`", "'") + "`")
        if lane.get("tools"):
            out.append("")
        if lane.get("text"):
            out.append(lane["text"] + "\n")
    out.append("*" + footer_text(state.get("footer") or {}) + "*")
    checkpoint = state.get("checkpoint") or {}
    if checkpoint.get("path"):
        out.append(f"\nSaved checkpoint `{checkpoint['path']}`.")
    if checkpoint.get("resume_code"):
        out.append(f"{RESUME_HINT}\n\n```\n{checkpoint['resume_code']}\n```")
    return "\n".join(out)


def snapshot_html(state: dict[str, Any]) -> str:
    esc = html.escape
    out = [f'<div class="wb-stream-static" style="{STYLE}">']
    multi = len(state.get("lanes") or []) > 1
    for lane in state.get("lanes") or []:
        if multi or lane.get("name"):
            out.append(f"<div><b>{esc(lane.get('name') or 'main')}</b></div>")
        if lane.get("thinking"):
            out.append('<details class="wb-thinking"><summary>Thinking</summary>'
                       f'<pre style="white-space:pre-wrap;color:#57606a">{esc(lane["thinking"])}</pre></details>')
        if lane.get("tools"):
            items = "".join(f"<li><code>{esc(_tool_line(t))}</code></li>" for t in lane["tools"])
            out.append(f'<ol class="wb-tools">{items}</ol>')
        if lane.get("text"):
            out.append(answer_html(lane["text"]))
    footer_state = state.get("footer") or {}
    footer = esc(footer_text(footer_state))
    failed = footer_state.get("status") in ("error", "interrupted")
    colour = "color:#cf222e;font-weight:600" if failed else "color:#57606a;font-size:85%"
    out.append(f'<div class="wb-footer" style="{colour};margin-top:6px">{footer}</div>')
    checkpoint = state.get("checkpoint") or {}
    if checkpoint.get("path"):
        out.append(f'<div class="wb-checkpoint" style="margin-top:6px">Saved checkpoint '
                   f'<code>{esc(checkpoint["path"])}</code>.')
        if checkpoint.get("resume_code"):
            out.append(f' {esc(RESUME_HINT)}<pre class="wb-resume-code" style="background:#f6f8fa;'
                       f'padding:6px 8px;border-radius:4px;user-select:all">{esc(checkpoint["resume_code"])}</pre>')
        out.append("</div>")
    out.append("</div>")
    return "".join(out)


def answer_html(text: str) -> str:
    render = _markdown_renderer()
    # A long answer scrolls in its box instead of making the output page-tall.
    box = "max-height:32em;overflow:auto;" if len(text) > LONG_ANSWER_CHARS else ""
    if render is None:
        return f'<div class="wb-answer" style="{box}white-space:pre-wrap">{html.escape(text)}</div>'
    return f'<div class="wb-answer" style="{box}">{render(text)}</div>'


@functools.cache
def _markdown_renderer():
    try:
        import mistune
    except ImportError:
        return None
    return mistune.create_markdown(escape=True, plugins=["strikethrough", "table"])


def static_bundle(state: dict[str, Any]) -> dict[str, str]:
    return {"text/plain": snapshot_plain(state), "text/markdown": snapshot_markdown(state),
            "text/html": snapshot_html(state)}
