"""<tool_call> text parsing, incremental across deltas."""

from __future__ import annotations

from workbench.models.chunks import Phase
from workbench.models.local.toolcalls import OutputSplitter, ToolCallSplitter, cut_at_stop, split_tool_calls

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


def feed_chars(splitter, text):
    out = []
    for ch in text:
        out += splitter.feed(ch)
    return out + splitter.flush()


def test_call_split_across_single_character_deltas():
    chunks = feed_chars(ToolCallSplitter(), "Let me check.\n\n" + CALL + "\n")
    text = "".join(c.content for c in chunks if c.phase is Phase.TEXT)
    calls = [c.content for c in chunks if c.phase is Phase.TOOL_CALL]
    assert text == "Let me check."
    assert len(calls) == 1 and calls[0]["name"] == "get_weather" and calls[0]["arguments"] == {"city": "Paris"}
    assert calls[0]["id"].startswith("call_")
    assert "tool_call" not in text


def test_two_calls_and_unclosed_call_at_end():
    text, calls = split_tool_calls(CALL + "\n" + CALL.replace("</tool_call>", ""))
    assert text == "" and [c["name"] for c in calls] == ["get_weather", "get_weather"]


def test_bad_json_stays_text():
    bad = "<tool_call>\n{not json}\n</tool_call>"
    text, calls = split_tool_calls("x " + bad)
    assert calls == [] and text == "x" + bad


def test_plain_text_with_angle_brackets_is_untouched():
    chunks = feed_chars(ToolCallSplitter(), "a < b and <tool> is not a call")
    assert "".join(c.content for c in chunks) == "a < b and <tool> is not a call"


def test_output_splitter_thinking_text_and_call():
    s = OutputSplitter()
    chunks = feed_chars(s, "<think>\nI should call it.\n</think>\n\n" + CALL)
    phases = [c.phase for c in chunks]
    assert Phase.THINKING in phases and phases[-1] is Phase.TOOL_CALL
    assert "".join(c.content for c in chunks if c.phase is Phase.THINKING) == "I should call it."
    assert not any(c.phase is Phase.TEXT for c in chunks)
    assert len(s.calls) == 1


def test_output_splitter_starting_inside_thinking():
    chunks = feed_chars(OutputSplitter(start_in_thinking=True), "hmm\n</think>\n\nDone.")
    assert "".join(c.content for c in chunks if c.phase is Phase.THINKING) == "hmm"
    assert "".join(c.content for c in chunks if c.phase is Phase.TEXT) == "Done."


def test_cut_at_stop_spanning_deltas():
    assert cut_at_stop("hello wor", "wor", ["world"]) == ("wor", False)
    assert cut_at_stop("hello world!", "ld!", ["world"]) == ("", True)
    assert cut_at_stop("abc STOP", " STOP", ["STOP"]) == (" ", True)
