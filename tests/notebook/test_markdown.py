"""The answer renderer (live view and saved output) and its incremental split."""

from __future__ import annotations

from workbench.notebook.markdown import LiveAnswer, render, settled_end


def test_tables_math_and_highlighted_code_render_and_raw_html_stays_escaped():
    out = render("## Plan\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nInline $x^2$ and\n\n$$\\frac{1}{2}$$\n\n"
                 "```python\nprint('<b>hi</b>')\n```\n\n<img src=x onerror=alert(1)> [bad](javascript:alert(1))")
    assert "<h4>Plan</h4>" in out                                 # headings shifted down two levels
    assert "<table>" in out and "<td>2</td>" in out
    assert out.count("<math") == 2 and "<msup>" in out and "<mfrac>" in out
    assert '<code class="language-python">' in out and "style=\"color" in out    # Pygments, inline styles
    assert "&lt;b&gt;hi&lt;/b&gt;" in out
    assert "<img" not in out and "&lt;img src=x" in out and "javascript:" not in out


def test_bad_latex_shows_its_source():
    out = render("Broken $\\frac{1}{$ math")
    assert '<code class="wb-math-source">$\\frac{1}{$</code>' in out and "<math" not in out


def test_settled_end_stops_at_blank_lines_outside_fences_and_math():
    text = "para one\n\npara two\n\n```\ncode\n\nmore\n"
    assert settled_end(text) == len("para one\n\npara two\n\n")
    closed = text + "```\n\ntail"
    assert settled_end(closed) == len(closed) - len("tail")
    math = "$$\na\n\nb\n"
    assert settled_end(math) == 0
    assert settled_end("no newline yet") == 0


def test_live_answer_sends_settled_blocks_once_and_rerenders_only_the_tail():
    live = LiveAnswer()
    first = live.update("Hello **wor")
    assert "settled" not in first and first["tail"].startswith("<p>Hello")
    second = live.update("Hello **world**\n\nNext")
    assert second["settled_from"] == 0 and "<strong>world</strong>" in second["settled"]
    assert second["tail"] == "<p>Next</p>\n"
    assert live.update("Hello **world**\n\nNext") is None       # nothing new: nothing sent
    third = live.update("Hello **world**\n\nNext one", final=True)
    assert third["settled_from"] == second["settled_len"] and third["tail"] == ""
    assert live.full()["settled"] == second["settled"] + third["settled"]


def test_a_long_open_paragraph_is_sent_raw_until_it_settles():
    live = LiveAnswer()
    op = live.update("w " * 5000)
    assert op["tail"] is None and op["tail_len"] == 10000
