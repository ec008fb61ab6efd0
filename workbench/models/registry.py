"""The provider registry: provider name -> where its client class lives and how it connects.

Client classes are named by import path so that nothing is imported until a client of
that provider is built (``import workbench`` stays light). Users may register their own.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    client_path: str              # "module:Class"
    extra: str                    # the pip extra that brings its SDK
    api_key_env: str | None = None    # environment variable holding the key
    key_required: bool = False
    base_url: str | None = None   # default base URL (OpenAI-compatible family)
    base_url_env: str | None = None
    in_process: bool = False
    description: str = ""

    def load_client_class(self):
        module, _, cls = self.client_path.partition(":")
        return getattr(importlib.import_module(module), cls)


_OPENAI_COMPAT = "workbench.models.providers.openai_compat:OpenAICompatClient"

PROVIDERS: dict[str, ProviderInfo] = {}


def register_provider(info: ProviderInfo) -> None:
    PROVIDERS[info.name] = info


for _info in [
    ProviderInfo("anthropic", "workbench.models.providers.anthropic:AnthropicClient", "anthropic",
                 api_key_env="ANTHROPIC_API_KEY", key_required=True, base_url_env="ANTHROPIC_BASE_URL",
                 description="Anthropic Messages API"),
    ProviderInfo("openai", _OPENAI_COMPAT, "openai", api_key_env="OPENAI_API_KEY", key_required=True,
                 base_url_env="OPENAI_BASE_URL", description="OpenAI Chat Completions"),
    ProviderInfo("gemini", _OPENAI_COMPAT, "openai", api_key_env="GEMINI_API_KEY", key_required=True,
                 base_url="https://generativelanguage.googleapis.com/v1beta/openai/",
                 base_url_env="GEMINI_BASE_URL", description="Gemini through its OpenAI-compatible endpoint"),
    ProviderInfo("lmstudio", _OPENAI_COMPAT, "openai", api_key_env="LMSTUDIO_API_KEY",
                 base_url="http://127.0.0.1:1234/v1", base_url_env="LMSTUDIO_BASE_URL",
                 description="LM Studio server"),
    ProviderInfo("vllm", _OPENAI_COMPAT, "openai", api_key_env="VLLM_API_KEY",
                 base_url="http://127.0.0.1:8000/v1", base_url_env="VLLM_BASE_URL", description="vLLM server"),
    ProviderInfo("llamacpp-server", _OPENAI_COMPAT, "openai", api_key_env="LLAMACPP_SERVER_API_KEY",
                 base_url="http://127.0.0.1:8080/v1", base_url_env="LLAMACPP_SERVER_BASE_URL",
                 description="llama.cpp's llama-server"),
    ProviderInfo("hf-serve", _OPENAI_COMPAT, "openai", api_key_env="HF_SERVE_API_KEY",
                 base_url="http://127.0.0.1:8000/v1", base_url_env="HF_SERVE_BASE_URL",
                 description="transformers serve"),
    ProviderInfo("openai-compat", _OPENAI_COMPAT, "openai", api_key_env="OPENAI_COMPAT_API_KEY",
                 base_url_env="OPENAI_COMPAT_BASE_URL",
                 description="any OpenAI-compatible server: 'openai-compat:MODEL@http://host:port/v1'"),
    ProviderInfo("ollama", "workbench.models.providers.ollama:OllamaClient", "ollama",
                 base_url="http://127.0.0.1:11434", base_url_env="OLLAMA_HOST", description="Ollama"),
    ProviderInfo("hf", "workbench.models.local.hf:HuggingFaceClient", "hf", in_process=True,
                 description="in-process HuggingFace transformers"),
    ProviderInfo("llamacpp", "workbench.models.local.llamacpp:LlamaCppClient", "llamacpp", in_process=True,
                 description="in-process llama-cpp-python (GGUF)"),
]:
    register_provider(_info)


def provider_info(name: str) -> ProviderInfo:
    from workbench.errors import UnknownProviderError

    try:
        return PROVIDERS[name]
    except KeyError:
        raise UnknownProviderError(name, sorted(PROVIDERS)) from None
