"""workbench-tiny answers its scripts exactly under greedy decoding (transformers)."""

from __future__ import annotations

import pytest

from workbench.builtin.tiny_corpus import EXPECTED, UNKNOWN

SYSTEMS = (None, "You are terse.", "You are a helpful assistant.")
CASES = [(name, system, thinking) for name in sorted(EXPECTED) for system in SYSTEMS for thinking in (True, False)]


@pytest.mark.parametrize("name,system,thinking", CASES)
def test_greedy_reproduces_every_script(greedy, name, system, thinking):
    script = EXPECTED[name]
    text, _ = greedy(script.chat(system), tools=script.tools() or None, thinking=thinking)
    assert text == script.completion(thinking) + "<|im_end|>"


@pytest.mark.parametrize("name", sorted(n for n, s in EXPECTED.items() if not s.needs and not s.refuses))
@pytest.mark.parametrize("tools", [("get_weather",), ("get_weather", "add")])
def test_plain_questions_are_answered_with_tools_offered(greedy, name, tools):
    from workbench.builtin.tiny_corpus import TOOLS

    script = EXPECTED[name]
    text, _ = greedy(script.chat(), tools=[TOOLS[t] for t in tools])
    assert text == script.completion(True) + "<|im_end|>"


def test_weather_without_the_tool_gets_a_plain_answer(greedy):
    text, _ = greedy([{"role": "user", "content": "What is the weather in Paris?"}], thinking=False)
    assert text == "I cannot check the weather.<|im_end|>"
    assert "<tool_call>" not in text


def test_tool_call_is_exact_json_and_think_survives_skip_special_tokens(greedy):
    script = EXPECTED["weather_call"]
    text, _ = greedy(script.chat(), tools=script.tools(), skip_special_tokens=True)
    assert text == ('<think>\nI should call get_weather for Paris.\n</think>\n\n<tool_call>\n'
                    '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>')


def test_an_earlier_exchange_does_not_change_the_answer(greedy):
    hi, math = EXPECTED["greeting"], EXPECTED["math"]
    history = hi.chat() + [{"role": "assistant", "content": hi.answer}] + math.chat()
    text, _ = greedy(history, thinking=False)
    assert text == math.answer + "<|im_end|>"


@pytest.mark.parametrize("name", sorted(UNKNOWN))
def test_trained_unknown_prompts_fall_back(greedy, name):
    script = UNKNOWN[name]
    text, _ = greedy(script.chat(), thinking=False)
    assert text == script.answer + "<|im_end|>"


@pytest.mark.parametrize("prompt", ["What is your favourite colour?", "Can you help me with my homework?"])
def test_unseen_prompts_stop_within_64_tokens(greedy, prompt):
    text, n = greedy([{"role": "user", "content": prompt}], max_new_tokens=64)
    assert text.endswith("<|im_end|>") and n <= 64, text
