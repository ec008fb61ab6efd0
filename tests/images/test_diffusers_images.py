"""In-process image generation with diffusers on the built-in workbench-tiny-sd: the model
follows the prompt, the weight cache holds the pipeline, streams preview and stop, faults."""

from __future__ import annotations

import asyncio
import io
import json
import threading

import numpy as np
import pytest

import workbench as wb
from workbench.builtin import tiny_sd_data as data
from workbench.errors import ConfigurationError, WeightsClearedError
from workbench.models.chunks import Phase

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ic():
    client = wb.image_client("hf:workbench-tiny-sd")
    yield client
    wb.clear_hf_cache("hf:workbench-tiny-sd")


def pixels(image) -> np.ndarray:
    from PIL import Image

    if isinstance(image, (bytes, bytearray)):
        image = Image.open(io.BytesIO(image))
    return np.asarray(image.convert("RGB")).astype(float)


def diffusers_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("workbench-diffusers")]


@pytest.mark.parametrize("colour", list(data.COLOURS))
@pytest.mark.parametrize("shape", data.SHAPES)
def test_the_tiny_model_draws_the_colour_and_shape_the_prompt_names(ic, colour, shape):
    image = ic.generate(f"a {colour} {shape} on white", seed=3).image
    assert image.size == (64, 64)
    assert data.dominant_colour(pixels(image)) == colour
    assert data.shape_of(pixels(image)) == shape


def test_generate_image_returns_a_pil_image_and_a_result_shows_as_one_png(ic):
    image = wb.generate_image("a red square on white", model="hf:workbench-tiny-sd", seed=0)
    assert data.dominant_colour(pixels(image)) == "red"
    result = ic.generate("a blue circle", num_images=2, seed=5, format="png")
    assert len(result) == 2 and result.seed == 5 and result.steps == 10
    assert all(data.dominant_colour(pixels(p)) == "blue" for p in result.images)
    bundle = result._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"}
    assert result.timings["total_s"] > 0 and result.usage == {"images": 2, "steps": 10}
    same = ic.generate("a blue circle", num_images=2, seed=5, format="png")
    assert same.pngs == result.pngs                       # a seed is a seed


def test_the_pipeline_is_cached_and_a_second_client_shares_it(ic):
    again = wb.image_client("hf:workbench-tiny-sd")
    assert again.cache_entry is ic.cache_entry
    rows = [e for e in wb.cache_info() if e.provider == "diffusers"]
    assert len(rows) == 1 and rows[0].model == "workbench-tiny-sd" and rows[0].bytes > 1_000_000
    assert rows[0].kwargs["pipeline"] == "StableDiffusionPipeline" and rows[0].kwargs["dtype"] == "float32"
    from workbench.notebook.memory_rows import entry_rows

    assert any(r["kind"] == "diffusers" and r["model"] == "workbench-tiny-sd" for r in entry_rows())
    other_dtype = wb.image_client("hf:workbench-tiny-sd", dtype="bfloat16")
    assert other_dtype.cache_entry is not ic.cache_entry
    freed = wb.clear_hf_cache(f"hf:{ic.folder}")          # by folder: both dtypes
    assert freed >= rows[0].bytes + other_dtype.cache_entry.bytes
    for client in (ic, other_dtype):
        with pytest.raises(WeightsClearedError, match="reload"):
            client.generate("a red square")
    assert [e for e in wb.cache_info() if e.provider == "diffusers"] == []
    ic.reload()


def test_a_stream_counts_the_pipelines_steps_previews_from_latents_and_ends_with_the_png(ic):
    chunks = list(ic.generate("a green circle", stream=True, preview_every=3, seed=1, steps=12))
    progress = [c.content for c in chunks if c.phase is Phase.IMAGE_PROGRESS]
    steps = [p["step"] for p in progress if not p["final"]]
    assert steps == list(range(1, 13)) and all(p["total"] == 12 for p in progress)
    previews = [p["preview"] for p in progress if not p["final"] and p["preview"] is not None]
    assert len(previews) == 3                                       # steps 3, 6, 9 (12 is the final image)
    assert all(data.dominant_colour(pixels(p)) == "green" for p in previews)
    # the predicted clean latents, projected: near the colour from the first preview on (the noisy
    # latents of step 5 of 50 are over 100 away)
    early = [c.content["preview"] for c in ic.generate("a green circle", stream=True, preview_every=5, seed=1, steps=50)
             if c.phase is Phase.IMAGE_PROGRESS and c.content["preview"] and not c.content["final"]][0]
    assert data.colour_error(pixels(early), "green") < 70
    final = [p for p in progress if p["final"]]
    assert len(final) == 1 and data.shape_of(pixels(final[0]["preview"])) == "circle"
    done = chunks[-1]
    assert done.phase is Phase.DONE and done.content["seed"] == 1 and done.content["steps"] == 12
    assert 0 < done.content["timings"]["preview_s"] < done.content["timings"]["generate_s"]


def test_image_to_image_runs_fewer_steps_and_counts_them(ic):
    start = ic.generate("a red square", seed=0, format="png").pngs[0]
    chunks = list(ic.generate("a blue square", stream=True, reference_image=start, strength=0.5, steps=10, seed=0))
    totals = {c.content["total"] for c in chunks if c.phase is Phase.IMAGE_PROGRESS}
    assert totals == {5}                                   # pipe.num_timesteps, not steps=
    with pytest.raises(ConfigurationError, match="reference_image"):
        ic.generate("a red square", strength=0.5)


def test_negative_prompt_reaches_the_pipeline(ic):
    plain = ic.generate("a red square", seed=2, format="png").pngs[0]
    steered = ic.generate("a red square", seed=2, negative_prompt="red", format="png").pngs[0]
    assert steered != plain


def test_closing_a_stream_interrupts_the_pipeline_joins_its_thread_and_frees_the_lock(ic):
    stream = ic.generate("a yellow square", stream=True, steps=200, seed=0)
    next(stream)
    next(stream)
    stream.close()
    assert diffusers_threads() == []
    with ic.cache_entry.use() as weights:
        assert weights.pipe._interrupt is True            # set by the step callback, the pipeline stopped early
        assert not weights.lock.locked()
    assert data.dominant_colour(pixels(ic.generate("a yellow square", seed=0).image)) == "yellow"


def test_an_abandoned_stream_holds_nothing(ic):
    stream = ic.generate("a purple circle", stream=True, steps=50, seed=0)
    next(stream)
    del stream                                             # never closed: collected, closed, joined
    assert diffusers_threads() == []
    assert data.shape_of(pixels(ic.generate("a purple circle", seed=0).image)) == "circle"


def test_two_threads_on_one_cached_pipeline_get_what_each_asked_for(ic):
    results: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def draw(colour):
        try:
            other = wb.image_client("hf:workbench-tiny-sd")
            results[colour] = other.generate(f"a {colour} square", seed=4, steps=20, format="png").pngs[0]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=draw, args=(c,)) for c in ("red", "blue", "orange")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for colour, png in results.items():
        assert data.dominant_colour(pixels(png)) == colour
        assert png == ic.generate(f"a {colour} square", seed=4, steps=20, format="png").pngs[0]


def test_clear_while_generating_lets_the_stream_finish_then_the_client_says_reload():
    client = wb.image_client("hf:workbench-tiny-sd", dtype="float64")
    stream = client.generate("an orange circle", stream=True, steps=15, seed=0)
    next(stream)
    freed = wb.clear_hf_cache("hf:workbench-tiny-sd")
    assert freed > 0
    assert not [e for e in wb.cache_info() if e.key == client.cache_entry.key]
    rest = list(stream)
    final = [c.content["preview"] for c in rest if c.phase is Phase.IMAGE_PROGRESS and c.content["final"]]
    assert data.dominant_colour(pixels(final[0])) == "orange"
    with pytest.raises(WeightsClearedError, match="reload"):
        client.generate("an orange circle")
    client.reload()
    assert data.shape_of(pixels(client.generate("an orange circle", seed=0).image)) == "circle"
    wb.clear_hf_cache()


def test_aio_generates_on_the_same_logic():
    from workbench import aio

    async def main():
        client = aio.image_client("hf:workbench-tiny-sd")
        whole = await client.generate("a blue square", seed=0)
        chunks = [c async for c in await client.generate("a blue circle", stream=True, seed=0, preview_every=5)]
        return whole, chunks

    whole, chunks = asyncio.run(main())
    assert data.dominant_colour(pixels(whole.image)) == "blue"
    final = [c.content["preview"] for c in chunks if c.phase is Phase.IMAGE_PROGRESS and c.content["final"]]
    assert data.shape_of(pixels(final[0])) == "circle"


def test_bad_models_and_options_are_typed_errors_naming_the_fix(tmp_path, ic):
    with pytest.raises(ConfigurationError, match="Unknown image model"):
        wb.image_client("hf:no-such-model")
    with pytest.raises(ConfigurationError, match="not in the local HF cache"):
        wb.image_client("hf:nobody/no-such-pipeline")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ConfigurationError, match="model_index.json"):
        wb.image_client(f"hf:{tmp_path}")
    with pytest.raises(ConfigurationError, match="divisible by 8"):
        ic.generate("a red square", size=(60, 64))
    with pytest.raises(ConfigurationError, match="device="):
        wb.image_client("hf:workbench-tiny-sd", device="tpu")
    with pytest.raises(ConfigurationError, match="preview_every"):
        ic.generate("a red square", preview_every=0)
    assert [e for e in wb.cache_info() if e.provider == "diffusers"] == [e for e in wb.cache_info()
                                                                         if e.key == ic.cache_entry.key]


def test_a_stream_left_unread_lets_go_of_the_pipeline_when_its_generation_ends(ic):
    import time

    ic.reload()                                   # an earlier test cleared the cache
    kept = ic.generate("a red circle", stream=True, steps=30, seed=0)
    next(kept)                                    # started, then neither read nor closed
    deadline = time.monotonic() + 60
    while diffusers_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    with ic.cache_entry.use() as weights:
        assert not weights.lock.locked()          # the worker released it: the next call does not wait
    assert data.shape_of(pixels(ic.generate("a red circle", seed=0).image)) == "circle"
    kept.close()
