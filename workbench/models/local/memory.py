"""Memory readings for in-process models: process RSS, torch tensor bytes per device, VRAM.

Nothing here imports torch unless the caller already has (a cache entry holding a torch
module implies torch is loaded), so the notebook gauge can call these on a CPU-only,
torch-free kernel.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any


def rss_bytes() -> int:
    """Resident set size of this process (bytes)."""
    try:
        import psutil

        return int(psutil.Process(os.getpid()).memory_info().rss)
    except ImportError:  # Linux fallback without psutil
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _torch():
    return sys.modules.get("torch")


def cuda_available() -> bool:
    torch = _torch()
    return bool(torch is not None and torch.cuda.is_available())


def vram_bytes() -> dict[str, int]:
    """Bytes allocated by torch on each CUDA device ({} without CUDA)."""
    if not cuda_available():
        return {}
    torch = _torch()
    return {f"cuda:{i}": int(torch.cuda.memory_allocated(i)) for i in range(torch.cuda.device_count())}


def torch_bytes_by_device(module: Any) -> dict[str, int]:
    """Parameters and buffers of a torch module, summed per device.

    Tied weights (an embedding shared with the LM head) are counted once: storages are
    deduplicated by data pointer.
    """
    seen: set[tuple[str, int]] = set()
    out: dict[str, int] = {}
    tensors = list(module.parameters()) + list(module.buffers())
    for t in tensors:
        device = str(t.device)
        try:
            ptr = t.untyped_storage().data_ptr()
            size = t.untyped_storage().nbytes()
        except (RuntimeError, NotImplementedError):  # meta tensors and the like
            ptr, size = id(t), t.numel() * t.element_size()
        if (device, ptr) in seen:
            continue
        seen.add((device, ptr))
        out[device] = out.get(device, 0) + int(size)
    return out


def guess_bytes_by_device(value: Any) -> dict[str, int]:
    """Sizes of torch modules found in the value (itself, a tuple/dict of parts, or attributes)."""
    parts = value if isinstance(value, (tuple, list)) else \
        list(value.values()) if isinstance(value, dict) else [value] + list(getattr(value, "__dict__", {}).values())
    out: dict[str, int] = {}
    for part in parts:
        if hasattr(part, "parameters") and hasattr(part, "buffers"):
            for device, n in torch_bytes_by_device(part).items():
                out[device] = out.get(device, 0) + n
        elif isinstance(getattr(part, "bytes_by_device", None), dict):
            for device, n in part.bytes_by_device.items():
                out[device] = out.get(device, 0) + n
    return out


def free_memory() -> None:
    """Collect garbage and hand cached CUDA blocks back to the driver where CUDA exists."""
    gc.collect()
    if cuda_available():
        _torch().cuda.empty_cache()
    _malloc_trim()


def _malloc_trim() -> None:
    # glibc keeps freed arenas mapped; trimming returns them so RSS reflects the free.
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def format_bytes(n: float | None) -> str:
    """Sizes in one unit system everywhere (cache_info, the gauge, %aimu clear): binary, KiB/MiB/GiB."""
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
