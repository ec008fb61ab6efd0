"""What an image model takes: default steps, guidance and size, which options it has.

The catalogs list the models the project knows; any other id of a known provider works
with conservative flags (``ImageSpec.unknown``), as on the text side.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from workbench.builtin import tiny_sd_data as _tiny


@dataclass(frozen=True)
class ImageSpec:
    id: str
    default_size: tuple[int, int] | None = None   # None: the provider decides ("auto")
    sizes: tuple[tuple[int, int], ...] | None = None   # the sizes the API takes; None: any
    size_multiple: int = 1                        # diffusers: width and height divisible by 8
    default_steps: int | None = None              # None: the provider has no steps setting
    default_guidance: float | None = None
    negative_prompt: bool = False
    seed: bool = False
    reference_image: bool = False
    max_images: int = 4
    partial_images: int = 0                        # OpenAI: at most this many partial images in a stream

    @classmethod
    def unknown(cls, model_id: str, **flags) -> "ImageSpec":
        return cls(model_id, **flags)

    def with_id(self, model_id: str) -> "ImageSpec":
        return replace(self, id=model_id)


_GPT_IMAGE = ImageSpec("gpt-image-1", default_size=None, sizes=((1024, 1024), (1024, 1536), (1536, 1024)),
                       max_images=10, partial_images=3)

IMAGE_CATALOG: dict[str, dict[str, ImageSpec]] = {
    "openai": {
        "gpt-image-1": _GPT_IMAGE,
        "gpt-image-1-mini": _GPT_IMAGE.with_id("gpt-image-1-mini"),
        "gpt-image-1.5": _GPT_IMAGE.with_id("gpt-image-1.5"),
        "dall-e-3": ImageSpec("dall-e-3", default_size=(1024, 1024),
                              sizes=((1024, 1024), (1792, 1024), (1024, 1792)), max_images=1),
    },
    "gemini": {
        "gemini-2.5-flash-image": ImageSpec("gemini-2.5-flash-image", max_images=1, reference_image=True),
    },
    "hf": {
        _tiny.TINY_SD_ID: ImageSpec(_tiny.TINY_SD_ID, default_size=(_tiny.SIZE, _tiny.SIZE), size_multiple=8,
                                    default_steps=_tiny.DEFAULT_STEPS, default_guidance=_tiny.DEFAULT_GUIDANCE,
                                    negative_prompt=True, seed=True, reference_image=True, max_images=8),
    },
}

# What an id the catalog does not list is assumed to take, per provider.
UNKNOWN_FLAGS = {
    "openai": {"sizes": None, "max_images": 10, "partial_images": 3},
    "openai-compat": {"sizes": None, "max_images": 10, "partial_images": 3},
    "gemini": {"max_images": 1, "reference_image": True},
    "hf": {"size_multiple": 8, "default_steps": 30, "default_guidance": 7.5, "negative_prompt": True, "seed": True,
           "reference_image": True, "max_images": 8},
}


def image_spec(provider: str, model_id: str) -> ImageSpec:
    known = IMAGE_CATALOG.get(provider, {}).get(model_id)
    if known is not None:
        return known
    return ImageSpec.unknown(model_id, **UNKNOWN_FLAGS.get(provider, {}))
