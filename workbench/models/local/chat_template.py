"""Chat templates for in-process models: OpenAI-format history in, the model's prompt text out.

transformers renders through ``tokenizer.apply_chat_template``; a GGUF carries its template
as ``tokenizer.chat_template`` and nothing in llama.cpp renders it with tools and the
thinking switch, so :func:`render` does it here with the same Jinja settings transformers
uses (sandboxed, ``trim_blocks``/``lstrip_blocks``, a ``tojson`` that keeps key order), so
that both providers give one model the same prompt.
"""

from __future__ import annotations

import json
import time
from typing import Any

from workbench.errors import ConfigurationError
from workbench.models.turn import parse_arguments, wire_message


def template_message(message: dict[str, Any]) -> dict[str, Any]:
    """A wire message with tool-call arguments as dicts (what chat templates expect)."""
    m = wire_message(message)
    if m.get("tool_calls"):
        calls = []
        for call in m["tool_calls"]:
            fn = dict(call.get("function", call))
            fn["arguments"] = parse_arguments(fn.get("arguments"))
            calls.append({**call, "function": fn})
        m["tool_calls"] = calls
    if m.get("content") is None:
        m["content"] = ""
    return m


def template_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """``enable_thinking`` from ``thinking=`` (templates without the switch ignore it)."""
    thinking = options.get("thinking")
    return {} if thinking is None else {"enable_thinking": bool(thinking)}


def starts_in_thinking(prompt: str) -> bool:
    """Some templates open ``<think>`` in the prompt: the generated text then starts inside it."""
    return prompt.rstrip().endswith("<think>")


def render(source: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
           options: dict[str, Any], *, bos_token: str = "", eos_token: str = "") -> str:
    variables: dict[str, Any] = {"messages": [template_message(m) for m in messages], "tools": tools or None,
                                 "add_generation_prompt": True, "bos_token": bos_token, "eos_token": eos_token,
                                 **template_kwargs(options)}
    return _compiled(source).render(**variables)


_compiled_templates: dict[str, Any] = {}


def _compiled(source: str):
    template = _compiled_templates.get(source)
    if template is None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message: str):
            raise ConfigurationError(f"The model's chat template refused the messages: {message}")

        def tojson(value, indent=None, ensure_ascii=False, sort_keys=False):
            return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii, sort_keys=sort_keys)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                            extensions=["jinja2.ext.loopcontrols"])
        env.filters["tojson"] = tojson
        env.globals["raise_exception"] = raise_exception
        env.globals["strftime_now"] = lambda fmt: time.strftime(fmt)
        template = _compiled_templates[source] = env.from_string(source)
    return template
