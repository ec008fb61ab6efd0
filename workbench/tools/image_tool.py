"""``image_tool(client)``: a tool an agent calls to make an image.

    ic = wb.image_client("hf:workbench-tiny-sd")
    agent = wb.agent("hf:workbench-tiny", tools=[wb.tools.image_tool(ic)])

The tool generates with the image client, saves each image under ``.workbench/images/``
(or ``folder=``) with a name no other image has, and answers the model with a short
reference (the path, size, model and seed): never the picture's bytes, which would flood
its context. While it runs, its ``image_progress`` chunks (previews, the finished image)
go out live in the agent's stream, tagged with the agent, so ``wb.show`` draws them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable


def image_tool(client: Any, *, name: str = "generate_image", description: str | None = None,
               folder: str | Path | None = None, preview_every: int | None = None,
               **defaults: Any) -> Callable[..., Any]:
    """A ``@tool`` around ``client`` (an image client or a model string such as
    ``"hf:workbench-tiny-sd"``); ``defaults`` (steps=, size=, seed=, ...) go to every call."""
    from workbench.models.images.client import ImageCollector, image_client
    from workbench.models.images.result import IMAGES_DIR, png_size, save_png
    from workbench.tools.decorator import tool

    ic = image_client(getattr(client, "sync_client", client))     # an aio image client works too
    target = Path(folder) if folder is not None else IMAGES_DIR
    every = preview_every if preview_every is not None else _default_preview_every(ic, defaults)
    ic.request("check", **{"preview_every": every, **defaults})      # bad defaults fail now, not in the agent

    def generate_image(prompt: str, size: str | None = None):
        """Make an image from a text description and save it; answers with the saved file's path.

        Args:
            prompt: What the image shows, in words.
            size: Optional "WIDTHxHEIGHT", e.g. "512x512".
        """
        options = dict(defaults)
        if size:
            options["size"] = size
        request = ic.request(prompt, stream=True, preview_every=every, **options)
        collector = ImageCollector(ic, request)
        for chunk in ic._chunks(request):
            collector.feed(chunk)
            if chunk.phase.value == "image_progress":
                yield chunk
        result = collector.result()
        paths = [save_png(png, target, stem=_stem(prompt)) for png in result.pngs]
        w, h = png_size(result.pngs[0])
        seed = f", seed {result.seed}" if result.seed is not None else ""
        where = ", ".join(str(p) for p in paths)
        return (f"Saved {len(paths)} image{'s' * (len(paths) != 1)} ({w}x{h}, {ic.model_string}{seed}) at {where}. "
                "Refer to it by that path.")

    return tool(generate_image, name=name,
                description=description or f"Make an image from a text description with {ic.model_string} and "
                                           "save it; answers with the saved file's path.")


def _default_preview_every(ic: Any, defaults: dict[str, Any]) -> int | None:
    steps = defaults.get("steps") or ic.spec.default_steps
    return max(1, steps // 5) if steps else None


def _stem(prompt: str) -> str:
    words = re.findall(r"[a-z0-9]+", prompt.lower())[:5]
    return "-".join(words) or "image"
