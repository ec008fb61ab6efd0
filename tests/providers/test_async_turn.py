"""``_aturn``: the async driver over each SDK's async object, sharing adapter and retry policy."""

from __future__ import annotations

import asyncio

import pytest

import workbench as wb
from workbench.errors import ConnectionFailed, ServerError, StreamInterrupted
from workbench.models.turn import TurnResult
from workbench.testing import FakeAnthropicServer, FakeOllamaServer, FakeOpenAIServer, Reply, ToolCall

from provider_helpers import FAST_RETRY

FAMILIES = {
    "openai": (FakeOpenAIServer, "openai:gpt-4.1"),
    "anthropic": (FakeAnthropicServer, "anthropic:claude-sonnet-4-6"),
    "ollama": (FakeOllamaServer, "ollama:qwen3:8b"),
}


@pytest.fixture(params=list(FAMILIES))
def served(request):
    server_class, model = FAMILIES[request.param]
    with server_class() as server:
        yield server, wb.client(model, api_key="k", base_url=server.base_url, retry=FAST_RETRY)


def collect(client, messages, stream, tools=None, options=None):
    async def run():
        turn, chunks = TurnResult(), []
        gen = client._aturn(messages, tools, options or {}, stream)
        try:
            async for chunk in gen:
                turn.feed(chunk)
                chunks.append(chunk)
        except BaseException as exc:
            exc.partial_turn = turn
            raise
        finally:
            await gen.aclose()
            await client.aclose()
        return turn, chunks
    return asyncio.run(run())


@pytest.mark.parametrize("stream", [False, True])
def test_async_turn_matches_the_sync_one(served, stream):
    server, client = served
    reply = Reply(text="Async answer.", thinking="quietly", tool_calls=[ToolCall("f", {"x": 1}, id="t1")])
    server.add(reply, reply)
    messages = [{"role": "user", "content": "hi"}]
    turn, chunks = collect(client, messages, stream)
    sync_turn = TurnResult()
    for chunk in client._turn(messages, None, {}, stream):
        sync_turn.feed(chunk)
    def calls(t):   # Ollama sends no call ids: we make them up, so compare names and arguments
        return [(c["name"], c["arguments"]) for c in t.tool_calls]

    assert (turn.text, turn.thinking, calls(turn)) == ("Async answer.", "quietly", [("f", {"x": 1})])
    assert (sync_turn.text, sync_turn.thinking, calls(sync_turn)) == (turn.text, turn.thinking, calls(turn))
    assert chunks[-1].is_done() and turn.finish_reason == "tool_calls" and turn.elapsed_s >= 0
    assert server.requests[0].body == server.requests[1].body   # one request builder for both drivers
    assert messages == [{"role": "user", "content": "hi"}]


def test_async_retries_then_succeeds(served):
    server, client = served
    server.add(Reply(status=503), Reply(text="ok"))
    turn, _ = collect(client, [{"role": "user", "content": "hi"}], True)
    assert turn.text == "ok" and len(server.requests) == 2


def test_async_gives_up_with_a_typed_error(served):
    server, client = served
    server.add(*[Reply(status=500)] * 3)
    with pytest.raises(ServerError):
        collect(client, [{"role": "user", "content": "hi"}], False)
    assert len(server.requests) == FAST_RETRY.max_attempts


def test_async_stream_cut(served):
    server, client = served
    server.add(Reply(text="one two three", drop_after=1))
    with pytest.raises(StreamInterrupted) as info:
        collect(client, [{"role": "user", "content": "hi"}], True)
    assert info.value.partial_turn.text == "one "


def test_async_connection_refused(closed_port):
    client = wb.client("openai:gpt-4.1", api_key="k", base_url=f"http://127.0.0.1:{closed_port}/v1",
                       retry=FAST_RETRY)
    with pytest.raises(ConnectionFailed, match=f"127.0.0.1:{closed_port}"):
        collect(client, [{"role": "user", "content": "hi"}], True)
