"""OpenAI Images (``images.generate``) through the official SDK, streamed or not.

``gpt-image-*`` always answer base64 PNG; ``dall-e-*`` are asked for ``b64_json``. With
``stream=True`` the API sends ``image_generation.partial_image`` events (``partial_images=``
of them, 0 to 3) and one ``image_generation.completed``: partial images become previews.
The connection, key, timeout, retries and error mapping are a text client's
(``CloudClient.call_sdk``); a request the safety system refuses is ImageRefusedError with
the API's reason.
"""

from __future__ import annotations

import base64
from typing import Any, Iterator

from workbench.errors import BadRequestError, ConfigurationError, ImageRefusedError
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.images.client import BaseImageClient, ImageRequest, progress
from workbench.models.images.spec import image_spec

_REFUSAL_WORDS = ("safety", "moderation", "content_policy", "content policy", "rejected")


class OpenAIImageClient(BaseImageClient):
    option_names = ("partial_images", "quality", "background", "output_compression", "moderation", "style")

    def __init__(self, model: str, **kwargs: Any):
        from workbench.models.client import create_client
        from workbench.models.strings import resolve_quietly

        resolved = resolve_quietly(model)
        self.client = create_client(resolved, **kwargs)      # connection, key, timeout, retries, errors
        super().__init__(self.client.model_string, image_spec(resolved.provider.name, resolved.spec.id))
        self.provider = resolved.provider.name

    # -- request and events, shared by the sync and async calls ----------------------------------------
    def sdk_kwargs(self, request: ImageRequest) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.spec.id, "prompt": request.prompt, "n": request.num_images}
        if request.size is not None:
            kwargs["size"] = f"{request.size[0]}x{request.size[1]}"
        if self.spec.id.startswith("dall-e"):
            kwargs["response_format"] = "b64_json"
        else:
            kwargs["output_format"] = "png"
        options = dict(request.options)
        partial = options.pop("partial_images", None)
        kwargs.update(options)
        if request.stream:
            if request.num_images != 1:
                raise ConfigurationError(f"{self.model_string} streams one image at a time: use num_images=1 with "
                                         "stream=True, or stream=False for several.")
            kwargs["stream"] = True
            if partial is not None:
                if not isinstance(partial, int) or not 0 <= partial <= self.spec.partial_images:
                    raise ConfigurationError(f"partial_images= takes 0 to {self.spec.partial_images}, got {partial!r}.")
                kwargs["partial_images"] = partial
        elif partial is not None:
            raise ConfigurationError("partial_images= needs stream=True (the previews arrive as a stream).")
        return kwargs

    def response_chunks(self, response: Any) -> list[StreamChunk]:
        """The chunks of a whole (non-streamed) answer."""
        data = list(response.data or [])
        chunks = [progress(1, 1, i, base64.b64decode(d.b64_json), final=True) for i, d in enumerate(data)
                  if d.b64_json]
        usage = _usage(getattr(response, "usage", None))
        chunks.append(StreamChunk(Phase.DONE, {"usage": usage, "model": self.model_string,
                                               "revised_prompts": [getattr(d, "revised_prompt", None) for d in data]}))
        return chunks

    def event_chunks(self, event: Any, partials: int) -> list[StreamChunk]:
        """The chunks of one stream event (a partial image, or the finished one)."""
        kind = getattr(event, "type", "")
        total = partials + 1
        if kind.endswith("partial_image"):
            index = int(getattr(event, "partial_image_index", 0))
            return [progress(index + 1, total, 0, base64.b64decode(event.b64_json))]
        if kind.endswith("completed"):
            return [progress(total, total, 0, base64.b64decode(event.b64_json), final=True),
                    StreamChunk(Phase.DONE, {"usage": _usage(getattr(event, "usage", None)), "model": self.model_string})]
        return []

    def refusal(self, exc: BaseException) -> BaseException:
        """ImageRefusedError for a request the safety system rejected, else ``exc``."""
        text = str(exc)
        if isinstance(exc, BadRequestError) and any(w in text.lower() for w in _REFUSAL_WORDS):
            return ImageRefusedError(f"{self.model_string} refused to make this image: {text}", reason=text,
                                     provider=self.provider, status=exc.status)
        return exc

    # -- the sync call ----------------------------------------------------------------------------
    def _chunks(self, request: ImageRequest) -> Iterator[StreamChunk]:
        kwargs = self.sdk_kwargs(request)
        try:
            answer = self.client.call_sdk(lambda sdk: sdk.images.generate(**kwargs))
            if not request.stream:
                yield from self.response_chunks(answer)
                return
            try:
                for event in answer:
                    yield from self.event_chunks(event, kwargs.get("partial_images", 0))
            except Exception as exc:             # cut mid-stream: our typed error, key-free
                error = self.client._failure(exc, started=True)
                raise error from self.client._cause(exc) if error is not exc else None
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()
        except BadRequestError as exc:
            error = self.refusal(exc)
            if error is exc:
                raise
            raise error from None

    # -- the async call (workbench.aio) ----------------------------------------------------------------
    async def _achunks(self, request: ImageRequest):
        kwargs = self.sdk_kwargs(request)
        try:
            answer = await self.client.acall_sdk(lambda sdk: sdk.images.generate(**kwargs))
            if not request.stream:
                for chunk in self.response_chunks(answer):
                    yield chunk
                return
            try:
                async for event in answer:
                    for chunk in self.event_chunks(event, kwargs.get("partial_images", 0)):
                        yield chunk
            except Exception as exc:
                error = self.client._failure(exc, started=True)
                raise error from self.client._cause(exc) if error is not exc else None
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    await close()
        except BadRequestError as exc:
            error = self.refusal(exc)
            if error is exc:
                raise
            raise error from None

    async def aclose(self) -> None:
        await self.client.aclose()


def _usage(usage: Any) -> dict[str, int]:
    if usage is None:
        return {}
    out = {}
    for ours, theirs in (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                         ("total_tokens", "total_tokens")):
        value = getattr(usage, theirs, None)
        if isinstance(value, int):
            out[ours] = value
    return out
