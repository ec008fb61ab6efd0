"""Image generation through the openai SDK against the fake Images API: whole, streamed, aio, faults."""

from __future__ import annotations

import asyncio
import base64
import io

import pytest

import workbench as wb
from workbench.errors import ConfigurationError, ImageRefusedError, ProviderError
from workbench.models.images.result import png_size
from workbench.testing import FakeOpenAIServer, Reply


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


def client_for(server, model="openai:gpt-image-1"):
    return wb.image_client(model, api_key="sk-image-secret", base_url=server.base_url, retry=0)


def mean_colour(png: bytes) -> tuple[int, ...]:
    from PIL import Image, ImageStat

    return tuple(int(v) for v in ImageStat.Stat(Image.open(io.BytesIO(png)).convert("RGB")).mean)


def test_a_whole_answer_in_every_format_with_usage_and_one_png_bundle(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ic = client_for(server)
    result = ic.generate("a red square on white", size="1024x1024")
    body = server.last_request.json
    assert server.last_request.path.endswith("/images/generations")
    assert body["model"] == "gpt-image-1" and body["size"] == "1024x1024" and body["output_format"] == "png"
    assert mean_colour(result.pngs[0])[0] > 200 and result.usage["output_tokens"] == 272
    assert result.revised_prompts == ["a red square on white (revised)"] and result.image.mode == "RGB"
    bundle = result._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"} and base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"
    three = ic.generate("a blue circle", num_images=3, format="path")
    assert len(three) == 3 and len({p.name for p in three.images}) == 3
    assert all(p.resolve().parent == (tmp_path / ".workbench" / "images").resolve() and p.read_bytes()[:4] == b"\x89PNG" for p in three.images)
    assert png_size(base64.b64decode(three._repr_mimebundle_()["image/png"]))[0] > 3 * png_size(three.pngs[0])[0]
    url = ic.generate("a green field", format="data_url").image
    assert url.startswith("data:image/png;base64,")
    assert wb.generate_image("a yellow sun", model="openai:gpt-image-1", api_key="k", base_url=server.base_url,
                             format="png")[:4] == b"\x89PNG"
    dalle = client_for(server, "openai:dall-e-3").generate("a purple cat")
    assert server.last_request.json["response_format"] == "b64_json" and len(dalle) == 1


def test_a_stream_sends_partial_images_as_previews_then_the_final(server):
    ic = client_for(server)
    chunks = list(ic.generate("a blue lighthouse", stream=True, partial_images=2))
    progress = [c.content for c in chunks if c.phase == "image_progress"]
    assert [(p["step"], p["total"], p["final"]) for p in progress] == [(1, 3, False), (2, 3, False), (3, 3, True)]
    assert all(p["preview"][:4] == b"\x89PNG" for p in progress)
    assert mean_colour(progress[0]["preview"])[2] < mean_colour(progress[-1]["preview"])[2]     # it sharpens
    assert chunks[-1].phase == "done" and chunks[-1].content["usage"]["total_tokens"] > 0
    assert server.last_request.json["stream"] is True and server.last_request.json["partial_images"] == 2


def test_aio_awaits_the_sdks_async_client_with_the_same_logic(server):
    async def main():
        ic = wb.aio.image_client(client_for(server))
        whole = await ic.generate("a red square")
        chunks = [c async for c in await ic.generate("a red square", stream=True, partial_images=1)]
        await ic.aclose()
        return whole, chunks

    whole, chunks = asyncio.run(main())
    assert mean_colour(whole.pngs[0])[0] > 200
    assert [c.content["final"] for c in chunks if c.phase == "image_progress"] == [False, True]


def test_bad_options_fail_before_a_request_naming_the_fix(server):
    ic = client_for(server)
    cases = [(dict(seed=1), "takes no seed="), (dict(negative_prompt="blur"), "takes no negative_prompt="),
             (dict(steps=20), "takes no steps="), (dict(size="100x100"), "makes the sizes 1024x1024"),
             (dict(size="big"), "WIDTHxHEIGHT"), (dict(num_images=11), "1 to 10 images"),
             (dict(format="gif"), "format= takes one of pil, png, path, data_url"),
             (dict(colour="red"), "has no option colour"), (dict(partial_images=2), "needs stream=True"),
             (dict(stream=True, num_images=2), "streams one image at a time")]
    for kwargs, message in cases:
        with pytest.raises(ConfigurationError, match=message):
            result = ic.generate("a cat", **kwargs)
            if kwargs.get("stream"):
                list(result)
    with pytest.raises(ConfigurationError, match="needs a prompt"):
        ic.generate("  ")
    with pytest.raises(ConfigurationError, match="No image models for the provider 'anthropic'"):
        wb.image_client("anthropic:claude-sonnet-4-6")
    assert server.requests == []


def test_a_refusal_is_typed_with_the_reason_and_a_cut_stream_is_a_provider_error(server):
    ic = client_for(server)
    server.queue_for("images", Reply(status=400, error="Your request was rejected by the safety system."))
    with pytest.raises(ImageRefusedError, match="refused to make this image") as caught:
        ic.generate("something not allowed")
    assert "safety system" in caught.value.reason and "sk-image-secret" not in str(caught.value)
    server.queue_for("images", Reply(drop_after=1))
    stream = ic.generate("a cut lighthouse", stream=True, partial_images=2)
    first = next(stream)
    assert first.content["final"] is False
    with pytest.raises(ProviderError):
        list(stream)
    assert "sk-image-secret" not in repr(ic) + repr(ic.client)
