"""Weight cache figures: a second client for a cached model, and what clearing gives back.

    python benchmarks/bench_cache.py                       # workbench-tiny + a synthetic 200 MB model
    python benchmarks/bench_cache.py --size-mb 0           # workbench-tiny only
    python benchmarks/bench_cache.py --model hf:/path/to/model --model llamacpp:/m.gguf

workbench-tiny loads in milliseconds (under 1 MB), so "1% of the first load" is below the
fixed cost of building any client object; the synthetic model (random weights, tiny's
tokenizer, saved as an HF folder and exported to GGUF) shows the ratio at a size where
loading is real work. The second-client time is the median of 50 creations.

Targets (issue 3): second client grows RSS by < 1 MB and takes < 1% of the first load;
clearing returns RSS (VRAM where a GPU is used) to within 5% of the level before the load.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path
import warnings


def measure(model: str) -> dict[str, float]:
    import workbench as wb
    from workbench.models.local.memory import free_memory, rss_bytes, vram_bytes

    # Warm-up: import every code path once so the "before" level is not flattered by lazy imports.
    wb.client(model)
    wb.clear_hf_cache()
    wb.clear_llamacpp_cache()
    free_memory()

    rss0, vram0 = rss_bytes(), sum(vram_bytes().values())
    t = time.perf_counter()
    first = wb.client(model)
    first_s = time.perf_counter() - t
    gc.collect()
    rss1 = rss_bytes()
    times = []
    for _ in range(50):
        t = time.perf_counter()
        second = wb.client(model)
        times.append(time.perf_counter() - t)
    second_s = statistics.median(times)
    gc.collect()
    rss2 = rss_bytes()
    entry_bytes = wb.cache_info()[0].bytes
    del first, second
    freed = wb.clear_hf_cache() + wb.clear_llamacpp_cache()
    free_memory()
    rss3, vram3 = rss_bytes(), sum(vram_bytes().values())
    return {"first_load_s": first_s, "second_client_s": second_s, "ratio_pct": 100 * second_s / first_s,
            "rss_growth_second_mb": (rss2 - rss1) / 2**20, "entry_mb": entry_bytes / 2**20,
            "load_rss_mb": (rss1 - rss0) / 2**20, "freed_mb": freed / 2**20,
            "after_clear_vs_before_pct": 100 * (rss3 - rss0) / rss0,
            "vram_after_clear_vs_before_mb": (vram3 - vram0) / 2**20}


def synthetic_model(size_mb: int, folder: Path) -> tuple[str, str]:
    """A random Llama of about ``size_mb`` MB (float32) with tiny's tokenizer, as HF folder and GGUF."""
    import shutil

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from workbench.builtin.gguf_export import export_gguf
    from workbench.builtin.tiny import ensure_tiny

    tiny = ensure_tiny().hf_dir
    hidden, inter = 512, 1536
    per_layer = 4 * (4 * hidden * hidden + 3 * hidden * inter)
    layers = max(1, round(size_mb * 2**20 / per_layer))
    vocab = LlamaConfig.from_pretrained(tiny).vocab_size
    config = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=inter,
                         num_hidden_layers=layers, num_attention_heads=8, num_key_value_heads=8,
                         max_position_embeddings=512, tie_word_embeddings=True)
    torch.manual_seed(0)
    hf_dir = folder / "synthetic-hf"
    LlamaForCausalLM(config).save_pretrained(hf_dir)
    for f in tiny.iterdir():
        if "token" in f.name or f.name.endswith(".jinja"):
            shutil.copy(f, hf_dir / f.name)
    gguf = export_gguf(hf_dir, folder / "synthetic.gguf")
    return f"hf:{hf_dir}", f"llamacpp:{gguf}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="model string (repeatable)")
    parser.add_argument("--size-mb", type=int, default=200, help="synthetic model size (0: none)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    models = args.model or ["hf:workbench-tiny", "llamacpp:workbench-tiny"]
    scratch = tempfile.TemporaryDirectory()
    if args.size_mb and not args.model:
        models += list(synthetic_model(args.size_mb, Path(scratch.name)))
    for model in models:
        r = measure(model)
        ok = (r["rss_growth_second_mb"] < 1 and r["ratio_pct"] < 1 and abs(r["after_clear_vs_before_pct"]) <= 5)
        print(f"{model}")
        print(f"  first load            {r['first_load_s'] * 1000:9.1f} ms   (entry {r['entry_mb']:.1f} MB, "
              f"RSS +{r['load_rss_mb']:.1f} MB)")
        print(f"  second client         {r['second_client_s'] * 1000:9.3f} ms   = {r['ratio_pct']:.3f}% of first "
              f"load (target < 1%)")
        print(f"  RSS growth, 2nd       {r['rss_growth_second_mb']:9.3f} MB   (target < 1 MB)")
        print(f"  clear freed           {r['freed_mb']:9.1f} MB; RSS after clear vs before load "
              f"{r['after_clear_vs_before_pct']:+.2f}% (target within 5%)")
        if r["vram_after_clear_vs_before_mb"]:
            print(f"  VRAM after clear vs before {r['vram_after_clear_vs_before_mb']:+.1f} MB")
        print(f"  targets met: {ok}")
    scratch.cleanup()


if __name__ == "__main__":
    main()
