"""Deterministic fake embeddings for the fake servers: hashed bags of words.

Texts that share words get similar vectors (cosine similarity grows with the overlap), so
semantic search can be tested offline for what it does: rank by shared content.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct

DEFAULT_DIM = 32


def fake_embedding(text: str, dim: int = DEFAULT_DIM) -> list[float]:
    vector = [0.0] * dim
    for word in re.findall(r"\w+", str(text).lower()):
        digest = hashlib.sha1(word.encode()).digest()
        index = int.from_bytes(digest[:4], "little") % dim
        vector[index] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        vector[0], norm = 1.0, 1.0
    return [v / norm for v in vector]


def as_base64(vector: list[float]) -> str:
    """The OpenAI API's ``encoding_format="base64"``: little-endian float32."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def inputs_of(body: dict) -> list[str]:
    value = body.get("input", "")
    return [value] if isinstance(value, str) else [str(v) for v in value]
