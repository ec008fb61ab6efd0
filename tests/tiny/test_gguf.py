"""The GGUF export: the same weights and tokenizer, so llama.cpp answers what transformers answers."""

from __future__ import annotations

import pytest

from workbench.builtin.tiny_corpus import EXPECTED, MARKUP_TOKENS, SPECIAL_TOKENS

SYSTEMS = (None, "You are terse.")
CASES = [(name, system, thinking) for name in sorted(EXPECTED) for system in SYSTEMS for thinking in (True, False)]


def _hf_prompt(hf_tokenizer, script, system, thinking):
    return hf_tokenizer.apply_chat_template(script.chat(system), tools=script.tools() or None,
                                            add_generation_prompt=True, enable_thinking=thinking,
                                            tokenize=False)


def test_metadata(tiny, hf_tokenizer):
    import gguf

    reader = gguf.GGUFReader(str(tiny.gguf))
    fields = reader.fields

    def value(key):
        return fields[key].contents()

    assert value("general.architecture") == "llama"
    assert value("tokenizer.ggml.model") == "gpt2"
    assert value("tokenizer.ggml.pre") == "gpt-2"
    assert value("tokenizer.chat_template") == hf_tokenizer.chat_template
    assert value("tokenizer.ggml.add_bos_token") is False
    tokens, types = value("tokenizer.ggml.tokens"), value("tokenizer.ggml.token_type")
    assert len(tokens) == len(hf_tokenizer)
    assert tokens[value("tokenizer.ggml.eos_token_id")] == "<|im_end|>"
    for token in SPECIAL_TOKENS:
        assert types[tokens.index(token)] == gguf.TokenType.CONTROL
    for token in MARKUP_TOKENS:
        assert types[tokens.index(token)] == gguf.TokenType.USER_DEFINED
    assert all(t.tensor_type == gguf.GGMLQuantizationType.F32 for t in reader.tensors)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_llama_cpp_tokenizes_prompts_like_transformers(llama, hf_tokenizer, name):
    script = EXPECTED[name]
    prompt = _hf_prompt(hf_tokenizer, script, "You are terse.", True) + script.completion(True) + "<|im_end|>"
    assert llama.tokenize(prompt.encode(), add_bos=False, special=True) == hf_tokenizer.encode(prompt)


@pytest.mark.parametrize("name,system,thinking", CASES)
def test_llama_cpp_greedy_reproduces_every_script(llama, hf_tokenizer, name, system, thinking):
    script = EXPECTED[name]
    tokens = llama.tokenize(_hf_prompt(hf_tokenizer, script, system, thinking).encode(),
                            add_bos=False, special=True)
    llama.reset()
    out = llama.create_completion(tokens, max_tokens=120, temperature=0.0, top_k=1)
    choice = out["choices"][0]
    assert choice["text"] == script.completion(thinking)
    assert choice["finish_reason"] == "stop"      # stopped at <|im_end|>, not at max_tokens


def test_create_chat_completion_uses_the_embedded_template(llama):
    math = EXPECTED["math"]
    out = llama.create_chat_completion(messages=math.chat(), temperature=0.0, top_k=1, max_tokens=96)
    assert out["choices"][0]["message"]["content"] == math.completion(True)
    assert out["choices"][0]["finish_reason"] == "stop"


def test_create_chat_completion_with_tools(llama):
    call = EXPECTED["weather_call"]
    out = llama.create_chat_completion(messages=call.chat(), tools=call.tools(), temperature=0.0,
                                       top_k=1, max_tokens=96)
    assert out["choices"][0]["message"]["content"] == call.completion(True)
    answer = EXPECTED["weather_answer"]
    out = llama.create_chat_completion(messages=answer.chat("You are terse."), tools=answer.tools(),
                                       temperature=0.0, top_k=1, max_tokens=96)
    assert out["choices"][0]["message"]["content"] == answer.completion(True)
