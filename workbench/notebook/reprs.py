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
    footer = esc(footer_text(state.get("footer") or {}))
    out.append(f'<div class="wb-footer" style="color:#57606a;font-size:85%;margin-top:6px">{footer}</div></div>')
    return "".join(out)


def answer_html(text: str) -> str:
    render = _markdown_renderer()
    if render is None:
        return f'<div class="wb-answer" style="white-space:pre-wrap">{html.escape(text)}</div>'
    return f'<div class="wb-answer">{render(text)}</div>'


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
