"""``aio.image_client``: the image clients with awaited calls, on the same logic.

The request is checked and the chunks collected by the sync client's code; only the model
call differs: a cloud client's SDK async object (``_achunks``), an in-process pipeline in a
thread (``iterate_in_thread``; leaving the stream stops it).
"""

from __future__ import annotations

from typing import Any, AsyncIterator

from workbench.models.chunks import StreamChunk
from workbench.models.images.client import BaseImageClient, ImageCollector, image_client as sync_image_client


class AsyncImageClient:
    def __init__(self, client: BaseImageClient):
        self.sync_client = client

    def __repr__(self) -> str:
        return f"<AsyncImageClient {self.sync_client.model_string}>"

    @property
    def model_string(self) -> str:
        return self.sync_client.model_string

    def _achunks(self, request) -> AsyncIterator[StreamChunk]:
        own = getattr(self.sync_client, "_achunks", None)
        if own is not None:
            return own(request)
        from workbench.aio.bridge import iterate_in_thread

        return iterate_in_thread(lambda: self.sync_client._chunks(request), name=f"workbench-aio-{self.model_string}")

    async def generate(self, prompt: str, *, stream: bool = False, **kwargs: Any):
        """``await ic.generate(...)``: an ImageResult, or with ``stream=True`` an async
        iterator of the same chunks as the sync client's."""
        request = self.sync_client.request(prompt, stream=stream, **kwargs)
        chunks = self._achunks(request)
        if stream:
            return chunks
        collector = ImageCollector(self.sync_client, request)
        async for chunk in chunks:
            collector.feed(chunk)
        return collector.result()

    async def aclose(self) -> None:
        close = getattr(self.sync_client, "aclose", None)
        if close is not None:
            await close()


def image_client(model: Any, **kwargs: Any) -> AsyncImageClient:
    """An async image client for a model string, or around a sync image client."""
    if isinstance(model, AsyncImageClient):
        return model
    return AsyncImageClient(model if isinstance(model, BaseImageClient) else sync_image_client(model, **kwargs))
