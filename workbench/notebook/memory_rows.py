"""What the memory gauges show, as plain rows: the weight-cache entries with their size per
device, and device totals (shared by the gauge widget and the status-bar item of the
JupyterLab extension; imports no widget library).

Device figures: CUDA devices through torch.cuda when torch is already imported (never
imported here) or NVML when a driver is present; always the process RSS and system RAM
through psutil.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _weights():
    from workbench.models.local import weights

    return weights


def _field(entry: Any, name: str, default: Any = None) -> Any:
    if isinstance(entry, dict):
        return entry.get(name, default)
    return getattr(entry, name, default)


def entry_rows() -> list[dict[str, Any]]:
    """The cache entries as plain JSON-able dicts (what the widget shows)."""
    try:
        info = _weights().cache_info()
    except ImportError:
        return []
    rows = []
    for entry in info:
        by_device = {str(k): int(v) for k, v in (_field(entry, "bytes_by_device") or {}).items()}
        key = _field(entry, "key", "")
        rows.append({"key": str(key), "kind": str(getattr(key, "kind", _field(entry, "provider", ""))),
                     "model_id": str(getattr(key, "model", _field(entry, "model", ""))),
                     "provider": str(_field(entry, "provider", "")),
                     "model": str(_field(entry, "model", "")),
                     "kwargs": {str(k): repr(v) for k, v in (_field(entry, "kwargs") or {}).items()},
                     "bytes_by_device": by_device,
                     "bytes": int(_field(entry, "bytes", sum(by_device.values())) or 0),
                     "load_s": _field(entry, "load_s"), "hits": _field(entry, "hits")})
    return rows


def device_rows() -> list[dict[str, Any]]:
    """Device totals: CUDA (torch already imported, or NVML with a driver), process RSS, RAM."""
    rows: list[dict[str, Any]] = []
    torch = sys.modules.get("torch")
    # Only a CUDA runtime already started: asking an idle one would create a context on
    # every GPU (hundreds of MB each); NVML reads the same figures without one.
    if torch is not None and getattr(torch.cuda, "is_initialized", lambda: False)():
        try:
            if torch.cuda.is_available():
                for i in range(torch.cuda.device_count()):
                    free, total = torch.cuda.mem_get_info(i)
                    rows.append({"name": f"cuda:{i}", "used": int(total - free), "total": int(total),
                                 "detail": torch.cuda.get_device_name(i)})
        except Exception:
            rows = []
    if not rows and os.path.exists("/proc/driver/nvidia"):
        rows = _nvml_rows()
    try:
        import psutil

        rss = psutil.Process().memory_info().rss
        vm = psutil.virtual_memory()
        rows.append({"name": "process RSS", "used": int(rss), "total": int(vm.total), "detail": "this kernel"})
        rows.append({"name": "system RAM", "used": int(vm.total - vm.available), "total": int(vm.total),
                     "detail": "all processes"})
    except ImportError:
        pass
    return rows


def _nvml_rows() -> list[dict[str, Any]]:
    try:
        import pynvml

        pynvml.nvmlInit()
        rows = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            rows.append({"name": f"cuda:{i}", "used": int(mem.used), "total": int(mem.total), "detail": "NVML"})
        return rows
    except Exception:
        return []


def human_bytes(n: float | None) -> str:
    from workbench.models.local.memory import format_bytes

    return format_bytes(n)


def clear_entry(row: dict[str, Any] | None) -> int:
    """Free one entry (``row`` from entry_rows) or everything (``None``); the bytes freed."""
    weights = _weights()
    if row is None:
        return int(weights.clear_hf_cache() or 0) + int(weights.clear_llamacpp_cache() or 0)
    cache = getattr(weights, "CACHE", None)
    if cache is not None:  # exactly this kind and model id, not every family member
        return int(cache.clear((row["kind"],), row["model_id"]) or 0)
    clear = weights.clear_llamacpp_cache if "llama" in row["kind"] else weights.clear_hf_cache
    return int(clear(row["model_id"]) or 0)
