"""Static renderings of a stream (HTML, Markdown, plain text) and rich reprs of results.

These are what a saved notebook, nbconvert HTML, a terminal or a frontend without widget
support shows: the same final state the widget shows, with thinking folded in a
``<details>`` element. Everything user- or model-written is HTML-escaped here; the answer's
Markdown goes through ``markdown.render`` (the live view's renderer: tables, math, code
highlighting, raw HTML escaped), so saved notebooks and HTML exports show it as it streamed.
"""

from __future__ import annotations

import html
import json
from typing import Any

RESUME_HINT = "Resume with this code (%aimu resume puts it in a cell):"
PLACED_HINT = "Resume with this code (the JupyterLab extension put it into the cell below):"


def resume_hint(checkpoint: dict[str, Any]) -> str:
    return PLACED_HINT if checkpoint.get("placed_below") else RESUME_HINT
LONG_ANSWER_CHARS = 4000    # beyond this the static answer scrolls in a box

STYLE = ("font-family:system-ui,sans-serif;border:1px solid #d0d7de;border-radius:6px;"
         "padding:8px 12px;margin:4px 0")


def footer_text(footer: dict[str, Any]) -> str:
    parts = [footer.get("model") or "model ?"]
    tokens = footer.get("output_tokens")
    if footer.get("input_tokens") is not None:
        parts.append(f"{footer['input_tokens']} in / {'~' if footer.get('estimated') else ''}{tokens} out tokens")
    elif tokens is not None and not (footer.get("images") and footer.get("estimated")):   # no count for an image yet
        parts.append(f"{'~' if footer.get('estimated') else ''}{tokens} tokens")
    if footer.get("elapsed_s") is not None:
        parts.append(f"{footer['elapsed_s']:.2f} s")
    if footer.get("images"):
        parts.append(f"{footer['images']} image{'s' * (footer['images'] != 1)}")
    elif footer.get("tokens_per_s"):
        parts.append(f"{footer['tokens_per_s']:.1f} tok/s")
    if footer.get("cut"):
        parts.append(cut_text(footer.get("limit")))
    status = footer.get("status")
    if status and status not in ("done", "streaming"):
        parts.append(status + (f": {footer['error']}" if footer.get("error") else ""))
    return " · ".join(parts)


def cut_text(limit: Any) -> str:
    """How a truncated answer (finish_reason "length") is marked."""
    return f"cut at the token limit (max_tokens={limit})" if limit else "cut at the token limit"


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
            out.append(f"[{lane.get('title') or lane.get('name') or 'main'}]")
        if lane.get("thinking"):
            out.append("(thinking) " + lane["thinking"].strip())
        for tool in lane.get("tools") or []:
            out.append("tool: " + _tool_line(tool))
        out.extend(f"[{_image_caption(image)}]" for image in lane.get("images") or [])
        if lane.get("text"):
            out.append(lane["text"])
    out.append("-- " + footer_text(state.get("footer") or {}))
    checkpoint = state.get("checkpoint") or {}
    if checkpoint.get("path"):
        out.append(f"Saved checkpoint {checkpoint['path']}.")
    if checkpoint.get("resume_code"):
        out.append(resume_hint(checkpoint) + "\n" + checkpoint["resume_code"])
    return "\n".join(out)


def snapshot_markdown(state: dict[str, Any]) -> str:
    out: list[str] = []
    multi = len(state.get("lanes") or []) > 1
    for lane in state.get("lanes") or []:
        if multi or lane.get("name"):
            out.append(f"**{lane.get('title') or lane.get('name') or 'main'}**\n")
        if lane.get("thinking"):
            quoted = "\n".join("> " + line for line in lane["thinking"].strip().splitlines())
            out.append("> *thinking*\n>\n" + quoted + "\n")
        for tool in lane.get("tools") or []:
            out.append("- tool `" + _tool_line(tool).replace("`", "'") + "`")
        if lane.get("tools"):
            out.append("")
        out.extend(f"*[{_image_caption(image)}: in the HTML output]*\n" for image in lane.get("images") or [])
        if lane.get("text"):
            out.append(lane["text"] + "\n")
    out.append("*" + footer_text(state.get("footer") or {}) + "*")
    checkpoint = state.get("checkpoint") or {}
    if checkpoint.get("path"):
        out.append(f"\nSaved checkpoint `{checkpoint['path']}`.")
    if checkpoint.get("resume_code"):
        out.append(f"{resume_hint(checkpoint)}\n\n```\n{checkpoint['resume_code']}\n```")
    return "\n".join(out)


def snapshot_html(state: dict[str, Any]) -> str:
    esc = html.escape
    status = html.escape(str(state.get("status") or ""), quote=True)
    out = [f'<div class="wb-stream-static" data-status="{status}" style="{STYLE}">']
    multi = len(state.get("lanes") or []) > 1
    for lane in state.get("lanes") or []:
        if multi or lane.get("name"):
            out.append(f'<div class="wb-lane-name"><b>{esc(lane.get("title") or lane.get("name") or "main")}</b></div>')
        if lane.get("thinking"):
            out.append('<details class="wb-thinking"><summary>Thinking</summary>'
                       f'<pre style="white-space:pre-wrap;color:#57606a">{esc(lane["thinking"])}</pre></details>')
        if lane.get("tools"):
            out.append(f'<ol class="wb-tools">{"".join(_tool_html(t) for t in lane["tools"])}</ol>')
        if lane.get("images"):
            out.append(images_html(lane["images"]))
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
            out.append(f' {esc(resume_hint(checkpoint))}<pre class="wb-resume-code" style="background:#f6f8fa;'
                       f'padding:6px 8px;border-radius:4px;user-select:all">{esc(checkpoint["resume_code"])}</pre>')
        out.append("</div>")
    answer = _final_answer(state)
    if answer:
        out.append(_controls(answer))
    out.append("</div>")
    return "".join(out)


def _final_answer(state: dict[str, Any]) -> str:
    lanes = [lane for lane in state.get("lanes") or [] if lane.get("text")]
    return lanes[-1]["text"] if lanes else ""


def _controls(text: str) -> str:
    # Plain handlers: they work where the output is trusted (the session that ran it, a
    # notebook you saved); elsewhere sanitizers drop them and the buttons do nothing.
    toggle = "" if len(text) <= LONG_ANSWER_CHARS else (
        '<button class="wb-show-all" type="button" style="font-size:80%;margin-left:6px" onclick="'
        "const a=this.closest('.wb-stream-static').querySelector('.wb-answer');"
        "const all=a.style.maxHeight!=='none';a.style.maxHeight=all?'none':'32em';"
        "this.textContent=all?'Fold':'Show all'\">Show all</button>")
    return ('<div class="wb-controls" style="margin-top:4px"><button class="wb-copy" type="button" '
            'style="font-size:80%" onclick="navigator.clipboard.writeText(this.parentNode.querySelector('
            "'textarea').value).then(()=>{this.textContent='Copied'})\">Copy answer</button>"
            f'{toggle}<textarea class="wb-copy-source" hidden readonly>{html.escape(text)}</textarea></div>')


def _tool_html(tool: dict[str, Any]) -> str:
    esc = html.escape
    args = tool.get("arguments")
    args_text = json.dumps(args, ensure_ascii=False) if not isinstance(args, str) else args
    status = str(tool.get("status") or "")
    result = "" if tool.get("result") is None else (
        '<details class="wb-tool-result"><summary>result</summary>'
        f'<pre style="white-space:pre-wrap">{esc(str(tool["result"]))}</pre></details>')
    colour = {"done": "#1a7f37", "error": "#cf222e", "running": "#9a6700"}.get(status, "#57606a")
    return (f'<li class="wb-tool wb-tool-{esc(status)}"><span class="wb-tool-status" style="color:{colour};'
            f'font-size:80%;text-transform:uppercase">{esc(status)}</span> '
            f'<code>{esc(str(tool.get("name")))}({esc(args_text)})</code>{result}</li>')


def _image_caption(image: dict[str, Any]) -> str:
    step = f"step {image.get('step')}/{image.get('total')}" if image.get("total") else ""
    return f"image {int(image.get('index') or 0) + 1}" + (" (final)" if image.get("final") else f" {step}".rstrip())


def images_html(images: list[dict[str, Any]]) -> str:
    figures = "".join(
        f'<figure class="wb-image" style="margin:4px 8px 4px 0;display:inline-block">'
        f'<img src="{html.escape(str(image.get("src") or ""), quote=True)}" alt="{html.escape(_image_caption(image))}" '
        f'style="max-width:512px;display:block;border:1px solid #d0d7de">'
        f'<figcaption style="color:#57606a;font-size:80%">{html.escape(_image_caption(image))}</figcaption></figure>'
        for image in images if image.get("src"))
    return f'<div class="wb-images">{figures}</div>'


def answer_html(text: str) -> str:
    from workbench.notebook.markdown import render

    # A long answer scrolls in its box instead of making the output page-tall.
    box = ' style="max-height:32em;overflow:auto"' if len(text) > LONG_ANSWER_CHARS else ""
    return f'<div class="wb-answer"{box}>{render(text)}</div>'


def static_bundle(state: dict[str, Any]) -> dict[str, str]:
    return {"text/plain": snapshot_plain(state), "text/markdown": snapshot_markdown(state),
            "text/html": snapshot_html(state)}
