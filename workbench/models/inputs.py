"""User messages with images: paths, bytes and URLs become OpenAI-format content parts."""

from __future__ import annotations

import base64
import inspect
import mimetypes
from pathlib import Path
from typing import Any, Iterable

from workbench.errors import ConfigurationError

ImageInput = "str | Path | bytes"


def user_message(text: str, images: Iterable[Any] | None = None) -> dict[str, Any]:
    if not isinstance(text, str):
        hint = " (a coroutine: you forgot an 'await')" if inspect.isawaitable(text) else ""
        if inspect.iscoroutine(text):
            text.close()  # it can never run now; spare the user a second "never awaited" warning
        raise TypeError(f"A message must be a str, got {type(text).__name__}{hint}.")
    if not images:
        return {"role": "user", "content": text}
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": image_url(img)}} for img in images]
    return {"role": "user", "content": parts}


def image_url(image: Any) -> str:
    """An http(s) URL unchanged, anything else as a base64 data URL."""
    if isinstance(image, (bytes, bytearray)):
        return f"data:{sniff_mime(bytes(image))};base64,{base64.b64encode(image).decode()}"
    if isinstance(image, str) and image.startswith(("http://", "https://", "data:")):
        return image
    if isinstance(image, (str, Path)):
        path = Path(image).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"Image not found: {str(path)!r} (give a file path, bytes or an http(s) URL).")
        data = path.read_bytes()
        mime = mimetypes.guess_type(path.name)[0] or sniff_mime(data)
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"
    raise ConfigurationError(f"Unsupported image {type(image).__name__}: give a file path, bytes or an http(s) URL.")


def sniff_mime(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def split_data_url(url: str) -> tuple[str, str] | None:
    """``(mime, base64 data)`` of a data URL, or None for a plain URL."""
    if not url.startswith("data:"):
        return None
    header, _, data = url.partition(",")
    return header[5:].split(";")[0] or "application/octet-stream", data


def message_text(message: dict[str, Any]) -> str:
    """The text of a message whose content is a string or a list of parts."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")


def message_images(message: dict[str, Any]) -> list[str]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [p["image_url"]["url"] for p in content if isinstance(p, dict) and p.get("type") == "image_url"]
