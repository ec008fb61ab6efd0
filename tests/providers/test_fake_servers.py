"""The fake servers as users meet them: defaults, the request log, raw protocol shapes, the CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

import workbench as wb
from workbench.errors import ServerError
from workbench.testing import FakeAnthropicServer, FakeOpenAIServer, Reply, split_text


def post(url, body):
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return response.headers, response.read().decode()


def test_default_reply_serves_an_offline_notebook():
    with FakeOpenAIServer(default=Reply(text="offline answer")) as server:
        c = wb.client(f"openai-compat:anything@{server.base_url}")
        assert c.chat("one") == c.chat("two") == "offline answer"
        assert [r.body["messages"][-1]["content"] for r in server.requests] == ["one", "two"]


def test_an_empty_queue_without_default_says_how_to_script(openai_server):
    c = wb.client(f"openai-compat:m@{openai_server.base_url}", retry=0)
    with pytest.raises(ServerError, match="server.add"):
        c.chat("hi")


def test_start_stop_are_idempotent_and_repr_shows_the_state():
    server = FakeAnthropicServer()
    assert "stopped" in repr(server)
    server.start()
    url = server.base_url
    assert server.start().base_url == url and url in repr(server)
    server.stop()
    server.stop()
    assert "stopped" in repr(server)


def test_openai_sse_wire_shape(openai_server):
    openai_server.add(Reply(text="ab cd", thinking="t"))
    headers, raw = post(openai_server.base_url + "/chat/completions",
                        {"model": "m", "stream": True, "stream_options": {"include_usage": True}, "messages": []})
    assert headers["Content-Type"] == "text/event-stream"
    events = [line[6:] for line in raw.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    parsed = [json.loads(e) for e in events[:-1]]
    assert parsed[1]["choices"][0]["delta"] == {"reasoning_content": "t"}
    assert [p["choices"][0]["delta"].get("content") for p in parsed[2:4]] == ["ab ", "cd"]
    assert parsed[-1]["choices"] == [] and parsed[-1]["usage"]["completion_tokens"] > 0


def test_anthropic_sse_event_sequence(anthropic_server):
    anthropic_server.add(Reply(text="hi", thinking="t"))
    _, raw = post(anthropic_server.base_url + "/v1/messages", {"model": "m", "stream": True, "messages": [],
                                                               "max_tokens": 10})
    names = [block.split("\n")[0][7:] for block in raw.strip().split("\n\n")]
    assert names == ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
                     "content_block_stop", "content_block_start", "content_block_delta",
                     "content_block_stop", "message_delta", "message_stop"]


def test_ollama_ndjson_and_probe_routes(ollama_server):
    ollama_server.add(Reply(text="a b"))
    headers, raw = post(ollama_server.base_url + "/api/chat", {"model": "m", "messages": []})
    lines = [json.loads(line) for line in raw.splitlines()]
    assert headers["Content-Type"] == "application/x-ndjson"
    assert [line["done"] for line in lines] == [False, False, True]
    with urllib.request.urlopen(ollama_server.base_url + "/api/tags") as response:
        assert json.load(response)["models"]
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(ollama_server.base_url + "/nope")
    assert info.value.code == 404


def test_split_text():
    assert split_text("a b  c") == ["a ", "b  ", "c"]
    assert split_text("abcdefg", 3) == ["abc", "de", "fg"]
    assert split_text("", 3) == []


def test_server_runs_as_its_own_process():
    proc = subprocess.Popen([sys.executable, "-m", "workbench.testing", "openai", "--text", "from a process"],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert proc.stdout.readline().startswith(f'Use it with: wb.client("openai-compat:any-model@{url}")')
        assert wb.client(f"openai-compat:m@{url}").chat("hi") == "from a process"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_runs_offline():
    from workbench.demo import fake_server_demo

    out = io.StringIO()
    fake_server_demo(out)
    text = out.getvalue()
    assert "assistant: Seven." in text
    assert "[thinking]" in text and "[text]" in text
    assert "tool result: 42" in text


def test_a_chunked_request_body_is_read_and_an_unreadable_one_is_a_400():
    """Clients that stream their request body (Transfer-Encoding: chunked, no Content-Length)
    get answered like a real server answers them."""
    import httpx

    def pieces():
        yield b'{"model": "m", "messages": '
        yield b'[{"role": "user", "content": "hi"}]}'

    with FakeOpenAIServer(default=Reply(text="hello")) as server:
        reply = httpx.post(f"{server.base_url}/chat/completions", content=pieces())
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"] == "hello"
        assert server.last_request.json["messages"][0]["content"] == "hi"
        bad = httpx.post(f"{server.base_url}/chat/completions", content=b"not json")
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
