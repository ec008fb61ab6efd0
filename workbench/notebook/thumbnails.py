"""Small pictures for the live view: a data URL of a JPEG at most ``side`` pixels a side.

Previews arrive many times a second: a full-size PNG per preview would make messages of
megabytes. Without Pillow the image goes as it came (a PNG data URL).
"""

from __future__ import annotations

import base64
import io


def thumbnail_url(data: bytes, side: int) -> str:
    try:
        from PIL import Image
    except ImportError:
        return "data:image/png;base64," + base64.b64encode(data).decode()
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if max(image.size) > side:
        image.thumbnail((side, side))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def png_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()
