"""BaseImageClient: one image generation, streamed as ``image_progress`` chunks or collected.

    ic = wb.image_client("openai:gpt-image-1")
    result = ic.generate("a lighthouse at dusk", size="1024x1024")      # an ImageResult
    for chunk in ic.generate("a lighthouse", stream=True, partial_images=2):
        chunk.content   # {"step", "total", "image_index", "preview": PNG bytes or None, "final"}

A provider implements ``_chunks(request)``: ``image_progress`` chunks (``final=True`` with
the finished PNG in ``preview``), then one ``done`` chunk with the seed, steps, usage and
revised prompts. Everything else (checking the request against the model's spec, collecting
the chunks into an ImageResult, timings, the output format) is here, shared by the sync
client and ``workbench.aio``'s twin. Bad options are a ConfigurationError naming the fix,
before anything is sent: nothing is silently dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from workbench.errors import ConfigurationError
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.images.result import FORMATS, ImageResult
from workbench.models.images.spec import ImageSpec


@dataclass
class ImageRequest:
    prompt: str
    num_images: int = 1
    format: str = "pil"
    size: tuple[int, int] | None = None
    steps: int | None = None
    guidance: float | None = None
    seed: int | None = None
    negative_prompt: str | None = None
    reference_image: Any = None
    stream: bool = False
    preview_every: int | None = None
    options: dict[str, Any] = field(default_factory=dict)     # provider options (partial_images, quality...)


def parse_size(size: Any) -> tuple[int, int] | None:
    if size is None or size == "auto":
        return None
    if isinstance(size, str) and "x" in size.lower():
        w, _, h = size.lower().partition("x")
        size = (w, h)
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ConfigurationError(f"size= takes 'WIDTHxHEIGHT' (e.g. '1024x1024') or (width, height), got {size!r}.") from None
    if w <= 0 or h <= 0:
        raise ConfigurationError(f"size= needs a positive width and height, got {w}x{h}.")
    return w, h


def progress(step: int, total: int | None, image_index: int = 0, preview: bytes | None = None,
             final: bool = False) -> StreamChunk:
    return StreamChunk(Phase.IMAGE_PROGRESS, {"step": step, "total": total, "image_index": image_index,
                                              "preview": preview, "final": final})


class ImageCollector:
    """Feeds on a generation's chunks; ``result()`` is its ImageResult (sync and aio share it)."""

    def __init__(self, client: "BaseImageClient", request: ImageRequest):
        self.client, self.request = client, request
        self.started = time.perf_counter()
        self.finals: dict[int, bytes] = {}
        self.done: dict[str, Any] = {}
        self.first_preview_s: float | None = None

    def feed(self, chunk: StreamChunk) -> StreamChunk:
        if chunk.phase is Phase.IMAGE_PROGRESS:
            info = chunk.content
            if info.get("final"):
                self.finals[int(info.get("image_index") or 0)] = info["preview"]
            elif info.get("preview") is not None and self.first_preview_s is None:
                self.first_preview_s = time.perf_counter() - self.started
        elif chunk.phase is Phase.DONE:
            self.done = dict(chunk.content or {})
        return chunk

    def result(self) -> ImageResult:
        if not self.finals:
            from workbench.errors import ProviderError

            raise ProviderError(f"{self.client.model_string} finished without an image.",
                                provider=self.client.provider)
        timings = {"total_s": time.perf_counter() - self.started}
        if self.first_preview_s is not None:
            timings["first_preview_s"] = self.first_preview_s
        timings.update(self.done.get("timings") or {})
        return ImageResult([self.finals[i] for i in sorted(self.finals)], model=self.client.model_string,
                           prompt=self.request.prompt, format=self.request.format, seed=self.done.get("seed"),
                           steps=self.done.get("steps"), timings=timings, usage=dict(self.done.get("usage") or {}),
                           revised_prompts=list(self.done.get("revised_prompts") or []))


class BaseImageClient:
    provider = "?"
    option_names: tuple[str, ...] = ()          # provider options generate() accepts by name

    def __init__(self, model_string: str, spec: ImageSpec):
        self.model_string = model_string
        self.spec = spec

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model_string}>"

    # -- the request, checked against the spec -----------------------------------------------------
    def request(self, prompt: str, *, num_images: int = 1, format: str = "pil", steps: int | None = None,
                guidance: float | None = None, size: Any = None, seed: int | None = None,
                negative_prompt: str | None = None, reference_image: Any = None, stream: bool = False,
                preview_every: int | None = None, **options: Any) -> ImageRequest:
        spec, name = self.spec, self.model_string
        if not isinstance(prompt, str) or not prompt.strip():
            raise ConfigurationError("generate() needs a prompt: a non-empty string.")
        if format not in FORMATS:
            raise ConfigurationError(f"format= takes one of {', '.join(FORMATS)}, got {format!r}.")
        if not isinstance(num_images, int) or not 1 <= num_images <= spec.max_images:
            raise ConfigurationError(f"{name} makes 1 to {spec.max_images} images per call; num_images={num_images!r}.")
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            takes = ", ".join(self.option_names) or "none"
            raise ConfigurationError(f"{name} has no option {', '.join(unknown)} (its own options: {takes}).")
        parsed = parse_size(size) if size is not None else spec.default_size
        if parsed is not None:
            w, h = parsed
            if spec.size_multiple > 1 and (w % spec.size_multiple or h % spec.size_multiple):
                raise ConfigurationError(f"{name}: width and height must be divisible by {spec.size_multiple}, got "
                                         f"{w}x{h} (e.g. {w - w % spec.size_multiple or spec.size_multiple}x"
                                         f"{h - h % spec.size_multiple or spec.size_multiple}).")
            if spec.sizes is not None and (w, h) not in spec.sizes:
                sizes = ", ".join(f"{a}x{b}" for a, b in spec.sizes)
                raise ConfigurationError(f"{name} makes the sizes {sizes} (or 'auto'), not {w}x{h}.")
        checks = ((negative_prompt, spec.negative_prompt, "negative_prompt="),
                  (seed, spec.seed, "seed="), (steps, spec.default_steps is not None, "steps="),
                  (guidance, spec.default_guidance is not None, "guidance="),
                  (reference_image, spec.reference_image, "reference_image="))
        for value, supported, what in checks:
            if value is not None and not supported:
                raise ConfigurationError(f"{name} takes no {what} (the API has no such setting); it is not dropped "
                                         "silently: leave it out, or use an in-process model ('hf:...') that has it.")
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise ConfigurationError(f"steps= takes a whole number >= 1, got {steps!r}.")
        if preview_every is not None and (not isinstance(preview_every, int) or preview_every < 1):
            raise ConfigurationError(f"preview_every= takes a whole number of steps >= 1, got {preview_every!r}.")
        return ImageRequest(prompt, num_images, format, parsed, steps if steps is not None else spec.default_steps,
                            guidance if guidance is not None else spec.default_guidance, seed, negative_prompt,
                            reference_image, bool(stream), preview_every, dict(options))

    # -- the call ---------------------------------------------------------------------------------
    def generate(self, prompt: str, *, stream: bool = False, **kwargs: Any) -> "ImageResult | Iterator[StreamChunk]":
        """An ImageResult, or with ``stream=True`` the chunks as they come (see the module doc)."""
        request = self.request(prompt, stream=stream, **kwargs)
        if stream:
            return self._chunks(request)
        return self.collect(request, self._chunks(request))

    def collect(self, request: ImageRequest, chunks: Iterable[StreamChunk]) -> ImageResult:
        collector = ImageCollector(self, request)
        for chunk in chunks:
            collector.feed(chunk)
        return collector.result()

    def _chunks(self, request: ImageRequest) -> Iterator[StreamChunk]:
        raise NotImplementedError


def image_client(model: str, **kwargs: Any) -> BaseImageClient:
    """An image client for ``"provider:model_id"`` (``openai:gpt-image-1``, ``openai-compat:M@URL``);
    ``kwargs`` go to the provider (api_key=, base_url=, timeout=, retry=)."""
    from workbench.models.strings import parse_model_string

    if isinstance(model, BaseImageClient):
        return model
    provider, _ = parse_model_string(model)
    if provider in ("openai", "openai-compat"):
        from workbench.models.images.openai_images import OpenAIImageClient

        return OpenAIImageClient(model, **kwargs)
    if provider == "gemini":
        from workbench.models.images.gemini_images import GeminiImageClient

        return GeminiImageClient(model, **kwargs)
    if provider == "hf":
        from workbench.models.images.diffusers_images import DiffusersImageClient

        return DiffusersImageClient(model, **kwargs)
    raise ConfigurationError(f"No image models for the provider {provider!r}: image providers are openai "
                             "('openai:gpt-image-1', or 'openai-compat:MODEL@URL'), gemini "
                             "('gemini:gemini-2.5-flash-image') and hf (diffusers: 'hf:workbench-tiny-sd', "
                             "'hf:/path/to/pipeline', 'hf:Org/Repo').")


def generate_image(prompt: str, *, model: str = "openai:gpt-image-1", **kwargs: Any):
    """One image: ``generate_image("a red square", model=...)`` returns the first image in
    ``format`` (default a PIL image); client options (api_key=, base_url=) are taken too."""
    client_keys = {"api_key", "base_url", "timeout", "retry", "dtype", "device", "variant", "local_files_only",
                   "revision", "load_kwargs"}
    client = image_client(model, **{k: kwargs.pop(k) for k in list(kwargs) if k in client_keys})
    return client.generate(prompt, **kwargs).image
