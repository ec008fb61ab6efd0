"""OpenAICompatClient: OpenAI and every OpenAI-compatible server, through the ``openai`` SDK.

One class serves the providers openai, gemini (its OpenAI endpoint), lmstudio, vllm,
llamacpp-server, hf-serve and any ``openai-compat:MODEL@URL``; only the base URL, the key
and a few request details (see ``wire/openai_chat.py``) differ.
"""

from __future__ import annotations

from typing import Any

from workbench.errors import ConfigurationError, MissingDependencyError
from workbench.models.providers.base import CloudClient
from workbench.models.wire import common, openai_chat

# Servers without auth still need a non-empty key for the SDK.
PLACEHOLDER_KEY = "not-needed"


class OpenAICompatClient(CloudClient):
    wire = openai_chat
    default_host = "api.openai.com"

    def __init__(self, model, *, split_think_tags: bool = True, start_in_thinking: bool = False,
                 **kwargs: Any):
        super().__init__(model, **kwargs)
        if not self.base_url and self.provider != "openai":
            env = self.resolved.provider.base_url_env
            raise ConfigurationError(
                f"No base URL for {self.provider}: write 'openai-compat:MODEL@http://host:port/v1', pass "
                f"base_url=..., or set {env}.")
        self.split_think_tags = split_think_tags
        self.start_in_thinking = start_in_thinking

    def _provider_options(self) -> dict[str, Any]:
        return {"split_think_tags": self.split_think_tags, "start_in_thinking": self.start_in_thinking}

    def _make_sdk(self, asynchronous: bool) -> Any:
        try:
            import openai
        except ModuleNotFoundError as exc:
            raise MissingDependencyError("openai", "openai") from exc
        cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
        kwargs: dict[str, Any] = {"api_key": self._api_key.get() or PLACEHOLDER_KEY, "max_retries": 0}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return cls(**kwargs)

    def _request(self, messages, tools, options, stream) -> dict[str, Any]:
        return openai_chat.build_request(self.spec, messages, tools, options, stream, provider=self.provider)

    def _send(self, sdk: Any, request: dict[str, Any], stream: bool) -> Any:
        return sdk.chat.completions.create(**request)

    async def _asend(self, sdk: Any, request: dict[str, Any], stream: bool) -> Any:
        return await sdk.chat.completions.create(**request)

    def _parser(self, stream: bool) -> Any:
        kwargs = {"split_tags": self.split_think_tags, "start_in_thinking": self.start_in_thinking,
                  "provider": self.provider}
        if stream:
            return openai_chat.StreamParser(**kwargs)
        return common.ResponseParser(openai_chat.parse_response, **kwargs)
