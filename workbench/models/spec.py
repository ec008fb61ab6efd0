"""ModelSpec, the Model enum base, and the per-provider catalogs.

A catalog member's value is its ModelSpec; ``.value`` on the member gives the provider's
model id (what goes to the SDK), ``.spec`` the whole spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    """A model id plus what it can do. Equality and hash use the id only."""

    id: str
    tools: bool = False
    thinking: bool = False
    vision: bool = False
    generation_kwargs: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    context_window: int | None = field(default=None, compare=False, hash=False)
    known: bool = field(default=True, compare=False, hash=False)

    @classmethod
    def unknown(cls, model_id: str) -> "ModelSpec":
        """Conservative flags for an id no catalog lists."""
        return cls(model_id, tools=False, thinking=False, vision=False, known=False)


class _ClassProperty:
    def __init__(self, fget):
        self.fget = fget

    def __get__(self, obj, owner):
        return self.fget(owner)


class Model(Enum):
    """Base of every provider catalog. Subclasses set ``provider``."""

    @property
    def spec(self) -> ModelSpec:
        return self._value_

    @property
    def value(self) -> str:  # the id the SDK wants
        return self._value_.id

    @property
    def id(self) -> str:
        return self._value_.id

    @property
    def supports_tools(self) -> bool:
        return self._value_.tools

    @property
    def supports_thinking(self) -> bool:
        return self._value_.thinking

    @property
    def supports_vision(self) -> bool:
        return self._value_.vision

    @property
    def model_string(self) -> str:
        return f"{self.provider_name()}:{self.id}"

    @classmethod
    def provider_name(cls) -> str:
        return cls.__dict__.get("_provider_", None) or getattr(cls, "_provider_", "")

    @classmethod
    def by_id(cls, model_id: str) -> "Model | None":
        for member in cls:
            if member.id == model_id:
                return member
        return None

    TOOL_MODELS = _ClassProperty(lambda cls: [m for m in cls if m.supports_tools])
    THINKING_MODELS = _ClassProperty(lambda cls: [m for m in cls if m.supports_thinking])
    VISION_MODELS = _ClassProperty(lambda cls: [m for m in cls if m.supports_vision])

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self.name}: {self.model_string!r}>"


def _catalog(name: str, provider: str, members: dict[str, ModelSpec]) -> type[Model]:
    cls = Model(name, {k: v for k, v in members.items()}, module=__name__)
    cls._provider_ = provider
    return cls


S = ModelSpec

AnthropicModel = _catalog("AnthropicModel", "anthropic", {
    "CLAUDE_OPUS_4_6": S("claude-opus-4-6", tools=True, thinking=True, vision=True, context_window=200_000),
    "CLAUDE_SONNET_4_6": S("claude-sonnet-4-6", tools=True, thinking=True, vision=True, context_window=200_000),
    "CLAUDE_SONNET_4_5": S("claude-sonnet-4-5", tools=True, thinking=True, vision=True, context_window=200_000),
    "CLAUDE_HAIKU_4_5": S("claude-haiku-4-5", tools=True, thinking=True, vision=True, context_window=200_000),
})

OpenAIModel = _catalog("OpenAIModel", "openai", {
    "GPT_4_1": S("gpt-4.1", tools=True, vision=True, context_window=1_047_576),
    "GPT_4_1_MINI": S("gpt-4.1-mini", tools=True, vision=True, context_window=1_047_576),
    "GPT_4O": S("gpt-4o", tools=True, vision=True, context_window=128_000),
    "GPT_4O_MINI": S("gpt-4o-mini", tools=True, vision=True, context_window=128_000),
    "O4_MINI": S("o4-mini", tools=True, thinking=True, vision=True, context_window=200_000),
    "GPT_5": S("gpt-5", tools=True, thinking=True, vision=True, context_window=400_000),
    "GPT_5_MINI": S("gpt-5-mini", tools=True, thinking=True, vision=True, context_window=400_000),
})

GeminiModel = _catalog("GeminiModel", "gemini", {
    "GEMINI_2_5_PRO": S("gemini-2.5-pro", tools=True, thinking=True, vision=True),
    "GEMINI_2_5_FLASH": S("gemini-2.5-flash", tools=True, thinking=True, vision=True),
    "GEMINI_2_5_FLASH_LITE": S("gemini-2.5-flash-lite", tools=True, thinking=True, vision=True),
})

OllamaModel = _catalog("OllamaModel", "ollama", {
    "QWEN_3_8B": S("qwen3:8b", tools=True, thinking=True),
    "QWEN_3_5_9B": S("qwen3.5:9b", tools=True, thinking=True, vision=True),
    "LLAMA_3_2_3B": S("llama3.2:3b", tools=True),
    "GEMMA_3_4B": S("gemma3:4b", vision=True),
    "DEEPSEEK_R1_8B": S("deepseek-r1:8b", thinking=True),
    "GPT_OSS_20B": S("gpt-oss:20b", tools=True, thinking=True),
})

HuggingFaceModel = _catalog("HuggingFaceModel", "hf", {
    "WORKBENCH_TINY": S("workbench-tiny", tools=True, thinking=True, context_window=512,
                        generation_kwargs={"max_new_tokens": 96}),
    "QWEN_3_0_6B": S("Qwen/Qwen3-0.6B", tools=True, thinking=True),
    "QWEN_3_8B": S("Qwen/Qwen3-8B", tools=True, thinking=True),
    "SMOLLM_2_135M": S("HuggingFaceTB/SmolLM2-135M-Instruct"),
    "LLAMA_3_1_8B": S("meta-llama/Llama-3.1-8B-Instruct", tools=True),
})

LlamaCppModel = _catalog("LlamaCppModel", "llamacpp", {
    "WORKBENCH_TINY": S("workbench-tiny", tools=True, thinking=True, context_window=512,
                        generation_kwargs={"max_tokens": 96}),
})

CATALOGS: dict[str, type[Model]] = {
    "anthropic": AnthropicModel,
    "openai": OpenAIModel,
    "gemini": GeminiModel,
    "ollama": OllamaModel,
    "hf": HuggingFaceModel,
    "llamacpp": LlamaCppModel,
}
