"""The core contracts: StreamChunk and include=, model strings and catalogs, history state, the tool loop."""

import json
import subprocess
import sys
import warnings

import pytest

import workbench as wb
from workbench.errors import ModelStringError, UnknownProviderError
from workbench.models.chunks import Phase, StreamChunk, filter_chunks, normalize_include
from workbench.models.loop import CallModel, Finish, RunTools, ToolLoop
from workbench.models.spec import AnthropicModel, ModelSpec, OllamaModel
from workbench.models.strings import UnknownModelWarning, parse_model_string, resolve_model
from workbench.models.turn import TurnResult, done_chunk, wire_message


def test_stream_chunk_phase_strings_and_tags():
    c = StreamChunk("text", "hi")
    assert c.phase is Phase.TEXT and c.is_text() and str(c.phase) == "text"
    assert c.phase == "text"
    t = c.tagged("worker", 2)
    assert (t.agent, t.iteration) == ("worker", 2)
    inner = StreamChunk("text", "x", agent="inner", iteration=1).tagged("outer", 5)
    assert (inner.agent, inner.iteration) == ("inner", 1)
    with pytest.raises(ValueError, match="valid phases"):
        StreamChunk("banana", "x")


def test_include_filter_is_validated_and_applied():
    chunks = [StreamChunk("thinking", "a"), StreamChunk("text", "b"), done_chunk()]
    assert [c.content for c in filter_chunks(chunks, ["text"])] == ["b"]
    assert len(list(filter_chunks(chunks, None))) == 3
    assert normalize_include("thinking") == {Phase.THINKING}
    with pytest.raises(ValueError, match="thinking, text"):
        normalize_include(["txt"])


def test_model_strings():
    assert parse_model_string("ollama:qwen3:8b") == ("ollama", "qwen3:8b")
    r = resolve_model("anthropic:claude-sonnet-4-6")
    assert r.member is AnthropicModel.CLAUDE_SONNET_4_6 and r.spec.thinking
    assert resolve_model(OllamaModel.QWEN_3_8B).provider.name == "ollama"
    with pytest.raises(UnknownProviderError) as err:
        resolve_model("nope:model")
    assert "anthropic" in str(err.value) and "ollama" in str(err.value)
    for bad in ["claude-sonnet-4-6", "openai:", ":gpt-4.1", ""]:
        with pytest.raises(ModelStringError):
            resolve_model(bad)
    with pytest.raises(ModelStringError, match="anthropic:claude-sonnet-4-6"):
        resolve_model("claude-sonnet-4-6")


def test_unknown_model_id_warns_and_is_conservative():
    with pytest.warns(UnknownModelWarning):
        r = resolve_model("openai:gpt-99-experimental")
    assert r.spec == ModelSpec("gpt-99-experimental")
    assert not (r.spec.tools or r.spec.thinking or r.spec.vision) and not r.spec.known


def test_openai_compat_url_in_string():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = resolve_model("openai-compat:my-model@http://127.0.0.1:9999/v1")
    assert r.spec.id == "my-model" and r.base_url == "http://127.0.0.1:9999/v1"


def test_catalog_members():
    m = AnthropicModel.CLAUDE_SONNET_4_6
    assert m.value == "claude-sonnet-4-6" and m.spec.id == "claude-sonnet-4-6"
    assert m.supports_tools and m in AnthropicModel.TOOL_MODELS
    assert OllamaModel.GEMMA_3_4B not in OllamaModel.TOOL_MODELS
    assert OllamaModel.GEMMA_3_4B in OllamaModel.VISION_MODELS
    assert m.model_string == "anthropic:claude-sonnet-4-6"


def test_turn_result_builds_openai_assistant_message():
    turn = TurnResult()
    for c in [StreamChunk("thinking", "hm"), StreamChunk("text", "Hel"), StreamChunk("text", "lo"),
              StreamChunk("tool_call", {"id": "c1", "name": "f", "arguments": {"x": 1}}),
              done_chunk(usage={"prompt_tokens": 3, "completion_tokens": 4}, finish_reason="tool_calls")]:
        turn.feed(c)
    msg = turn.assistant_message()
    assert msg["content"] == "Hello" and msg["thinking"] == "hm"
    assert json.loads(msg["tool_calls"][0]["function"]["arguments"]) == {"x": 1}
    assert turn.usage == {"input_tokens": 3, "output_tokens": 4}
    assert "thinking" not in wire_message(msg)


def _turn(text="", calls=()):
    t = TurnResult()
    if text:
        t.feed(StreamChunk("text", text))
    for c in calls:
        t.feed(StreamChunk("tool_call", c))
    t.feed(done_chunk())
    return t


def test_tool_loop_writes_history_only_at_step_boundaries():
    history = [{"role": "user", "content": "q"}]
    loop = ToolLoop(history, run_tools=True, max_rounds=3)
    assert isinstance(loop.next_step(), CallModel)
    loop.model_done(_turn("let me look", [{"id": "1", "name": "f", "arguments": {}}]))
    step = loop.next_step()
    assert isinstance(step, RunTools) and step.calls[0]["name"] == "f"
    assert len(history) == 1  # the tool request is not in history until its results are
    loop.tools_done([{"id": "1", "name": "f", "content": "42", "is_error": False}])
    assert [m["role"] for m in history] == ["user", "assistant", "tool"]
    loop.model_done(_turn("done"))
    assert loop.next_step() == Finish("done", "stop", loop.last_turn)
    assert loop.used_tools


def test_tool_loop_bounded_rounds():
    history = []
    loop = ToolLoop(history, run_tools=True, max_rounds=1)
    loop.model_done(_turn("", [{"id": "1", "name": "f", "arguments": {}}]))
    loop.tools_done([{"id": "1", "name": "f", "content": "x", "is_error": False}])
    assert loop.next_step().reason == "max_rounds"


def test_tool_loop_without_running_tools_keeps_request():
    history = []
    loop = ToolLoop(history, run_tools=False)
    loop.model_done(_turn("", [{"id": "1", "name": "f", "arguments": {}}]))
    assert loop.next_step().reason == "tools_not_run" and history[-1]["tool_calls"]


class _EchoClient(wb.BaseModelClient):
    """A provider whose 'model' is a function of the last message: exercises the driver, not a mock of one."""

    def _turn(self, messages, tools, options, stream):
        last = messages[-1]["content"]
        if last == "boom":
            yield StreamChunk("text", "par")
            raise RuntimeError("cut")
        yield StreamChunk("thinking", "echoing")
        yield StreamChunk("text", f"echo: {last}")
        yield done_chunk(usage={"input_tokens": 1, "output_tokens": 2}, finish_reason="stop")


def _echo(system=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _EchoClient("openai-compat:echo@http://127.0.0.1:1/v1", system=system)


def test_chat_generate_reset_restore_contract():
    c = _echo(system="sys")
    assert c.chat("a") == "echo: a"
    assert [m["role"] for m in c.messages] == ["system", "user", "assistant"]
    assert c.last_thinking == "echoing" and c.last_usage == {"input_tokens": 1, "output_tokens": 2}
    assert c.generate("b") == "echo: b" and len(c.messages) == 3
    saved = [dict(m) for m in c.messages]
    c.reset()
    assert c.messages == [{"role": "system", "content": "sys"}]
    c.restore(saved)
    assert [m["role"] for m in c.messages].count("system") == 1 and len(c.messages) == 3
    c.reset(system_message=None)
    assert c.messages == [] and c.system_message is None
    c.restore(saved)  # a client without a system message adopts the saved one
    assert c.system_message == "sys" and c.messages[0]["role"] == "system"


def test_failed_turn_keeps_user_message_and_partial():
    c = _echo()
    c.chat("ok")
    with pytest.raises(RuntimeError) as err:
        c.chat("boom")
    assert c.messages[-1] == {"role": "user", "content": "boom"}
    assert all(m["role"] != "assistant" or m["content"] for m in c.messages)
    assert c.last_partial.text == "par" and err.value.partial.text == "par"


def test_stream_include_and_commit_at_end():
    c = _echo()
    stream = c.chat("s", stream=True, include=["text"])
    assert len(c.messages) == 0  # nothing happens until iterated
    assert [ch.content for ch in stream] == ["echo: s"]
    assert c.messages[-1]["content"] == "echo: s"


def test_repr_never_shows_api_key():
    c = wb.client("openai:gpt-4.1", api_key="sk-secret-123456", base_url="http://127.0.0.1:9/v1")
    shown = f"{c!r} {c} {c._api_key!r} {vars(c)!r}"
    assert "sk-secret" not in shown and c._api_key.get() == "sk-secret-123456"


def test_import_workbench_is_light():
    code = ("import sys, workbench, workbench.models, workbench.prompts, workbench.evals; "
            "from workbench.evals import Benchmark; from workbench.prompts import PromptCatalog, ExactMatchScorer; "
            "import workbench.memory, workbench.history, workbench.log, workbench.models.images, workbench.tools; "
            "from workbench.history import ConversationManager; workbench.log.enabled(); "
            "heavy = [m for m in ('openai', 'anthropic', 'ollama', 'torch', 'transformers', 'llama_cpp', 'IPython', "
            "'ipywidgets', 'anywidget', 'fastmcp', 'pandas', 'ray', 'deepeval', 'apsw', 'sqlite_vec', 'numpy', "
            "'diffusers', 'PIL', 'google.genai') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_answer_text_is_the_last_model_calls_text():
    from workbench.models.turn import AnswerText

    answer = AnswerText()
    for c in [StreamChunk("text", "Let me check."), StreamChunk("tool_call", {"id": "1", "name": "f", "arguments": {}}),
              done_chunk(), StreamChunk("tool_result", {"id": "1", "name": "f", "content": "x", "is_error": False}),
              StreamChunk("thinking", "ok"), StreamChunk("text", "It is "), StreamChunk("text", "x.")]:
        assert answer.feed(c) is c
    assert answer.text == "Let me check."   # the latest finished call's text, until the next one is done
    answer.feed(done_chunk())
    assert answer.text == "It is x."
