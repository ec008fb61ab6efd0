"""The stream view through a real kernel: what goes over iopub for a 4,000-token stream."""

from __future__ import annotations

import json

import pytest

from nb_kernel_session import KernelSession, custom_messages, error_text, stream_text

WORDS = 4000
TEXT = " ".join(f"w{i}" for i in range(WORDS))


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    session = KernelSession(tmp_path_factory.mktemp("kernel"))
    session.run("%load_ext workbench\n"
                "from workbench.testing import FakeOpenAIServer, Reply\n"
                f"TEXT = ' '.join(f'w{{i}}' for i in range({WORDS}))\n"
                "server = FakeOpenAIServer(default=Reply(text=TEXT, thinking='Counting words.')).start()\n"
                "M = 'openai-compat:fake-model@' + server.base_url")
    yield session
    session.close()


def widget_comm(messages):
    opens = [m for m in messages if m["msg_type"] == "comm_open"
             and m["content"]["data"]["state"].get("_model_name") == "AnyModel"
             and "state" in m["content"]["data"]["state"]]
    assert len(opens) == 1, "one stream view per cell"
    return opens[0]["content"]["comm_id"]


def test_a_4000_token_stream_is_coalesced_complete_and_final(kernel):
    messages = kernel.run("%%aimu {M} --thinking -o answer\nCount to 4000.")
    comm_id = widget_comm(messages)
    custom = custom_messages(messages, comm_id)
    contents = [m["content"]["data"]["content"] for m in custom]

    # every delta arrives, in order, exactly once
    assert [c["seq"] for c in contents] == list(range(1, len(contents) + 1))
    ops = [op for c in contents for op in c["ops"]]
    assert "".join(op["append"] for op in ops if op["field"] == "text") == TEXT
    assert "".join(op["append"] for op in ops if op["field"] == "thinking") == "Counting words."

    # few messages per second whatever the token rate (kernel-side timestamps)
    times = [m["header"]["date"] for m in custom]
    span = (times[-1] - times[0]).total_seconds()
    rate = (len(custom) - 1) / span if span > 0 else 0.0
    print(f"\n{len(custom)} comm messages over {span:.2f} s = {rate:.1f}/s for {WORDS} tokens")
    assert rate <= 30

    # the footer moves live: every message carries it, tokens growing
    footers = [next(op["footer"] for op in c["ops"] if op["field"] == "meta") for c in contents]
    tokens = [f["output_tokens"] for f in footers]
    assert tokens == sorted(tokens) and tokens[len(tokens) // 2] > 0 and footers[0]["status"] == "streaming"

    # the answer's HTML (rendered in the kernel) settles once: the one long paragraph shows
    # as raw text while open, and is rendered when the turn ends
    html_ops = [op for op in ops if op["field"] == "html"]
    settled = "".join(op.get("settled") or "" for op in html_ops)
    assert settled.startswith("<p>w0 w1") and TEXT[-20:] in settled and settled.count("<p>") == 1

    # bytes: the text once, its HTML once, plus a bounded overhead per message
    custom_bytes = sum(len(json.dumps(c, ensure_ascii=False)) for c in contents)
    updates = [m for m in messages if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
               and m["content"]["data"].get("method") == "update"]
    update_bytes = sum(len(json.dumps(m["content"]["data"], ensure_ascii=False)) for m in updates)
    print(f"custom {custom_bytes} B + state updates {update_bytes} B for {len(TEXT)} B of text")
    assert custom_bytes + update_bytes <= 2.2 * len(TEXT) + 400 * len(custom) + 4096

    # the last message ends it: final status, tokens and thinking
    final = footers[-1]
    assert final["status"] == "done" and final["model"] and final["output_tokens"] > 0

    # one final output, static (no widget view: a saved notebook shows it without its
    # kernel), with metadata; the widget itself is closed
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert len(updates) == 1
    data, meta = updates[0]["content"]["data"], updates[0]["content"]["metadata"]["workbench"]
    assert set(data) == {"text/html", "text/markdown", "text/plain"}
    assert any(m["msg_type"] == "comm_close" and m["content"]["comm_id"] == comm_id for m in messages)
    assert "<details" in data["text/html"] and TEXT[-20:] in data["text/markdown"]
    assert meta["model"] and meta["parameters"] == {"thinking": True} and meta["usage"]["output_tokens"] > 0
    assert meta["elapsed_s"] > 0 and meta["status"] == "done"
    assert "IOPub" not in stream_text(messages)


def test_resync_request_gets_the_full_state(kernel):
    # a live view (wb.show closes it at the end of a run): the browser side of a gap asks
    # for the full state over the widget's comm
    messages = kernel.run("from workbench.notebook.stream_view import StreamView\n"
                          "from workbench.models.chunks import Phase, StreamChunk\n"
                          "live = StreamView('m')\ndisplay(live)\nlive.feed(StreamChunk(Phase.TEXT, TEXT))")
    comm_id = widget_comm(messages)
    msg = kernel.kc.session.msg("comm_msg", {"comm_id": comm_id,
                                             "data": {"method": "custom", "content": {"type": "resync", "have": 0}}})
    kernel.kc.shell_channel.send(msg)
    full = None
    while full is None:
        m = kernel.kc.get_iopub_msg(timeout=30)
        if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id:
            content = m["content"]["data"].get("content") or {}
            if "full" in content:
                full = content
    assert full["full"]["lanes"][0]["text"] == TEXT and full["seq"] >= 1
    kernel.run("live.close()")


def test_kernel_interrupt_fails_the_cell_keeps_partial_answer_and_shows_resume(kernel):
    # the server (inside the kernel) sends SIGINT to its own process after 50 words, as
    # Kernel > Interrupt does: a known point in the stream, not a timer
    kernel.run("import os, signal\n"
               "server.add(Reply(text='slow ' * 400, chunk_delay=0.01, "
               "after=(50, lambda: os.kill(os.getpid(), signal.SIGINT))))")
    messages = kernel.run("%%aimu {M} -o partial\nTalk slowly.", fails=True)
    shown = error_text(messages)
    assert "interrupted" in shown and "Traceback" not in shown and "File " not in shown
    assert "the code that resumes the run is in the output above" in shown and len(shown.splitlines()) <= 3
    final = [m for m in messages if m["msg_type"] == "update_display_data"][-1]["content"]["data"]
    assert "--restore .workbench/checkpoints/" in final["text/plain"]
    assert "Continue where you left off." in final["text/plain"] and "wb-resume-code" in final["text/html"]
    check = kernel.run("c = get_ipython()._workbench_session.client(M)\n"
                       "partial = get_ipython()._workbench_session.last\n"
                       "print(partial.status, len(partial) > 0, c.messages[-1])")
    out = stream_text(check)
    assert out.startswith("interrupted True {'role': 'user', 'content': 'Talk slowly.'}")
