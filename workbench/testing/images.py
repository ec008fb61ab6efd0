"""Images for the fake servers: small PNGs whose colour follows the prompt, no Pillow needed.

A prompt naming a colour ("a red square") gets that colour; otherwise a colour hashed from
the prompt. Partial images are the same picture, darker (a preview that sharpens).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 60), "blue": (30, 60, 220), "yellow": (240, 220, 40),
           "black": (10, 10, 10), "white": (245, 245, 245), "orange": (250, 140, 20), "purple": (140, 40, 180)}


def colour_of(prompt: str) -> tuple[int, int, int]:
    for word in str(prompt).lower().replace(",", " ").split():
        if word in COLOURS:
            return COLOURS[word]
    digest = hashlib.sha1(str(prompt).encode()).digest()
    return digest[0], digest[1], digest[2]


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour RGB PNG."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height, 6)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def prompt_png_b64(prompt: str, size: str | None, *, shade: float = 1.0) -> str:
    width, height = 64, 64
    if size and "x" in str(size) and size != "auto":
        w, h = str(size).split("x", 1)
        width, height = max(1, min(int(w) // 16, 256)), max(1, min(int(h) // 16, 256))   # small, same aspect
    rgb = tuple(int(c * shade) for c in colour_of(prompt))
    return base64.b64encode(png(width, height, rgb)).decode()
