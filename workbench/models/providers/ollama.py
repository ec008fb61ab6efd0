"""OllamaClient: a local (or remote) Ollama server through the ``ollama`` SDK."""

from __future__ import annotations

from typing import Any

from workbench.errors import MissingDependencyError
from workbench.models.providers.base import CloudClient
from workbench.models.wire import common, ollama_chat


class OllamaClient(CloudClient):
    wire = ollama_chat
    default_host = "127.0.0.1:11434"

    def __init__(self, model, *, split_think_tags: bool = True, start_in_thinking: bool = False,
                 **kwargs: Any):
        super().__init__(model, **kwargs)
        self.split_think_tags = split_think_tags
        self.start_in_thinking = start_in_thinking

    def _provider_options(self) -> dict[str, Any]:
        return {"split_think_tags": self.split_think_tags, "start_in_thinking": self.start_in_thinking}

    def _make_sdk(self, asynchronous: bool) -> Any:
        try:
            import ollama
        except ModuleNotFoundError as exc:
            raise MissingDependencyError("ollama", "ollama") from exc
        cls = ollama.AsyncClient if asynchronous else ollama.Client
        kwargs: dict[str, Any] = {"host": self.base_url}
        if self._api_key:
            kwargs["headers"] = {"Authorization": f"Bearer {self._api_key.get()}"}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return cls(**kwargs)

    def _request(self, messages, tools, options, stream) -> dict[str, Any]:
        return ollama_chat.build_request(self.spec, messages, tools, options, stream)

    def _send(self, sdk: Any, request: dict[str, Any], stream: bool) -> Any:
        return sdk.chat(**request)

    async def _asend(self, sdk: Any, request: dict[str, Any], stream: bool) -> Any:
        return await sdk.chat(**request)

    def _parser(self, stream: bool) -> Any:
        kwargs = {"split_tags": self.split_think_tags, "start_in_thinking": self.start_in_thinking,
                  "provider": self.provider}
        if stream:
            return ollama_chat.StreamParser(**kwargs)
        return common.ResponseParser(ollama_chat.parse_response, **kwargs)
