"""Fixtures for the built-in model's own tests: the shared build, its tokenizer and model."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny():
    from workbench.builtin.tiny import ensure_tiny

    return ensure_tiny()


@pytest.fixture(scope="session")
def hf_tokenizer(tiny):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny.hf_dir)


@pytest.fixture(scope="session")
def hf_model(tiny):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny.hf_dir)
    model.eval()
    return model


@pytest.fixture(scope="session")
def greedy(hf_tokenizer, hf_model):
    """Greedy completion through the tokenizer's own chat template; returns the decoded new text."""
    import torch

    def run(messages, tools=None, thinking=True, max_new_tokens=120, skip_special_tokens=False):
        inputs = hf_tokenizer.apply_chat_template(
            messages, tools=tools, add_generation_prompt=True, enable_thinking=thinking,
            return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = hf_model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        new = out[0, inputs["input_ids"].shape[1]:]
        return hf_tokenizer.decode(new, skip_special_tokens=skip_special_tokens), len(new)

    return run


@pytest.fixture(scope="session")
def llama(tiny):
    import llama_cpp  # installed by the test command: a missing package must fail, not skip
    return llama_cpp.Llama(model_path=str(tiny.gguf), n_ctx=512, verbose=False, seed=0)
