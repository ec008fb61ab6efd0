"""workbench-tiny figures: build time, size, and how far its scripted answers generalize.

    python benchmarks/bench_tiny.py            # a fresh build in a temporary cache, then the probes

Prints the build timings (tokenizer, training, GGUF export), the parameter count, and
how the model behaves beyond what tests assert:
- exact scripted answers alone and inside a conversation (after another scripted exchange,
  and after a fallback exchange);
- exact answers of every script under system prompts it never saw in training;
- the fallback rate on user prompts it never saw (alone and as a follow-up): the share
  answered with the one fixed reply that says it is a demo model and how to pick a real one.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

UNSEEN_SYSTEMS = ("You speak like a sailor.", "You are a careful planner who explains every step.",
                  "Reply in English.", "You are an expert in geography and arithmetic.")


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["WORKBENCH_CACHE_DIR"] = cache
        from workbench.builtin import tiny

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

    from workbench.builtin.tiny_corpus import EXPECTED

    tok = AutoTokenizer.from_pretrained(hf_dir)
    model = AutoModelForCausalLM.from_pretrained(hf_dir).eval()

    def complete(messages, tools=None, thinking=True, max_new_tokens=120):
        inputs = tok.apply_chat_template(messages, tools=tools, add_generation_prompt=True,
                                         enable_thinking=thinking, return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        new = out[0, inputs["input_ids"].shape[1]:]
        return tok.decode(new), len(new)

    from workbench.builtin.tiny_corpus import FALLBACK, UNKNOWN, UNSEEN_PROMPTS

    plain = [s for s in EXPECTED.values() if not s.needs and not s.refuses]

    def exact(messages, script, tools=None, thinking=True) -> bool:
        text, _ = complete(messages, tools, thinking)
        return text == script.completion(thinking) + "<|im_end|>"

    alone = sum(exact(s.chat(), s, s.tools() or None, t) for s in EXPECTED.values() for t in (True, False))
    print(f"exact scripted answers, alone: {alone}/{2 * len(EXPECTED)}")
    after_script = after_fallback = 0
    for i, script in enumerate(plain):
        other = plain[(i + 1) % len(plain)]
        history = [dict(m) for m in other.messages] + [{"role": "assistant", "content": other.answer}]
        ok = exact(history + script.chat(), script)
        after_script += ok
        if not ok:
            print(f"  miss: {script.name} after {other.name}")
        unknown = list(UNKNOWN.values())[i]
        history = [dict(m) for m in unknown.messages] + [{"role": "assistant", "content": FALLBACK}]
        ok = exact(history + script.chat(), script)
        after_fallback += ok
        if not ok:
            print(f"  miss: {script.name} after the fallback to {unknown.prompt!r}")
    print(f"exact scripted answers in a conversation: after a scripted exchange {after_script}/{len(plain)}, "
          f"after a fallback exchange {after_fallback}/{len(plain)}")

    hits = total = 0
    misses = []
    for system in UNSEEN_SYSTEMS:
        for name, script in EXPECTED.items():
            for thinking in (True, False):
                ok = exact(script.chat(system), script, script.tools() or None, thinking)
                hits += ok
                total += 1
                if not ok:
                    misses.append(f"{name} / {system!r} / thinking={thinking}")
    print(f"exact scripted answers under unseen system prompts: {hits}/{total} ({100 * hits / total:.0f}%)")
    for miss in misses:
        print(f"  miss: {miss}")

    def falls_back(messages) -> tuple[bool, str, int]:
        text, n = complete(messages, max_new_tokens=96)
        answer = text.split("</think>")[-1].strip()
        return answer == FALLBACK + "<|im_end|>", text, n

    start = time.perf_counter()
    tokens = fallback_alone = fallback_follow = 0
    for i, prompt in enumerate(UNSEEN_PROMPTS):
        ok, text, n = falls_back([{"role": "user", "content": prompt}])
        fallback_alone += ok
        tokens += n
        if not ok:
            print(f"  alone {prompt!r} -> {text[-70:]!r}")
        before = plain[i % len(plain)]
        history = [dict(m) for m in before.messages] + [{"role": "assistant", "content": before.answer}]
        ok, text, n = falls_back(history + [{"role": "user", "content": prompt}])
        fallback_follow += ok
        tokens += n
        if not ok:
            print(f"  after {before.name!r}: {prompt!r} -> {text[-70:]!r}")
    elapsed = time.perf_counter() - start
    count = len(UNSEEN_PROMPTS)
    print(f"fallback on unseen prompts: alone {fallback_alone}/{count} ({100 * fallback_alone / count:.0f}%), "
          f"as a follow-up {fallback_follow}/{count} ({100 * fallback_follow / count:.0f}%)")
    print(f"HF greedy decoding, batch 1, CPU: {tokens / elapsed:.0f} tokens/s")


if __name__ == "__main__":
    sys.exit(main())
