"""Image generation: ``wb.image_client`` / ``wb.generate_image`` (see ``client.py``)."""

from __future__ import annotations

from workbench._lazy import lazy_exports

_LAZY = {
    "BaseImageClient": "workbench.models.images.client:BaseImageClient",
    "ImageRequest": "workbench.models.images.client:ImageRequest",
    "image_client": "workbench.models.images.client:image_client",
    "generate_image": "workbench.models.images.client:generate_image",
    "ImageResult": "workbench.models.images.result:ImageResult",
    "ImageSpec": "workbench.models.images.spec:ImageSpec",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
__all__ = sorted(_LAZY)
