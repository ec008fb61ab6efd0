"""GeminiImageClient: Gemini's image models through the google-genai SDK (extra ``gemini``).

    ic = wb.image_client("gemini:gemini-2.5-flash-image")        # $GEMINI_API_KEY or $GOOGLE_API_KEY
    ic.generate("a map of a tide pool", aspect_ratio="16:9")
    for chunk in ic.generate("a tide pool", stream=True): ...    # thought images come as previews

A request is ``generateContent`` with ``responseModalities: ["IMAGE"]``; the image is the
answer's ``inlineData`` part. Interim "thought" images (parts marked ``thought``) are never
the result: in a stream they are previews. A refusal (the prompt blocked, ``blockReason``;
or the candidate ended for safety, ``finishReason``) is an ImageRefusedError carrying the
provider's reason. Failures before an answer are retried by the client's RetryPolicy and
raise the same typed errors as the text clients; the API key never appears in them.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from typing import Any, Iterator

from workbench.errors import ConfigurationError, ImageRefusedError, MissingAPIKeyError, MissingDependencyError
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.images.client import BaseImageClient, ImageRequest, progress
from workbench.models.images.spec import image_spec

KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
ASPECTS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")


def _genai():
    try:
        from google import genai
        from google.genai import types
    except ImportError as exc:
        raise MissingDependencyError("google-genai", "gemini") from exc
    return genai, types


class GeminiImageClient(BaseImageClient):
    provider = "gemini"
    option_names = ("aspect_ratio", "image_size")

    def __init__(self, model: str, *, api_key: str | None = None, base_url: str | None = None,
                 timeout: float | None = None, retry: Any = None):
        from workbench.models.providers.base import default_timeout
        from workbench.models.retry import as_policy
        from workbench.models.strings import parse_model_string

        _, model_id = parse_model_string(model)
        genai, types = _genai()
        from workbench.models.providers.base import _Secret

        key = api_key or next((os.environ[e] for e in KEY_ENVS if os.environ.get(e)), None)
        if not key:
            raise MissingAPIKeyError("gemini", KEY_ENVS[0])
        self.timeout = float(timeout) if timeout is not None else default_timeout()
        self.retry = as_policy(retry)
        self.base_url = base_url
        self._api_key = _Secret(key)
        self._sdk = self._new_sdk()
        self._async_sdks: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
        super().__init__(f"gemini:{model_id}", image_spec("gemini", model_id))

    def _new_sdk(self) -> Any:
        genai, types = _genai()
        options = types.HttpOptions(base_url=self.base_url, timeout=int(self.timeout * 1000))
        return genai.Client(api_key=self._api_key.get(), http_options=options)

    def _async_sdk(self) -> Any:
        """The SDK's async client for the running event loop (its connections belong to one loop)."""
        loop = asyncio.get_running_loop()
        sdk = self._async_sdks.get(loop)
        if sdk is None:
            sdk = self._async_sdks[loop] = self._new_sdk().aio
        return sdk

    def _credentials(self) -> list[str]:
        from workbench.models.redact import url_secrets

        return [self._api_key.get()] + url_secrets(self.base_url)

    def __repr__(self) -> str:
        return f"<GeminiImageClient {self.model_string}>"

    # -- request and answer, shared by the sync and async calls --------------------------------
    def sdk_kwargs(self, request: ImageRequest) -> dict[str, Any]:
        _, types = _genai()
        image: dict[str, Any] = {}
        aspect = request.options.get("aspect_ratio")
        if aspect is not None:
            if aspect not in ASPECTS:
                raise ConfigurationError(f"aspect_ratio= takes one of {', '.join(ASPECTS)}, got {aspect!r}.")
            image["aspect_ratio"] = aspect
        elif request.size is not None:
            image["aspect_ratio"] = _nearest_aspect(*request.size)
        if request.options.get("image_size") is not None:
            image["image_size"] = request.options["image_size"]
        contents: list[Any] = [request.prompt]
        if request.reference_image is not None:
            from workbench.models.images.result import to_png

            contents.append(types.Part.from_bytes(data=to_png(request.reference_image), mime_type="image/png"))
        config = types.GenerateContentConfig(response_modalities=["IMAGE"],
                                             image_config=types.ImageConfig(**image) if image else None)
        return {"model": self.spec.id, "contents": contents, "config": config}

    def answer_chunks(self, response: Any, step: int, total: int | None) -> list[StreamChunk]:
        """The chunks of one response (a whole answer, or one event of a stream)."""
        feedback = getattr(response, "prompt_feedback", None)
        blocked = getattr(feedback, "block_reason", None)
        if blocked:
            reason = _name(blocked)
            raise ImageRefusedError(f"{self.model_string} blocked the prompt ({reason}). Reword it.",
                                    reason=reason, provider=self.provider)
        chunks: list[StreamChunk] = []
        for candidate in getattr(response, "candidates", None) or []:
            finish = _name(getattr(candidate, "finish_reason", None))
            parts = getattr(getattr(candidate, "content", None), "parts", None) or []
            images = [p for p in parts if getattr(p, "inline_data", None) is not None and p.inline_data.data]
            finals = [p for p in images if not getattr(p, "thought", False)]
            for part in images:
                if getattr(part, "thought", False):
                    chunks.append(progress(step, total, 0, _png(part.inline_data)))
            for part in finals:
                chunks.append(progress(total or step, total or step, 0, _png(part.inline_data), final=True))
            if finish and finish not in ("STOP", "FINISH_REASON_UNSPECIFIED") and not finals:
                said = " ".join(p.text for p in parts if getattr(p, "text", None))
                raise ImageRefusedError(f"{self.model_string} made no image ({finish}){': ' + said if said else ''}.",
                                        reason=finish, provider=self.provider)
        usage = getattr(response, "usage_metadata", None)
        if usage is not None and any(c.content.get("final") for c in chunks):
            chunks.append(StreamChunk(Phase.DONE, {"model": self.model_string, "usage": {
                "input_tokens": getattr(usage, "prompt_token_count", None) or 0,
                "output_tokens": getattr(usage, "candidates_token_count", None) or 0,
                "total_tokens": getattr(usage, "total_token_count", None) or 0}}))
        return chunks

    def failure(self, exc: BaseException, started: bool = False) -> BaseException:
        """Our typed error for an SDK or transport exception, or ``exc`` itself; either way
        with no credential in it (the key, the base URL's user info and query values)."""
        from workbench.models.providers.base import _redact_in_place
        from workbench.models.redact import redact_text, safe_host
        from workbench.models.wire.common import error_for_status, map_error

        if isinstance(exc, (ImageRefusedError, ConfigurationError)):
            return exc
        secrets = self._credentials()
        _redact_in_place(exc, secrets)
        code = getattr(exc, "code", None)
        if isinstance(code, int) and code >= 400:
            return error_for_status(code, redact_text(str(getattr(exc, "message", "") or exc), secrets),
                                    provider=self.provider, model=self.spec.id)
        if type(exc).__name__ in ("ReadTimeout", "ConnectTimeout", "TimeoutException", "WriteTimeout"):
            from workbench.errors import RequestTimeout

            return RequestTimeout(f"gemini did not answer within {self.timeout:g} s: raise timeout= (or "
                                  "$WORKBENCH_TIMEOUT).", timeout=self.timeout, provider=self.provider)
        host = safe_host(self.base_url) if self.base_url else None
        mapped = map_error(exc, provider=self.provider, host=host, started=started)
        if mapped is not None:
            _redact_in_place(mapped, secrets)
            return mapped
        return exc

    def _raise(self, exc: Exception, started: bool) -> None:
        """Raise our typed error for ``exc`` (or ``exc`` itself when it is not a provider failure)."""
        error = self.failure(exc, started=started)
        if error is exc:
            raise exc
        raise error from None

    def _wait(self, exc: Exception, failures: int, waited: float) -> float:
        wait = self.retry.delay(failures, self.failure(exc), waited)
        if wait is None:
            self._raise(exc, started=False)
        return wait

    # -- the sync call ------------------------------------------------------------------------
    def _chunks(self, request: ImageRequest) -> Iterator[StreamChunk]:
        kwargs = self.sdk_kwargs(request)
        failures, waited = 0, 0.0
        while True:
            try:
                if not request.stream:
                    yield from self.answer_chunks(self._sdk.models.generate_content(**kwargs), 1, 1)
                    return
                events = iter(self._sdk.models.generate_content_stream(**kwargs))
                first = next(events, None)
                break
            except Exception as exc:
                failures += 1
                wait = self._wait(exc, failures, waited)
            time.sleep(wait)
            waited += wait
        step = 0
        try:
            while first is not None:
                step += 1
                yield from self.answer_chunks(first, step, None)
                first = next(events, None)
        except Exception as exc:
            self._raise(exc, started=True)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()

    # -- the async call (workbench.aio) ---------------------------------------------------------
    async def _achunks(self, request: ImageRequest):
        kwargs = self.sdk_kwargs(request)
        failures, waited = 0, 0.0
        while True:
            try:
                if not request.stream:
                    answer = await self._async_sdk().models.generate_content(**kwargs)
                    for chunk in self.answer_chunks(answer, 1, 1):
                        yield chunk
                    return
                events = (await self._async_sdk().models.generate_content_stream(**kwargs)).__aiter__()
                first = await anext(events, None)
                break
            except Exception as exc:
                failures += 1
                wait = self._wait(exc, failures, waited)
            await asyncio.sleep(wait)
            waited += wait
        step = 0
        try:
            while first is not None:
                step += 1
                for chunk in self.answer_chunks(first, step, None):
                    yield chunk
                first = await anext(events, None)
        except Exception as exc:
            self._raise(exc, started=True)
        finally:
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()

    async def aclose(self) -> None:
        """Close the async SDK clients' connections (one per event loop that used them)."""
        loop = asyncio.get_running_loop()
        sdk = self._async_sdks.pop(loop, None)
        close = getattr(sdk, "aclose", None)
        if close is not None:
            await close()


def _name(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "value", None) or getattr(value, "name", None) or value)


def _png(blob: Any) -> bytes:
    from workbench.models.images.result import to_png

    return to_png(bytes(blob.data))


def _nearest_aspect(w: int, h: int) -> str:
    def ratio(text: str) -> float:
        a, b = text.split(":")
        return int(a) / int(b)

    return min(ASPECTS, key=lambda a: abs(ratio(a) - w / h))
