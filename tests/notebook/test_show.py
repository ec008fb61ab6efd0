"""wb.show() outside a kernel (terminal) and the StreamView widget driven directly."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.models.chunks import Phase, StreamChunk as C
from workbench.models.turn import done_chunk


def test_show_prints_in_a_terminal_and_returns_the_answer(fake_openai, model, capsys):
    from workbench.testing import Reply

    fake_openai.add(Reply(text="The answer is 42.", thinking="Let me think."))
    client = wb.client(model)
    result = wb.show(client.chat("Question?", stream=True))
    out = capsys.readouterr().out
    assert result == "The answer is 42." and result.text == "The answer is 42."
    assert result.thinking == "Let me think." and result.status == "done"
    assert "(thinking) Let me think." in out and "The answer is 42." in out
    assert "fake-model" in out and "tokens" in out          # the footer
    assert "42" not in repr(result)                         # the repr never repeats the answer
    assert client.messages[-1] == {"role": "assistant", "content": "The answer is 42.", "thinking": "Let me think."}


def test_show_rejects_a_string_with_the_fix():
    with pytest.raises(TypeError, match="stream=True"):
        wb.show("not a stream")


def test_stream_view_closed_while_streaming_keeps_going():
    from workbench.notebook.stream_view import StreamView

    view = StreamView("m")
    view.feed(C(Phase.TEXT, "Hello "))
    view.close()
    view.feed(C(Phase.TEXT, "world"))
    view.feed(done_chunk(usage={"output_tokens": 2}))
    view.finish()
    assert view.stream.answer == "Hello world"
    data, _ = view.bundle()
    assert "application/vnd.jupyter.widget-view+json" not in data   # no dead widget in the output
    assert "Hello world" in data["text/plain"]


def test_show_survives_the_widget_closing_mid_stream(fake_openai, model):
    from workbench.notebook.stream_view import StreamView
    from workbench.testing import Reply

    fake_openai.add(Reply(text="one two three four five six"))
    client = wb.client(model)

    def closing(stream):
        for i, chunk in enumerate(stream):
            if i == 2:
                import ipywidgets

                for w in list(ipywidgets.widgets.widget._instances.values()):
                    if isinstance(w, StreamView):
                        w.close()
            yield chunk

    result = wb.show(closing(client.chat("count", stream=True)), widget=True, runner=client)
    assert result == "one two three four five six"
    assert client.messages[-1]["content"] == "one two three four five six"


def test_stream_view_answers_a_resync_with_the_full_state():
    from workbench.notebook.stream_view import StreamView

    sent = []
    view = StreamView("m", interval=10)
    view.send = lambda message, buffers=None: sent.append(message)
    view.feed(C(Phase.TEXT, "abc"))      # first op: sent at once
    view.feed(C(Phase.TEXT, "def"))      # held back by the interval
    view._on_frontend_message(view, {"type": "resync", "have": 0}, [])
    assert sent[0]["seq"] == 1 and sent[0]["ops"][0] == {"lane": "", "field": "text", "append": "abc"}
    assert {op["field"] for op in sent[0]["ops"]} == {"text", "html", "meta"}
    full = sent[1]["full"]["lanes"][0]
    assert sent[1]["seq"] == 1 and full["text"] == "abcdef"
    assert full["html"]["reset"] and full["html"]["tail"] == "<p>abc</p>\n"   # as last rendered


def test_the_last_message_carries_the_final_status_when_the_interval_has_passed():
    from workbench.notebook.stream_view import StreamView

    now = [0.0]
    sent = []
    view = StreamView("m", interval=1, clock=lambda: now[0])
    view.send = lambda message, buffers=None: sent.append(message)
    view.feed(C(Phase.TEXT, "abc"))
    view.feed(done_chunk(usage={"output_tokens": 1}))
    now[0] = 5.0                          # the checkpoint op is due at once: it must not be lost
    view.finish(checkpoint={"step": 1})
    last = sent[-1]["ops"]
    assert [op["checkpoint"] for op in last if op["field"] == "checkpoint"] == [{"step": 1}]
    assert next(op["footer"] for op in last if op["field"] == "meta")["status"] == "done"


def test_a_cut_answer_is_marked_with_the_limit_that_cut_it():
    from workbench.notebook.reprs import snapshot_html
    from workbench.notebook.stream_view import StreamView

    view = StreamView("m", limit=20)
    view.feed(C(Phase.TEXT, "It was the best of"))
    view.feed(done_chunk(finish_reason="length"))
    view.finish()
    footer = view.stream.footer()
    assert footer["cut"] and footer["limit"] == 20
    assert "cut at the token limit (max_tokens=20)" in snapshot_html(view.stream.snapshot())


def test_show_keeps_the_partial_answer_of_a_failed_stream(fake_openai, model):
    from workbench.testing import Reply

    fake_openai.add(Reply(text="partial words then a cut " * 5, drop_after=4))
    client = wb.client(model)
    result = wb.show(client.chat("go", stream=True), raise_errors=False)
    assert result.status == "error" and result.startswith("partial words")
    assert client.messages[-1]["role"] == "user"       # no half-written assistant message
    with pytest.raises(wb.errors.ProviderError) as info:
        fake_openai.add(Reply(text="again cut " * 5, drop_after=2))
        wb.show(client.chat("go", stream=True))
    assert info.value.shown.startswith("again")


def test_ashow_is_the_async_twin(fake_openai, model, capsys):
    import asyncio

    from workbench import aio
    from workbench.notebook.show import ashow
    from workbench.testing import Reply

    fake_openai.add(Reply(text="Async hello.", thinking="quick"))

    async def main():
        client = aio.client(model)
        return client, await ashow(await client.chat("Hi", stream=True))

    client, result = asyncio.run(main())
    assert result == "Async hello." and result.thinking == "quick"
    assert "Async hello." in capsys.readouterr().out
    assert client.messages[-1]["content"] == "Async hello."
