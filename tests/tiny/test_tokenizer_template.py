"""The tokenizer and chat template of workbench-tiny, as transformers and llama-cpp-python see them."""

from __future__ import annotations

import json

import pytest

from workbench.builtin import tiny_corpus as corpus
from workbench.builtin.tiny_corpus import EXPECTED, TOOLS


def test_control_tokens_are_special_and_markup_tokens_are_not(hf_tokenizer):
    assert hf_tokenizer.eos_token == "<|im_end|>"
    assert hf_tokenizer.pad_token == "<|endoftext|>"
    added = {t.content: t.special for t in hf_tokenizer.added_tokens_decoder.values()}
    for token in corpus.SPECIAL_TOKENS:
        assert added[token] is True
    for token in corpus.MARKUP_TOKENS:
        assert added[token] is False and token not in hf_tokenizer.all_special_tokens
        ids = hf_tokenizer.encode(token, add_special_tokens=False)
        assert len(ids) == 1, f"{token} should be one token, got {ids}"


def test_decoding_keeps_think_and_tool_call_but_drops_control_tokens(hf_tokenizer):
    text = ('<|im_start|>assistant\n<think>\nhmm\n</think>\n\n<tool_call>\n{"name": "add"}\n'
            '</tool_call><|im_end|>')
    ids = hf_tokenizer.encode(text, add_special_tokens=False)
    decoded = hf_tokenizer.decode(ids, skip_special_tokens=True)
    assert decoded == 'assistant\n<think>\nhmm\n</think>\n\n<tool_call>\n{"name": "add"}\n</tool_call>'
    assert hf_tokenizer.decode(ids) == text          # lossless round trip


def test_no_bos_is_added(hf_tokenizer):
    assert hf_tokenizer.encode("Hi", add_special_tokens=True) == hf_tokenizer.encode("Hi", add_special_tokens=False)


def test_tokenizer_config_carries_the_chat_template(tiny):
    config = json.loads((tiny.hf_dir / "tokenizer_config.json").read_text())
    assert config["chat_template"] == corpus.CHAT_TEMPLATE
    assert config["eos_token"] == "<|im_end|>" and config["pad_token"] == "<|endoftext|>"


def _render(hf_tokenizer, messages, tools=None, thinking=None):
    kwargs = {} if thinking is None else {"enable_thinking": thinking}
    return hf_tokenizer.apply_chat_template(messages, tools=tools, add_generation_prompt=True,
                                            tokenize=False, **kwargs)


def test_template_system_user_and_generation_prompt(hf_tokenizer):
    text = _render(hf_tokenizer, [{"role": "system", "content": "You are terse."},
                                  {"role": "user", "content": "Hi"}])
    assert text == ("<|im_start|>system\nYou are terse.<|im_end|>\n"
                    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


def test_template_thinking_off_prefills_an_empty_think_block(hf_tokenizer):
    on = _render(hf_tokenizer, [{"role": "user", "content": "Hi"}], thinking=True)
    off = _render(hf_tokenizer, [{"role": "user", "content": "Hi"}], thinking=False)
    assert off == on + "<think>\n\n</think>\n\n"
    assert _render(hf_tokenizer, [{"role": "user", "content": "Hi"}]) == on     # thinking is the default


def test_template_renders_tools_calls_and_responses(hf_tokenizer):
    script = EXPECTED["weather_answer"]
    text = _render(hf_tokenizer, script.chat("You are terse."), tools=script.tools())
    assert text.startswith("<|im_start|>system\nYou are terse.\n\n# Tools\n")
    assert '<tools>\n{"type": "function", "function": {"name": "get_weather", ' in text
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>' in text
    assert "<|im_start|>user\n<tool_response>\nsunny, 21 C\n</tool_response><|im_end|>\n" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_template_accepts_dict_arguments_content_parts_and_strips_old_thinking(hf_tokenizer):
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "Use the add tool to add 2 and 3."}]},
        {"role": "assistant", "content": "<think>\nx\n</think>\n\nSure.",
         "tool_calls": [{"type": "function", "function": {"name": "add", "arguments": {"a": 2, "b": 3}}}]},
        {"role": "tool", "content": "5"}, {"role": "tool", "content": "6"},
    ]
    text = _render(hf_tokenizer, messages, tools=[TOOLS["add"]])
    assert "<|im_start|>user\nUse the add tool to add 2 and 3.<|im_end|>" in text
    assert ('<|im_start|>assistant\nSure.\n<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n'
            '</tool_call><|im_end|>') in text
    # Consecutive tool results share one user turn.
    assert ("<|im_start|>user\n<tool_response>\n5\n</tool_response>\n<tool_response>\n6\n"
            "</tool_response><|im_end|>") in text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_llama_cpp_style_jinja_renders_what_transformers_renders(hf_tokenizer, name):
    # llama-cpp-python renders GGUF templates with a plain jinja2 sandbox: its tojson sorts
    # keys and HTML-escapes; the template is written so the prompt comes out the same.
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(loader=jinja2.BaseLoader(), trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(hf_tokenizer.chat_template)
    script = EXPECTED[name]
    tools = script.tools(("get_weather", "add")) if script.fits(("get_weather", "add")) else script.tools() or None
    plain = template.render(messages=script.chat("You are terse."), tools=tools, add_generation_prompt=True,
                            bos_token="<|endoftext|>", eos_token="<|im_end|>")
    assert plain == _render(hf_tokenizer, script.chat("You are terse."), tools=tools)
