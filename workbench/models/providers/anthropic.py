"""AnthropicClient: the Anthropic Messages API through the ``anthropic`` SDK."""

from __future__ import annotations

from typing import Any

from workbench.errors import MissingDependencyError
from workbench.models.providers.base import CloudClient
from workbench.models.wire import anthropic_messages, common


class AnthropicClient(CloudClient):
    wire = anthropic_messages
    default_host = "api.anthropic.com"

    def _make_sdk(self, asynchronous: bool) -> Any:
        try:
            import anthropic
        except ModuleNotFoundError as exc:
            raise MissingDependencyError("anthropic", "anthropic") from exc
        cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
        kwargs: dict[str, Any] = {"api_key": self._api_key.get(), "max_retries": 0}
        if self.base_url:
            kwargs["base_url"] = self.base_url
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return cls(**kwargs)

    def _request(self, messages, tools, options, stream) -> dict[str, Any]:
        return anthropic_messages.build_request(self.spec, messages, tools, options, stream)

    def _send(self, sdk: Any, request: dict[str, Any], stream: bool) -> Any:
        return sdk.messages.create(**request)

    async def _asend(self, sdk: Any, request: dict[str, Any], stream: bool) -> Any:
        return await sdk.messages.create(**request)

    def _parser(self, stream: bool) -> Any:
        if stream:
            return anthropic_messages.StreamParser(provider=self.provider)
        return common.ResponseParser(anthropic_messages.parse_response)
