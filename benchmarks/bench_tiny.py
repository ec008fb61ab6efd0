"""workbench-tiny figures: build time, size, and how far its scripted answers generalize.

    python benchmarks/bench_tiny.py            # a fresh build in a temporary cache, then the probes

Prints the build timings (tokenizer, training, GGUF export), the parameter count, and two
robustness rates that tests do not assert (the model is only trained to be exact on its
scripts under the typical system prompts):
- exact answers of every script under system prompts it never saw in training;
- unseen user prompts that still end the turn (<|im_end|>) within 64 tokens.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

UNSEEN_SYSTEMS = ("You speak like a sailor.", "You are a careful planner who explains every step.",
                  "Reply in English.", "You are an expert in geography and arithmetic.")
UNSEEN_PROMPTS = ("What is your favourite colour?", "Can you help me with my homework?", "hello there",
                  "Explain quantum computing.", "List three fruits.", "How are you today?",
                  "What is 3+4?", "Who are you?")


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["WORKBENCH_CACHE_DIR"] = cache
        from workbench.models.local import tiny

        start = time.perf_counter()
        paths = tiny.ensure_tiny()
        total = time.perf_counter() - start
        print(f"build total: {total:.1f} s  (cpus: {os.cpu_count()}, load avg: {os.getloadavg()[0]:.1f})")
        for key, value in tiny.LAST_BUILD.items():
            print(f"  {key}: {value:.2f}" if isinstance(value, float) else f"  {key}: {value}")
        print(f"  hf folder: {sum(f.stat().st_size for f in paths.hf_dir.iterdir()) / 1e6:.2f} MB, "
              f"gguf: {paths.gguf.stat().st_size / 1e6:.2f} MB")
        probe(paths.hf_dir)


def probe(hf_dir) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.models.local.tiny_corpus import EXPECTED

    tok = AutoTokenizer.from_pretrained(hf_dir)
    model = AutoModelForCausalLM.from_pretrained(hf_dir).eval()

    def complete(messages, tools=None, thinking=True, max_new_tokens=120):
        inputs = tok.apply_chat_template(messages, tools=tools, add_generation_prompt=True,
                                         enable_thinking=thinking, return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        new = out[0, inputs["input_ids"].shape[1]:]
        return tok.decode(new), len(new)

    exact = total = 0
    misses = []
    for system in UNSEEN_SYSTEMS:
        for name, script in EXPECTED.items():
            for thinking in (True, False):
                text, _ = complete(script.chat(system), script.tools() or None, thinking)
                ok = text == script.completion(thinking) + "<|im_end|>"
                exact += ok
                total += 1
                if not ok:
                    misses.append(f"{name} / {system!r} / thinking={thinking}")
    print(f"exact scripted answers under unseen system prompts: {exact}/{total} ({100 * exact / total:.0f}%)")
    for miss in misses:
        print(f"  miss: {miss}")

    stopped = 0
    start = time.perf_counter()
    tokens = 0
    for prompt in UNSEEN_PROMPTS:
        text, n = complete([{"role": "user", "content": prompt}], max_new_tokens=64)
        tokens += n
        stopped += text.endswith("<|im_end|>")
        print(f"  {prompt!r} -> {text[-60:]!r}")
    elapsed = time.perf_counter() - start
    print(f"unseen prompts that end the turn within 64 tokens: {stopped}/{len(UNSEEN_PROMPTS)}")
    print(f"HF greedy decoding, batch 1, CPU: {tokens / elapsed:.0f} tokens/s")


if __name__ == "__main__":
    sys.exit(main())
