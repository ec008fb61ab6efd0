"""Every fault, for every provider family: typed errors, bounded retries, consistent history."""

from __future__ import annotations

import pickle
import signal
import threading
import time
import traceback

import pytest

import workbench as wb
from workbench.errors import (AuthenticationError, BadRequestError, ConnectionFailed, ContextOverflowError,
                              MissingAPIKeyError, ModelNotFoundError, ModelStringError, RateLimitError,
                              ServerError, StreamInterrupted, UnknownProviderError)
from workbench.models.retry import RetryPolicy
from workbench.testing import FakeAnthropicServer, FakeOllamaServer, FakeOpenAIServer, Reply

from provider_helpers import FAST_RETRY

KEY = "sk-test-SECRET-4242"

FAMILIES = {
    "openai": (FakeOpenAIServer, "openai:gpt-4.1"),
    "anthropic": (FakeAnthropicServer, "anthropic:claude-sonnet-4-6"),
    "ollama": (FakeOllamaServer, "ollama:qwen3:8b"),
}


class Family:
    def __init__(self, name, server):
        self.name, self.server = name, server

    def client(self, base_url=None, **kwargs):
        kwargs.setdefault("retry", FAST_RETRY)
        return wb.client(FAMILIES[self.name][1], api_key=KEY, base_url=base_url or self.server.base_url, **kwargs)


@pytest.fixture(params=list(FAMILIES))
def family(request):
    server_class, _ = FAMILIES[request.param]
    with server_class() as server:
        yield Family(request.param, server)


def assert_only_user_turn(client, text="hello"):
    assert client.messages == [{"role": "user", "content": text}]


# -- bad input -----------------------------------------------------------------------------------

def test_unknown_provider_lists_the_valid_ones():
    with pytest.raises(UnknownProviderError) as info:
        wb.client("nosuch:model")
    assert "anthropic" in str(info.value) and "openai" in str(info.value)


@pytest.mark.parametrize("text", ["gpt-4.1", "openai:", ":gpt", "openai-compat:m@not-a-url"])
def test_malformed_model_string(text):
    with pytest.raises(ModelStringError, match="provider:model_id|openai-compat:MODEL@"):
        wb.client(text)


@pytest.mark.parametrize("model, env", [("openai:gpt-4.1", "OPENAI_API_KEY"),
                                        ("anthropic:claude-sonnet-4-6", "ANTHROPIC_API_KEY"),
                                        ("gemini:gemini-2.5-flash", "GEMINI_API_KEY")])
def test_missing_key_names_the_variable(model, env):
    with pytest.raises(MissingAPIKeyError) as info:
        wb.client(model)
    assert env in str(info.value) and info.value.env_var == env


def test_key_from_env_never_shows(monkeypatch, openai_server):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    c = wb.client("openai:gpt-4.1", base_url=openai_server.base_url)
    openai_server.add(Reply(text="hi"))
    assert c.chat("hello") == "hi"
    assert openai_server.last_request.headers["authorization"] == f"Bearer {KEY}"
    for shown in (repr(c), str(c), repr(vars(c)), repr(c._api_key)):
        assert KEY not in shown
    assert KEY.encode() not in pickle.dumps(c._api_key)


def test_key_echoed_by_the_server_is_scrubbed(family):
    family.server.add(Reply(status=401, error=f"Incorrect API key provided: {KEY}"))
    c = family.client()
    with pytest.raises(AuthenticationError) as info:
        c.chat("hello")
    printed = "".join(traceback.format_exception(info.value))
    assert KEY not in printed and "***" in str(info.value)
    assert_only_user_turn(c)


# -- connection ---------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True])
def test_connection_refused_names_the_host(family, closed_port, stream):
    c = family.client(base_url=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(ConnectionFailed) as info:
        out = c.chat("hello", stream=stream)
        if stream:
            list(out)
    assert f"127.0.0.1:{closed_port}" in str(info.value)
    assert info.value.host == f"127.0.0.1:{closed_port}"
    assert_only_user_turn(c)
    assert c.last_partial is not None and c.last_partial.text == ""


# -- HTTP statuses ------------------------------------------------------------------------------

@pytest.mark.parametrize("status, error_type", [(400, BadRequestError), (401, AuthenticationError),
                                                (403, AuthenticationError), (404, ModelNotFoundError)])
@pytest.mark.parametrize("stream", [False, True])
def test_client_errors_are_typed_and_not_retried(family, status, error_type, stream):
    family.server.add(Reply(status=status, error="nope"), Reply(text="never sent"))
    c = family.client()
    with pytest.raises(error_type) as info:
        out = c.chat("hello", stream=stream)
        if stream:
            list(out)
    assert info.value.status == status and "nope" in str(info.value)
    assert len(family.server.requests) == 1
    assert_only_user_turn(c)


def test_context_overflow_is_its_own_type(family):
    family.server.add(Reply(status=400, error="This model's maximum context length is 8192 tokens."))
    c = family.client()
    with pytest.raises(ContextOverflowError, match="context"):
        c.chat("hello")


@pytest.mark.parametrize("status, error_type", [(429, RateLimitError), (500, ServerError), (503, ServerError)])
@pytest.mark.parametrize("stream", [False, True])
def test_retryable_errors_are_retried_then_succeed(family, status, error_type, stream):
    family.server.add(Reply(status=status), Reply(status=status), Reply(text="finally"))
    c = family.client()
    out = c.chat("hello", stream=stream)
    text = "".join(ch.content for ch in out if ch.is_text()) if stream else out
    assert text == "finally"
    assert len(family.server.requests) == 3
    assert c.messages[-1]["content"] == "finally"


@pytest.mark.parametrize("status, error_type", [(429, RateLimitError), (500, ServerError)])
def test_retries_are_bounded(family, status, error_type):
    family.server.add(*[Reply(status=status, retry_after=0.01)] * 5)
    c = family.client()
    with pytest.raises(error_type):
        c.chat("hello")
    assert len(family.server.requests) == FAST_RETRY.max_attempts
    assert_only_user_turn(c)


class RecordingPolicy(RetryPolicy):
    """The real policy, remembering the waits it chose."""

    def delay(self, failures, error, waited, rand=None):
        wait = super().delay(failures, error, waited) if rand is None else super().delay(failures, error, waited, rand)
        self.__dict__.setdefault("waits", []).append(wait)
        return wait


def test_retry_after_header_is_honoured(openai_server, anthropic_server):
    for server, model in ((openai_server, "openai:gpt-4.1"), (anthropic_server, "anthropic:claude-sonnet-4-6")):
        policy = RecordingPolicy(max_attempts=3, base_delay=5.0, max_total_wait=10.0)
        server.add(Reply(status=429, retry_after=0.05), Reply(text="ok"))
        c = wb.client(model, api_key=KEY, base_url=server.base_url, retry=policy)
        assert c.chat("hello") == "ok"
        assert policy.waits == [0.05]   # the server's 0.05 s, not the 5 s backoff


def test_a_retry_after_beyond_the_budget_is_raised_at_once(openai_server):
    openai_server.add(Reply(status=429, retry_after=30), Reply(text="not reached"))
    c = wb.client("openai:gpt-4.1", api_key=KEY, base_url=openai_server.base_url,
                  retry=RetryPolicy(max_attempts=5, max_total_wait=2.0))
    with pytest.raises(RateLimitError) as info:
        c.chat("hello")
    assert info.value.retry_after == 30
    assert len(openai_server.requests) == 1


def test_retry_policy_backoff_is_exponential_with_jitter_and_bounded():
    policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=3.0, max_total_wait=100, jitter=0.25)
    err = ServerError("x")
    assert policy.delay(1, err, 0, rand=lambda: 0.5) == 1.0
    assert policy.delay(2, err, 0, rand=lambda: 0.5) == 2.0
    assert policy.delay(3, err, 0, rand=lambda: 0.5) == 3.0          # capped
    assert policy.delay(1, err, 0, rand=lambda: 1.0) == 1.25         # jitter
    assert policy.delay(4, err, 0) is None                           # attempts used up
    assert policy.delay(1, err, 99.5, rand=lambda: 0.5) is None      # total wait used up
    assert policy.delay(1, AuthenticationError("x"), 0) is None      # never retried
    assert policy.delay(1, StreamInterrupted("x"), 0) is None
    assert policy.delay(1, RateLimitError("x", retry_after=2.5), 0) == 2.5


# -- a stream that breaks ------------------------------------------------------------------------

def test_stream_cut_mid_answer_keeps_the_partial(family):
    family.server.add(Reply(text="one two three four five", drop_after=2), Reply(text="unused"))
    c = family.client(system="sys")
    seen = []
    with pytest.raises(StreamInterrupted) as info:
        for chunk in c.chat("hello", stream=True):
            seen.append(chunk)
    assert "".join(ch.content for ch in seen if ch.is_text()) == "one two "
    assert info.value.partial.text == "one two "
    assert c.last_partial.text == "one two "
    assert c.messages == [{"role": "system", "content": "sys"}, {"role": "user", "content": "hello"}]
    assert len(family.server.requests) == 1   # never retried once the answer started


def test_stream_without_its_final_event_is_interrupted(family):
    family.server.add(Reply(text="half an answer", truncate=True))
    c = family.client()
    with pytest.raises(StreamInterrupted):
        list(c.chat("hello", stream=True))
    assert c.last_partial.text == "half an answer"
    assert_only_user_turn(c)


def test_non_streaming_chat_after_a_cut_stream_recovers(family):
    family.server.add(Reply(text="one two three", drop_after=1), Reply(text="whole"))
    c = family.client()
    with pytest.raises(StreamInterrupted):
        list(c.chat("hello", stream=True))
    assert c.chat("again") == "whole"
    assert [m["role"] for m in c.messages] == ["user", "user", "assistant"]
    assert c.last_partial is None


# -- interrupts ---------------------------------------------------------------------------------

def test_keyboard_interrupt_in_the_consumer_loop(family):
    family.server.add(Reply(text="alpha beta gamma delta"), Reply(text="next"))
    c = family.client()
    stream = c.chat("hello", stream=True)
    with pytest.raises(KeyboardInterrupt):
        for chunk in stream:
            if chunk.is_text():
                raise KeyboardInterrupt
    stream.close()   # what the garbage collector does to an abandoned stream
    assert_only_user_turn(c)
    assert c.last_partial.text == "alpha "
    assert c.chat("more") == "next"   # the client is still usable


def test_keyboard_interrupt_from_a_signal_while_reading(family):
    # The interrupt lands while the SDK is blocked on the socket, inside our generator.
    # The server sends SIGINT 0.05 s after the first delta, while the next one is still 0.05 s
    # away: the client is blocked reading it.
    main = threading.main_thread().ident

    def interrupt() -> None:
        time.sleep(0.05)
        signal.pthread_kill(main, signal.SIGINT)

    family.server.add(Reply(text="slow words keep coming here", chunk_delay=0.1, after=(1, interrupt)))
    c = family.client()
    seen = []
    with pytest.raises(KeyboardInterrupt) as info:
        for chunk in c.chat("hello", stream=True):
            seen.append(chunk)
    # It was raised inside the provider's read, not in this loop's body.
    assert "_turn" in [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert_only_user_turn(c)
    assert c.last_partial is not None
    assert c.last_partial.text == "".join(ch.content for ch in seen if ch.is_text())


def test_retries_are_logged_without_the_key(openai_server, caplog):
    openai_server.add(Reply(status=503, error=f"overloaded for key {KEY}"), Reply(text="ok"))
    c = wb.client("openai:gpt-4.1", api_key=KEY, base_url=openai_server.base_url, retry=FAST_RETRY)
    with caplog.at_level("WARNING", logger="workbench.providers"):
        assert c.chat("hello") == "ok"
    assert "retrying" in caplog.text and "ServerError" in caplog.text
    assert KEY not in caplog.text


def test_error_event_inside_the_stream(family):
    family.server.add(Reply(text="one two three", error_after=1, error="Overloaded"), Reply(text="unused"))
    c = family.client()
    with pytest.raises(StreamInterrupted, match="Overloaded") as info:
        list(c.chat("hello", stream=True))
    assert info.value.partial.text == "one "
    assert_only_user_turn(c)
    assert len(family.server.requests) == 1


def test_an_overload_event_before_any_answer_is_retried(openai_server, anthropic_server):
    for server, model in ((openai_server, "openai:gpt-4.1"), (anthropic_server, "anthropic:claude-sonnet-4-6")):
        server.add(Reply(text="x", error_after=0, error="Overloaded"), Reply(text="second try"))
        c = wb.client(model, api_key=KEY, base_url=server.base_url, retry=FAST_RETRY)
        assert "".join(ch.content for ch in c.chat("hello", stream=True) if ch.is_text()) == "second try"
        assert len(server.requests) == 2
