"""Gemini image generation through the google-genai SDK against the fake generateContent API."""

from __future__ import annotations

import asyncio
import io

import pytest

import workbench as wb
from workbench.errors import (ConfigurationError, ImageRefusedError, MissingAPIKeyError, ProviderError,
                              RateLimitError, StreamInterrupted)
from workbench.models.chunks import Phase
from workbench.testing import FakeGeminiServer, Reply

KEY = "gemini-secret-key-123"


@pytest.fixture
def server():
    with FakeGeminiServer() as fake:
        yield fake


def client_for(server, **kwargs):
    return wb.image_client("gemini:gemini-2.5-flash-image", api_key=KEY, base_url=server.base_url,
                           **{"retry": 0, **kwargs})


def mean_colour(png: bytes) -> tuple[int, ...]:
    from PIL import Image, ImageStat

    return tuple(int(v) for v in ImageStat.Stat(Image.open(io.BytesIO(png)).convert("RGB")).mean)


def test_a_whole_answer_is_the_inline_image_sent_as_generate_content_with_image_modality(server):
    result = client_for(server).generate("a red lighthouse", size=(1536, 1024))
    assert len(result) == 1 and mean_colour(result.pngs[0])[0] > 200 and result.size == (64, 42)   # 3:2
    assert result.usage["input_tokens"] == 3 and result.usage["output_tokens"] == 1290
    sent = server.last_request
    assert sent.path.endswith("/models/gemini-2.5-flash-image:generateContent")
    assert sent.json["generationConfig"]["responseModalities"] == ["IMAGE"]
    assert sent.json["generationConfig"]["imageConfig"] == {"aspectRatio": "3:2"}
    assert sent.headers["x-goog-api-key"] == KEY


def test_a_stream_sends_thought_images_as_previews_and_only_the_answer_as_final(server):
    server.thought_images = 2
    chunks = list(client_for(server).generate("a blue tide pool", stream=True))
    progress = [c.content for c in chunks if c.phase is Phase.IMAGE_PROGRESS]
    assert [p["final"] for p in progress] == [False, False, True]
    assert all(p["preview"] for p in progress)
    assert mean_colour(progress[-1]["preview"])[2] > mean_colour(progress[0]["preview"])[2]   # the thought was dimmer
    assert chunks[-1].phase is Phase.DONE
    assert server.last_request.path.endswith(":streamGenerateContent")


def test_aio_uses_the_sdks_async_client_on_the_same_logic(server):
    from workbench import aio

    async def main():
        ic = aio.image_client("gemini:gemini-2.5-flash-image", api_key=KEY, base_url=server.base_url, retry=0)
        whole = await ic.generate("a green map")
        streamed = [c async for c in await ic.generate("a yellow map", stream=True)]
        return whole, streamed

    whole, streamed = asyncio.run(main())
    assert mean_colour(whole.pngs[0])[1] > 150
    finals = [c.content for c in streamed if c.phase is Phase.IMAGE_PROGRESS and c.content["final"]]
    assert len(finals) == 1


def test_refusals_carry_the_providers_reason(server):
    ic = client_for(server)
    server.queue_for("images", Reply(finish_reason="IMAGE_SAFETY", text="I can't draw that."))
    with pytest.raises(ImageRefusedError, match="IMAGE_SAFETY") as caught:
        ic.generate("something not allowed")
    assert caught.value.reason == "IMAGE_SAFETY" and "can't draw" in str(caught.value)
    server.queue_for("images", Reply(finish_reason="blocked", error="PROHIBITED_CONTENT"))
    with pytest.raises(ImageRefusedError, match="blocked the prompt") as caught:
        list(ic.generate("something else", stream=True))
    assert caught.value.reason == "PROHIBITED_CONTENT"


def test_errors_are_typed_key_free_and_retried_by_the_policy(server, monkeypatch):
    server.queue_for("images", Reply(status=429, error="Resource has been exhausted"))
    with pytest.raises(RateLimitError) as caught:
        client_for(server).generate("a red square")
    assert KEY not in str(caught.value) + repr(client_for(server))
    server.queue_for("images", Reply(status=503, error="overloaded"))
    from workbench.models.retry import RetryPolicy

    result = client_for(server, retry=RetryPolicy(max_attempts=2, base_delay=0.01)).generate("a red square")
    assert len(result) == 1                                 # the second try answered
    server.queue_for("images", Reply(drop_after=1))
    server.thought_images = 1
    stream = client_for(server).generate("a cut tide pool", stream=True)
    assert next(stream).content["final"] is False
    with pytest.raises(StreamInterrupted):
        list(stream)


def test_bad_input_fails_before_a_request(server, monkeypatch):
    ic = client_for(server)
    with pytest.raises(ConfigurationError, match="aspect_ratio"):
        ic.generate("a map", aspect_ratio="7:3")
    with pytest.raises(ConfigurationError, match="negative_prompt"):
        ic.generate("a map", negative_prompt="clouds")
    with pytest.raises(ConfigurationError, match="no option"):
        ic.generate("a map", partial_images=2)
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingAPIKeyError, match="GEMINI_API_KEY"):
        wb.image_client("gemini:gemini-2.5-flash-image")
    assert server.requests == []
    assert issubclass(ImageRefusedError, ProviderError)


def test_a_connection_failure_names_the_host_but_no_credential():
    from workbench.errors import ConnectionFailed

    ic = wb.image_client("gemini:gemini-2.5-flash-image", api_key=KEY, retry=0,
                         base_url="http://user:pw-secret-9@127.0.0.1:9/")
    with pytest.raises(ConnectionFailed) as caught:
        ic.generate("a map")
    shown = str(caught.value) + repr(caught.value) + repr(ic)
    assert "127.0.0.1" in shown and "pw-secret-9" not in shown and KEY not in shown
