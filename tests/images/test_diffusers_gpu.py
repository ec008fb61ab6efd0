"""diffusers on CUDA (skipped without a GPU): placement, dtype, VRAM in the gauge, clearing frees it."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.builtin import tiny_sd_data as data


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _cuda(), reason="needs a CUDA GPU")]


def test_the_pipeline_goes_whole_onto_the_gpu_in_half_precision_and_clearing_frees_it():
    import numpy as np
    import torch

    wb.clear_hf_cache()
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated(0)
    ic = wb.image_client("hf:workbench-tiny-sd")
    assert ic.placement == "cuda" and ic.dtype == "float16"
    entry = [e for e in wb.cache_info() if e.provider == "diffusers"][0]
    assert set(entry.bytes_by_device) == {"cuda:0"} and entry.kwargs["dtype"] == "float16"
    assert torch.cuda.memory_allocated(0) > before
    image = ic.generate("a red square on white", seed=0).image
    assert data.dominant_colour(np.asarray(image.convert("RGB")).astype(float)) == "red"
    offloaded = wb.image_client("hf:workbench-tiny-sd", device="offload")
    assert offloaded.placement == "offload" and offloaded.cache_entry is not ic.cache_entry
    assert wb.clear_hf_cache() > 0
    torch.cuda.empty_cache()
    assert torch.cuda.memory_allocated(0) <= before * 1.05 + 2 ** 20
