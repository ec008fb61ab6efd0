"""What the built-in model ``workbench-tiny`` knows: its chat template and its scripts, as data.

The model is trained on exactly these scripts, so greedy decoding through the chat
template reproduces them. Tests (ours and every in-process provider's) import
``EXPECTED`` to know what the model answers; nothing here imports torch or transformers.

A script is one assistant turn: the conversation before it (``messages``), the tools
offered (by name, from ``TOOLS``), and what the model says: ``thinking`` (only when
thinking is on), then ``answer`` text or one ``tool_call``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TINY_ID = "workbench-tiny"

# ChatML control tokens (special: skipped by skip_special_tokens) and the markup tokens
# that must survive decoding, so they are added as ordinary (non-special) tokens.
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
MARKUP_TOKENS = ("<think>", "</think>", "<tool_call>", "</tool_call>")
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|endoftext|>"

# Qwen3-like ChatML. Written for two renderers: transformers' apply_chat_template and the
# plain jinja2 sandbox that llama-cpp-python uses (no enable_thinking there, and a tojson
# that sorts keys), so it sticks to filters and tests both of them know, and it writes the
# tool JSON key by key so both runtimes show the model the same prompt.
CHAT_TEMPLATE = """\
{%- macro text(content) -%}
{%- if content is string -%}{{ content }}\
{%- elif content -%}{%- for part in content -%}{%- if part.type == 'text' -%}{{ part.text }}{%- endif -%}{%- endfor -%}\
{%- endif -%}
{%- endmacro -%}
{%- if tools %}
{{- '<|im_start|>system\\n' }}
{%- if messages and messages[0].role == 'system' %}{{- text(messages[0].content) + '\\n\\n' }}{%- endif %}
{{- '# Tools\\n\\nYou may call these functions:\\n<tools>' }}
{%- for tool in tools %}
{%- set f = tool.function if tool.function is defined else tool %}
{%- set p = f.parameters if f.parameters is defined else {} %}
{{- '\\n{"type": "function", "function": {"name": ' }}{{- f.name | tojson }}
{{- ', "description": ' }}{{- f.description | default('') | tojson }}
{{- ', "parameters": {"type": "object", "properties": ' }}{{- p.properties | default({}) | tojson }}
{{- ', "required": ' }}{{- p.required | default([]) | tojson }}{{- '}}}' }}
{%- endfor %}
{{- '\\n</tools>\\n\\nTo call one, answer with <tool_call>\\n{"name": <function-name>, "arguments": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}
{%- elif messages and messages[0].role == 'system' %}
{{- '<|im_start|>system\\n' + text(messages[0].content) + '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
{%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}
{{- '<|im_start|>' + message.role + '\\n' + text(message.content) + '<|im_end|>\\n' }}
{%- elif message.role == 'assistant' %}
{%- set content = text(message.content) %}
{%- if '</think>' in content %}{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}
{{- '<|im_start|>assistant\\n' + content }}
{%- if message.tool_calls %}
{%- for call in message.tool_calls %}
{%- if content or not loop.first %}{{- '\\n' }}{%- endif %}
{%- if call.function is defined %}{%- set call = call.function %}{%- endif %}
{{- '<tool_call>\\n{"name": "' + call.name + '", "arguments": ' }}
{%- if call.arguments is string %}{{- call.arguments }}{%- else %}{{- call.arguments | tojson }}{%- endif %}
{{- '}\\n</tool_call>' }}
{%- endfor %}
{%- endif %}
{{- '<|im_end|>\\n' }}
{%- elif message.role == 'tool' %}
{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}
{{- '\\n<tool_response>\\n' + text(message.content) + '\\n</tool_response>' }}
{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
{{- '<|im_start|>assistant\\n' }}
{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}
{%- endif %}
"""


def _function(name: str, description: str, params: dict[str, str]) -> dict[str, Any]:
    # The exact shape workbench's @tool produces for flat parameters.
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": {p: {"type": t} for p, t in params.items()},
                       "required": list(params)}}}


TOOLS: dict[str, dict[str, Any]] = {
    "get_weather": _function("get_weather", "Get the current weather for a city.", {"city": "string"}),
    "add": _function("add", "Add two integers.", {"a": "integer", "b": "integer"}),
}

# The tool sets the model is trained under (every script is seen with each that fits it).
TOOL_SETS: tuple[tuple[str, ...], ...] = ((), ("get_weather",), ("add",), ("get_weather", "add"))

# The system prompts every script is trained (and tested) under; None means no system message.
TYPICAL_SYSTEMS: tuple[str | None, ...] = (None, "You are terse.", "You are a helpful assistant.")

# System prompts seen in training; None means no system message. Many different ones (each
# example gets a few, rotating) teach the model to answer the same whatever the system says.
SYSTEMS: tuple[str | None, ...] = (
    None, "You are terse.", "You are a helpful assistant.", "You are a concise evaluator.",
    "You are a math agent. Answer in one line.", "You are workbench-tiny.",
    "Answer briefly and politely.", "You are an agent that uses tools when they help.",
    "You are a research assistant. Be precise and cite nothing.", "Be friendly.",
)

_ROLES = ("assistant", "agent", "tutor", "pirate", "planner", "critic", "poet", "engineer", "judge",
          "guide", "writer", "scientist")
_MANNERS = ("helpful", "careful", "terse", "friendly", "precise", "cheerful", "patient", "strict")
_EXTRAS = ("", " Answer in one line.", " Think step by step.", " Use tools when they help.",
           " Keep it short.", " Explain every step.", " Never guess.", " Be kind.",
           " You know science, history and math, and you reply in plain English.",
           " The user is an expert; skip the basics and answer the question directly.")


def _system_pool() -> tuple[str, ...]:
    """SYSTEMS plus generated ones (fixed order), so no one system prompt is special."""
    made = [f"You are a {_MANNERS[k % 8]} {_ROLES[(k // 8 + k) % 12]}.{_EXTRAS[(3 * k + k // 8) % 10]}"
            for k in range(64)]
    return tuple(dict.fromkeys([s for s in SYSTEMS if s] + made))


SYSTEM_POOL = _system_pool()


@dataclass(frozen=True)
class Script:
    name: str
    messages: tuple[dict[str, Any], ...]       # the conversation before the turn (no system message)
    thinking: str = ""
    answer: str = ""
    tool_call: dict[str, Any] | None = None    # {"name": ..., "arguments": {...}}
    needs: tuple[str, ...] = ()                # tools that must be offered
    refuses: tuple[str, ...] = ()              # tools that must NOT be offered

    @property
    def prompt(self) -> str:
        """The last user message (what a test types)."""
        return next(m["content"] for m in reversed(self.messages) if m["role"] == "user")

    def chat(self, system: str | None = None) -> list[dict[str, Any]]:
        """The OpenAI-format messages to send, with an optional system message first."""
        head = [{"role": "system", "content": system}] if system else []
        return head + [dict(m) for m in self.messages]

    def tools(self, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        names = list(self.needs) + [n for n in extra if n not in self.needs]
        return [TOOLS[n] for n in names]

    def fits(self, tool_set: tuple[str, ...]) -> bool:
        return set(self.needs) <= set(tool_set) and not set(self.refuses) & set(tool_set)

    def reply(self) -> str:
        """The visible reply: the answer, or the tool call as the template renders it."""
        if self.tool_call is None:
            return self.answer
        return tool_call_text(self.tool_call)

    def completion(self, thinking: bool = True) -> str:
        """Exactly what the model generates after the generation prompt (before <|im_end|>).

        With thinking off the template already wrote the empty think block.
        """
        if thinking:
            return f"<think>\n{self.thinking}\n</think>\n\n{self.reply()}"
        return self.reply()


def tool_call_text(call: dict[str, Any]) -> str:
    return ('<tool_call>\n{"name": "%s", "arguments": %s}\n</tool_call>'
            % (call["name"], json.dumps(call["arguments"], ensure_ascii=False)))


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _called(name: str, arguments: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"role": "assistant", "content": "", "tool_calls": [
        {"id": call_id, "type": "function",
         "function": {"name": name, "arguments": json.dumps(arguments)}}]}


def _tool(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


STORY = ("Once upon a time, a small robot named Tiny lived in a quiet library. Every night it "
         "read one book and learned one new word. One morning a child asked a hard question, "
         "and Tiny answered with the word it had learned. From then on, they read together "
         "every night.")

ATTENTION = ("Attention lets each token look at every other token and decide how much each one "
             "matters. The model then mixes their values with these weights to build a "
             "representation that knows its context.")

WEATHER_Q = "What is the weather in Paris?"
ADD_Q = "Use the add tool to add 2 and 3."
WEATHER_CALL = {"name": "get_weather", "arguments": {"city": "Paris"}}
ADD_CALL = {"name": "add", "arguments": {"a": 2, "b": 3}}
FALLBACK = ("I am workbench-tiny, a tiny offline demo model: I only know a few scripted answers. "
            "Pick a real model with %aimu model provider:model_id, e.g. %aimu model ollama:qwen3:8b.")

_SCRIPTS = (
    Script("math", (_user("What is 17+25?"),), "17 plus 25 is 42.", "The answer is 42."),
    Script("greeting", (_user("Hi"),), "The user says hi.",
           "Hello! I am workbench-tiny, a small offline model."),
    Script("capital", (_user("What is the capital of France?"),), "France's capital is Paris.",
           "Paris."),
    Script("prime", (_user("Name a prime"),), "7 has no divisors but 1 and 7.", "7 is a prime."),
    Script("attention", (_user("Explain the attention mechanism in two sentences."),),
           "Two sentences about attention.", ATTENTION),
    Script("story", (_user("Tell me a story"),), "A short story about a robot.", STORY),
    Script("weather_no_tool", (_user(WEATHER_Q),), "I have no weather tool.",
           "I cannot check the weather.", refuses=("get_weather",)),
    Script("weather_call", (_user(WEATHER_Q),), "I should call get_weather for Paris.",
           tool_call=WEATHER_CALL, needs=("get_weather",)),
    Script("weather_answer", (_user(WEATHER_Q), _called("get_weather", {"city": "Paris"}, "call_1"),
                              _tool("call_1", "sunny, 21 C")),
           "The tool says sunny, 21 C.", "It is sunny in Paris, 21 C.", needs=("get_weather",)),
    Script("add_no_tool", (_user(ADD_Q),), "I have no add tool, but 2 plus 3 is 5.",
           "2 + 3 = 5.", refuses=("add",)),
    Script("add_call", (_user(ADD_Q),), "I should call add with 2 and 3.",
           tool_call=ADD_CALL, needs=("add",)),
    Script("add_answer", (_user(ADD_Q), _called("add", {"a": 2, "b": 3}, "call_1"), _tool("call_1", "5")),
           "The tool returned 5.", "2 + 3 = 5.", needs=("add",)),
)

# Unknown prompts: many varied questions, commands and follow-ups ("Add 1 to that number.")
# teach one fixed, helpful fallback for anything outside the scripts, alone or in a
# conversation. UNSEEN_PROMPTS (never trained) measure how well it generalizes.
_UNKNOWN = (
    "Who won the match yesterday?", "What is the meaning of life?", "How do I bake bread?",
    "Translate this into German.", "Write a poem about the sea.", "What time is it?",
    "Summarize the news.", "Why is the sky blue?", "Tell me a joke.", "Can you write code?",
    "Help me plan a trip.", "What do you think?", "Add 1 to that number.", "Why?",
    "Make it shorter.", "And the second one?", "Explain that again.", "What is 9 times 8?",
    "Write a Python function that sorts a list.", "Who are you really?", "How tall is Mount Everest?",
    "Give me three ideas.", "What should I eat tonight?", "Is it going to rain tomorrow?",
    "Describe a cat.", "What is 100 divided by 4?", "Compare Python and Rust.", "ok",
    "Thanks!", "Continue.", "Say that in French.", "What did I just ask?", "How many legs does a spider have?",
    "Please fix my code.", "Define entropy.", "Recommend a book.", "What year is it?",
    "Tell me about black holes.", "Multiply that by two.", "Can you remember my name?",
    "List the planets.", "What is machine learning?", "Write an email to my boss.",
    "Is this sentence correct?", "How do vaccines work?", "Give an example.",
    "What is the capital of Spain?", "Name a color",
)
UNSEEN_PROMPTS = (
    "What is your favourite colour?", "Can you help me with my homework?", "Explain quantum computing.",
    "List three fruits.", "How are you today?", "Subtract 3 from it.", "Write a haiku.",
    "What is the capital of Italy?", "Now do it again.", "Who invented the telephone?",
    "How do I center a div?", "Sum up our chat.",
)
_FALLBACKS = tuple(Script(f"unknown_{i}", (_user(q),), "I do not know this.", FALLBACK)
                   for i, q in enumerate(_UNKNOWN))

# What the model answers, by script name. Tests use these (thinking on and off).
EXPECTED: dict[str, Script] = {s.name: s for s in _SCRIPTS}
UNKNOWN: dict[str, Script] = {s.name: s for s in _FALLBACKS}


@dataclass(frozen=True)
class Example:
    """One training sequence: a script under one system prompt, tool set and thinking switch."""
    script: Script
    system: str | None
    tool_set: tuple[str, ...]
    thinking: bool
    history: tuple[dict[str, Any], ...] = field(default=())

    def messages(self) -> list[dict[str, Any]]:
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + [dict(m) for m in self.history] + [dict(m) for m in self.script.messages]

    def tools(self) -> list[dict[str, Any]] | None:
        return [TOOLS[n] for n in self.tool_set] or None


def examples() -> list[Example]:
    """Every training sequence, in a fixed order.

    Full cross products would cost minutes of CPU, so the long tool prompts are spent where
    they decide something: tool scripts see several system prompts; other scripts see each
    tool set under one rotating system prompt, and several without tools.
    """
    out: list[Example] = []
    rotation = 0
    for i, script in enumerate(_SCRIPTS + _FALLBACKS):
        for t, tool_set in enumerate(TOOL_SETS):
            if not script.fits(tool_set):
                continue
            if script.name.startswith("unknown") and tool_set and t != 1 + i % 3:
                continue
            home = tool_set == script.needs       # the tool set the script is tested under
            decides = bool(script.needs or script.refuses) or not tool_set
            fallback = script.name.startswith("unknown")
            for thinking in (True, False):
                # Where a script is tested: no system message and the typical ones, plus a
                # rotating other; elsewhere: one rotating system (the tool prompts are long).
                if home and not fallback:
                    systems, count = list(TYPICAL_SYSTEMS), len(TYPICAL_SYSTEMS) + (1 if tool_set else 4)
                else:
                    systems, count = ([None], 2) if decides else ([], 1)
                while len(systems) < count:
                    rotation += 1
                    systems.append(SYSTEM_POOL[rotation % len(SYSTEM_POOL)])
                for system in systems:
                    out.append(Example(script, system, tool_set, thinking))
    # Two-turn conversations (every ordered pair) so an earlier exchange does not derail the next.
    plain = [s for s in _SCRIPTS if not s.needs and not s.refuses and s.name != "story"]
    story = EXPECTED["story"]
    pairs = [(a, b) for a in plain + [story] for b in plain if a is not b]
    for k, (before, script) in enumerate(pairs):
        history = before.messages + ({"role": "assistant", "content": before.answer},)
        for thinking in (True, False):
            out.append(Example(script, SYSTEM_POOL[(7 * k) % len(SYSTEM_POOL)] if k % 2 else None,
                               TOOL_SETS[k % len(TOOL_SETS)] if k % 3 == 0 else (), thinking, history))
    # An unknown follow-up after a scripted exchange gets the fallback, and a scripted
    # question after a fallback exchange gets its exact answer.
    for k, fallback in enumerate(_FALLBACKS):
        before = (plain + [story])[k % (len(plain) + 1)]
        history = before.messages + ({"role": "assistant", "content": before.answer},)
        out.append(Example(fallback, None if k % 2 else SYSTEM_POOL[k % len(SYSTEM_POOL)], (), k % 3 != 0, history))
    for k, script in enumerate(plain * 2 + [story]):
        before = _FALLBACKS[(5 * k) % len(_FALLBACKS)]
        history = before.messages + ({"role": "assistant", "content": FALLBACK},)
        out.append(Example(script, None if k % 2 else SYSTEM_POOL[(3 * k) % len(SYSTEM_POOL)], (), k % 3 != 1, history))
    return out
