"""The stream view's image lanes (pure state): thumbnails live, the full PNG when saved."""

from __future__ import annotations

import base64
import io

from PIL import Image

from workbench.models.chunks import Phase, StreamChunk
from workbench.notebook.coalesce import Coalescer
from workbench.notebook.reprs import static_bundle
from workbench.notebook.stream_state import PREVIEW_SIDE, StreamState


def png(side: int, colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(out, format="PNG")
    return out.getvalue()


def chunk(step, total, final=False, preview=None, index=0):
    return StreamChunk(Phase.IMAGE_PROGRESS, {"step": step, "total": total, "image_index": index,
                                              "preview": preview, "final": final})


def decoded(src: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))


def test_previews_are_small_jpegs_and_the_saved_output_keeps_only_the_final_pngs():
    state = StreamState(model="hf:workbench-tiny-sd")
    ops = state.feed(chunk(1, 10, preview=png(1024)))
    assert ops[0]["field"] == "image" and ops[0]["image"]["src"].startswith("data:image/jpeg")
    assert max(decoded(ops[0]["image"]["src"]).size) <= PREVIEW_SIDE
    state.feed(chunk(5, 10))                                     # a step without a picture keeps the last one
    assert state.lanes[""].images[0]["src"] == ops[0]["image"]["src"] and state.lanes[""].images[0]["step"] == 5
    final = png(1024, (20, 200, 40))
    state.feed(chunk(10, 10, final=True, preview=final))
    state.feed(chunk(10, 10, final=True, preview=png(64), index=1))
    state.feed(StreamChunk(Phase.DONE, {"usage": {"output_tokens": 272}}))
    saved = state.snapshot(saved=True)
    images = saved["lanes"][0]["images"]
    assert [i["index"] for i in images] == [0, 1] and all(i["final"] for i in images)
    assert base64.b64decode(images[0]["src"].split(",", 1)[1]) == final           # the PNG itself
    bundle = static_bundle(saved)
    assert bundle["text/html"].count("<img") == 2 and "image/jpeg" not in bundle["text/html"]
    assert "[image 1 (final)]" in bundle["text/plain"] and "data:" not in bundle["text/markdown"]
    assert "2 images" in bundle["text/plain"] and "tok/s" not in bundle["text/plain"]


def test_only_the_newest_picture_of_an_image_waits_in_a_message():
    coalescer = Coalescer(interval=10)
    coalescer.add({"lane": "", "field": "text", "append": "x"})       # the first goes at once
    for step in range(1, 6):
        coalescer.add({"lane": "", "field": "image", "image": {"index": 0, "step": step, "src": f"s{step}"}})
    coalescer.add({"lane": "", "field": "image", "image": {"index": 1, "step": 1, "src": "other"}})
    message = coalescer.flush()
    pictures = [op["image"] for op in message["ops"] if op["field"] == "image"]
    assert [(p["index"], p["step"]) for p in pictures] == [(0, 5), (1, 1)]
