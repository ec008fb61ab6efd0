from workbench.models.chunks import Phase, StreamChunk as C
from workbench.models.turn import done_chunk
from workbench.notebook.reprs import snapshot_html, snapshot_markdown, snapshot_plain, static_bundle
from workbench.notebook.stream_state import StreamState


def tool_run():
    return [
        C(Phase.THINKING, "I should "), C(Phase.THINKING, "look it up."),
        C(Phase.TOOL_CALL, {"id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}),
        done_chunk(usage={"input_tokens": 10, "output_tokens": 5}, model="m1"),
        C(Phase.TOOL_RESULT, {"id": "c1", "name": "get_weather", "content": "sunny", "is_error": False}),
        C(Phase.TEXT, "It is "), C(Phase.TEXT, "sunny."),
        done_chunk(usage={"input_tokens": 20, "output_tokens": 3}, model="m1"),
    ]


def test_tool_timeline_goes_requested_running_done():
    s = StreamState()
    statuses = []
    for chunk in tool_run():
        for op in s.feed(chunk):
            if op["field"] == "tool":
                statuses.append(op["tool"]["status"])
    assert statuses == ["requested", "running", "done"]
    snap = s.snapshot()
    lane = snap["lanes"][0]
    assert lane["thinking"] == "I should look it up."
    assert lane["text"] == "It is sunny."
    assert lane["tools"][0]["result"] == "sunny"
    assert s.usage == {"input_tokens": 30, "output_tokens": 8}
    assert s.model == "m1" and s.answer == "It is sunny."


def test_one_lane_per_agent_and_answer_is_the_last_speaker():
    s = StreamState("orchestrator")
    for chunk in [C(Phase.TEXT, "plan", agent="planner"), done_chunk(), C(Phase.TEXT, "a", agent="worker"),
                  C(Phase.TEXT, "b", agent="worker"), done_chunk().tagged("worker", 1),
                  C(Phase.TEXT, "second turn", agent="worker"), done_chunk().tagged("worker", 2)]:
        s.feed(chunk)
    names = [lane["name"] for lane in s.snapshot()["lanes"]]
    assert names == ["planner", "worker"]   # the untagged done chunk adds no empty lane
    assert s.lanes["worker"].text == "ab\n\nsecond turn"
    assert s.answer == "second turn"


def test_token_estimate_without_usage():
    s = StreamState("m")
    for t in ["a", "b", "c"]:
        s.feed(C(Phase.TEXT, t))
    footer = s.footer()
    assert footer["output_tokens"] == 3 and footer["estimated"] is True


def test_static_renderings_escape_and_fold_thinking():
    s = StreamState("m")
    s.feed(C(Phase.THINKING, "<b>hmm</b>"))
    s.feed(C(Phase.TEXT, "Use <script>alert(1)</script> **never**"))
    s.feed(done_chunk(usage={"output_tokens": 4}))
    s.finish()
    snap = s.snapshot()
    html = snapshot_html(snap)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<details" in html and "&lt;b&gt;hmm" in html
    assert "**never**" in snapshot_markdown(snap)
    plain = snapshot_plain(snap)
    assert "Use <script>" in plain and "4 tokens" in plain
    assert set(static_bundle(snap)) == {"text/plain", "text/markdown", "text/html"}


def test_static_html_renders_the_answers_markdown_safely():
    s = StreamState("m")
    s.feed(C(Phase.TEXT, "## Facts\n\n1. **bold** <img src=x onerror=alert(1)> [x](javascript:alert(1))\n\n"
                         "```python\nd = {'a': 1}\n```"))
    s.finish()
    html = snapshot_html(s.snapshot())
    assert "<h4>Facts</h4>" in html and "<strong>bold</strong>" in html     # headings two levels down
    assert '<code class="language-python">d <span' in html and "'a'</span>" in html   # highlighted
    assert "<img" not in html and 'href="javascript' not in html
    assert "<textarea class=\"wb-copy-source\" hidden readonly>## Facts" in html     # the copy button's text


def test_lanes_get_readable_titles_and_rounds_are_marked():
    from workbench.notebook.stream_state import lane_title

    assert lane_title("chain_step_0") == "chain · step 1"
    assert lane_title("debate_worker_2") == "debate · worker 3"
    assert lane_title("copy_evaluator") == "copy · evaluator"
    s = StreamState("m")
    ops = s.feed(C(Phase.TEXT, "draft one", agent="loop_generator"))
    assert ops[0] == {"lane": "loop_generator", "field": "title", "title": "loop · generator"}
    s.feed(done_chunk().tagged("loop_generator", 0))
    s.feed(C(Phase.TEXT, "needs work", agent="loop_evaluator"))
    s.feed(done_chunk().tagged("loop_evaluator", 0))
    s.feed(C(Phase.TEXT, "draft two", agent="loop_generator"))      # the generator's second round
    lane = s.lanes["loop_generator"]
    assert lane.rounds == 2 and "---\n\n*round 2*\n\ndraft two" in lane.text
    assert lane.answer == "draft two"
    assert "[loop · generator]" in snapshot_plain(s.snapshot())
