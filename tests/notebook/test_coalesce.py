from workbench.notebook.coalesce import Coalescer


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_fast_stream_becomes_few_messages_and_loses_nothing():
    clock = FakeClock()
    c = Coalescer(interval=1 / 25, clock=clock)
    tokens = [f"tok{i} " for i in range(4000)]
    messages = []
    for tok in tokens:                      # 4000 tokens in 4 s of fake time
        clock.now += 0.001
        m = c.append("", "text", tok)
        if m:
            messages.append(m)
    messages.append(c.flush())
    assert len(messages) <= 4 * 25 + 2
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    text = "".join(op["append"] for m in messages for op in m["ops"])
    assert text == "".join(tokens)


def test_appends_merge_per_lane_and_field_in_order():
    clock = FakeClock()
    c = Coalescer(interval=1.0, clock=clock)
    assert c.append("", "thinking", "a") is not None   # the first op goes out at once
    for op in [("", "thinking", "b"), ("", "thinking", "c"), ("", "text", "d"), ("w", "text", "e"), ("", "text", "f")]:
        assert c.append(*op) is None
    c.add({"lane": "", "field": "tool", "tool": {"id": "1"}})
    c.append("", "text", "g")
    message = c.flush()
    assert message["seq"] == 2
    assert [(o["lane"], o["field"], o.get("append")) for o in message["ops"]] == [
        ("", "thinking", "bc"), ("", "text", "d"), ("w", "text", "e"), ("", "text", "f"),
        ("", "tool", None), ("", "text", "g")]
    assert c.flush() is None


def test_poll_sends_pending_only_after_the_interval():
    clock = FakeClock()
    c = Coalescer(interval=0.5, clock=clock)
    c.append("", "text", "x")
    assert c.append("", "text", "y") is None
    assert c.poll() is None
    clock.now = 0.6
    assert c.poll()["ops"][0]["append"] == "y"
    assert not c.pending


def test_empty_appends_are_ignored_and_bad_interval_rejected():
    import pytest

    c = Coalescer()
    assert c.append("", "text", "") is None and not c.pending
    with pytest.raises(ValueError, match="interval"):
        Coalescer(interval=0)
