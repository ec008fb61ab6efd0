"""Batching figures: 8 concurrent requests to an HF model, batched vs serialized.

    python benchmarks/bench_batching.py [--model hf:workbench-tiny] [--requests 8] [--repeat 15]

Both runs go through an InferenceScheduler: max_concurrent=N (batched into one generate
call) and max_concurrent=1 (serialized). Aggregate tokens/s = output tokens / wall time.
Target (issue 3): batched >= 2.5x serialized, with identical greedy outputs.

Then, on the same prompts, transformers' own continuous batching (``model.generate_batch``,
transformers >= 5.x) against our greedy loop run directly (``hf_generate.run_batch``, one
batch of all prompts), both greedy with the same token limit: wall time and whether the
tokens agree. The faster one on CPU is the default (see README).

Two prompt sets: "short" (eight short questions, answers of similar length) and "mixed"
(includes the story, ~70 tokens while the rest take ~15-30: a batch lasts as long as its
longest row, so the ratio is bounded by total tokens / longest row). Timings are the best
of ``--repeat`` interleaved runs, because a shared CPU makes single runs noisy.
"""

from __future__ import annotations

import argparse
import threading
import time
import warnings

PROMPT_SETS = {
    # short scripted answers only (unknown prompts now get workbench-tiny's long fallback)
    "short": ["What is 17+25?", "Hi", "What is the capital of France?", "Name a prime",
              "What is the weather in Paris?", "Use the add tool to add 2 and 3.", "What is 17+25?",
              "What is the capital of France?"],
    "mixed": ["What is 17+25?", "Hi", "What is the capital of France?", "Name a prime",
              "Explain the attention mechanism in two sentences.", "Tell me a story",
              "Who won the match yesterday?", "Why is the sky blue?"],
}


def run(model: str, prompts: list[str], max_concurrent: int) -> tuple[float, int, list[str], int]:
    import workbench as wb
    from workbench.models.local.scheduler import InferenceScheduler

    sched = InferenceScheduler(max_concurrent=max_concurrent, batch_window_s=0.05)
    clients = [wb.client(model, scheduler=sched) for _ in prompts]
    outputs: list[str] = [""] * len(prompts)
    tokens = [0] * len(prompts)
    barrier = threading.Barrier(len(prompts) + 1)

    def go(i: int) -> None:
        barrier.wait()
        outputs[i] = clients[i].generate(prompts[i])
        tokens[i] = clients[i].last_usage.get("output_tokens", 0)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start, sum(tokens), outputs, sched.batches_run


def compare(model: str, prompts: list[str], repeat: int) -> None:
    best_b = best_s = None
    for _ in range(repeat):
        b = run(model, prompts, len(prompts))
        s = run(model, prompts, 1)
        best_b = b if best_b is None or b[0] < best_b[0] else best_b
        best_s = s if best_s is None or s[0] < best_s[0] else best_s
    tb, nb, ob, calls_b = best_b
    ts, ns, os_, calls_s = best_s
    rate_b, rate_s = nb / tb, ns / ts
    print(f"  batched    (max_concurrent={len(prompts)}): {nb} tokens in {tb:.3f} s = {rate_b:8.1f} tok/s "
          f"({calls_b} generate calls)")
    print(f"  serialized (max_concurrent=1): {ns} tokens in {ts:.3f} s = {rate_s:8.1f} tok/s "
          f"({calls_s} generate calls)")
    print(f"  ratio {rate_b / rate_s:.2f}x (target >= 2.5x); identical outputs: {ob == os_}")


def engines(model: str, prompts: list[str], repeat: int) -> None:
    """Our greedy loop vs transformers' generate_batch on the same token ids."""
    import logging

    import workbench as wb
    from workbench.models.local.hf_generate import GenRequest, run_batch

    weights = wb.client(model)._weights
    tok, hf_model = weights.tokenizer, weights.model
    ids = [tok(tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                       tokenize=False), add_special_tokens=False)["input_ids"] for p in prompts]
    max_new = 128

    def ours() -> list[list[int]]:
        reqs = [GenRequest(input_ids=i, max_new_tokens=max_new, eos_ids=weights.eos_ids) for i in ids]
        run_batch(weights, reqs)
        return [r.take() for r in reqs]

    generate_batch = getattr(hf_model, "generate_batch", None)
    timings = {"greedy loop": [], "generate_batch": []}
    outputs: dict[str, list[list[int]]] = {}
    for _ in range(repeat):
        start = time.perf_counter()
        outputs["greedy loop"] = ours()
        timings["greedy loop"].append(time.perf_counter() - start)
        if generate_batch is None:
            continue
        import copy

        config = copy.deepcopy(hf_model.generation_config)
        config.do_sample, config.max_new_tokens = False, max_new
        config.eos_token_id, config.pad_token_id = sorted(weights.eos_ids), weights.pad_id
        logging.getLogger("transformers").setLevel(logging.ERROR)
        start = time.perf_counter()
        try:
            result = generate_batch(inputs=ids, generation_config=config, progress_bar=False)
        except Exception as exc:  # an API that moved: say so, keep the other figure
            print(f"  generate_batch failed: {type(exc).__name__}: {exc}")
            generate_batch = None
            continue
        timings["generate_batch"].append(time.perf_counter() - start)
        ordered = [result[k] for k in sorted(result, key=lambda k: int(str(k).rsplit("_", 1)[-1]))]
        outputs["generate_batch"] = [[t for t in o.generated_tokens if t not in weights.eos_ids]
                                     for o in ordered]
    for name, ts in timings.items():
        if ts:
            print(f"  {name:15} {len(ids)} prompts: best {min(ts) * 1000:8.1f} ms, median "
                  f"{sorted(ts)[len(ts) // 2] * 1000:8.1f} ms")
        else:
            print(f"  {name:15} not available in this transformers")
    if "generate_batch" in outputs:
        print(f"  same tokens: {outputs['generate_batch'] == outputs['greedy loop']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hf:workbench-tiny")
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--prompts", choices=[*PROMPT_SETS, "both"], default="both")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    run(args.model, PROMPT_SETS["short"][:2], 2)     # warm-up: load weights, first-call overheads
    for name in PROMPT_SETS if args.prompts == "both" else [args.prompts]:
        prompts = (PROMPT_SETS[name] * 4)[:args.requests]
        print(f"{args.model}: {len(prompts)} concurrent requests, '{name}' prompts, best of {args.repeat}")
        compare(args.model, prompts, args.repeat)
    for name in PROMPT_SETS if args.prompts == "both" else [args.prompts]:
        prompts = (PROMPT_SETS[name] * 4)[:args.requests]
        print(f"engines, '{name}' prompts (one batch of {len(prompts)}, greedy, 128 new tokens at most):")
        engines(args.model, prompts, max(3, args.repeat // 3))


if __name__ == "__main__":
    main()
