"""ImageResult: the images of one generate() call, with their seed, steps, timings and usage.

The images are kept as PNG bytes and handed out in the format asked for ("pil", "png",
"path" under ``.workbench/images/``, "data_url"). In Jupyter a result shows as one explicit
``image/png`` (the images side by side when there are several), not PIL's PNG-and-JPEG pair.
"""

from __future__ import annotations

import base64
import io
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("pil", "png", "path", "data_url")
IMAGES_DIR = Path(".workbench") / "images"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header (no decoding)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return 0, 0
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def to_png(image: Any) -> bytes:
    """PNG bytes from a PIL image, PNG/JPEG/WebP bytes or a data URL."""
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            return data
        return to_png(_pil().open(io.BytesIO(data)))
    if isinstance(image, str) and image.startswith("data:"):
        return to_png(base64.b64decode(image.split(",", 1)[1]))
    if hasattr(image, "save"):
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
    raise TypeError(f"Not an image: {type(image).__name__} (give a PIL image, PNG bytes or a data URL).")


def _pil():
    try:
        from PIL import Image
    except ImportError as exc:
        from workbench.errors import MissingDependencyError

        raise MissingDependencyError("pillow", "images") from exc
    return Image


def save_png(data: bytes, folder: Path = IMAGES_DIR, stem: str = "image") -> Path:
    """Write ``data`` under ``folder`` with a name no other image has (time + random part)."""
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        path = folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.png"
        try:
            with open(path, "xb") as handle:      # exclusive: never overwrites
                handle.write(data)
            return path
        except FileExistsError:
            continue


def as_format(data: bytes, fmt: str, stem: str = "image") -> Any:
    if fmt == "png":
        return data
    if fmt == "data_url":
        return "data:image/png;base64," + base64.b64encode(data).decode()
    if fmt == "path":
        return save_png(data, stem=stem)
    image = _pil().open(io.BytesIO(data))
    image.load()
    return image


@dataclass
class ImageResult:
    pngs: list[bytes]
    model: str
    prompt: str
    format: str = "pil"
    seed: int | None = None
    steps: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    revised_prompts: list[str | None] = field(default_factory=list)
    _converted: list[Any] | None = field(default=None, repr=False)

    @property
    def images(self) -> list[Any]:
        """The images in the format asked for (``path``: saved once, the same paths after)."""
        if self._converted is None:
            self._converted = [as_format(p, self.format) for p in self.pngs]
        return self._converted

    @property
    def image(self) -> Any:
        return self.images[0]

    def __len__(self) -> int:
        return len(self.pngs)

    @property
    def size(self) -> tuple[int, int]:
        return png_size(self.pngs[0]) if self.pngs else (0, 0)

    def save(self, path: str | Path) -> list[Path]:
        """Write the PNGs: ``path`` itself for one image, ``stem-1.png``, ``stem-2.png``... for several."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if len(self.pngs) == 1:
            target.write_bytes(self.pngs[0])
            return [target]
        out = []
        for i, data in enumerate(self.pngs, 1):
            item = target.with_name(f"{target.stem}-{i}{target.suffix or '.png'}")
            item.write_bytes(data)
            out.append(item)
        return out

    def __repr__(self) -> str:
        w, h = self.size
        seed = f" seed={self.seed}" if self.seed is not None else ""
        took = f" in {self.timings['total_s']:.2f} s" if "total_s" in self.timings else ""
        return f"<ImageResult {len(self.pngs)} image{'s' * (len(self.pngs) != 1)} {w}x{h} {self.model}{seed}{took}>"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return {"image/png": base64.b64encode(self.contact_sheet()).decode(), "text/plain": repr(self)}

    def contact_sheet(self) -> bytes:
        """One PNG: the image, or the images side by side (Pillow, when there are several)."""
        if len(self.pngs) == 1:
            return self.pngs[0]
        try:
            Image = _pil()
        except ImportError:
            return self.pngs[0]
        opened = [Image.open(io.BytesIO(p)).convert("RGB") for p in self.pngs]
        sheet = Image.new("RGB", (sum(i.width for i in opened) + 4 * (len(opened) - 1), max(i.height for i in opened)),
                          "white")
        x = 0
        for image in opened:
            sheet.paste(image, (x, 0))
            x += image.width + 4
        return to_png(sheet)
