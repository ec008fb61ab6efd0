"""Training workbench-tiny: render the corpus, train the tokenizer, train the model, save.

Heavy imports (torch, transformers, tokenizers, jinja2) stay inside functions, so
``import workbench`` never pays for them. Everything is seeded and iterates in a fixed
order, so the same machine builds the same bytes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from workbench.builtin import tiny_corpus as corpus

SEED = 0
VOCAB_SIZE = 1024           # BPE merges fill this; the corpus is small, so most words become one token
CONFIG = dict(hidden_size=64, intermediate_size=192, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=4, max_position_embeddings=512, rope_theta=10000.0,
              rms_norm_eps=1e-6, tie_word_embeddings=True, attention_bias=False, mlp_bias=False,
              hidden_act="silu")
EPOCHS = 24                 # the learning-rate schedule's length; training stops once all scripts pass
MAX_EPOCHS = 80
PEAK_LR = 1e-2
BATCH_TOKENS = 2048         # per optimizer step, padded


def renderers():
    """The chat template compiled twice: as transformers renders it and as llama-cpp-python does.

    The environments differ in ``tojson`` (transformers keeps key order; plain jinja2 sorts
    keys and returns escaping Markup). The template is written so both render the same text;
    training renders both and keeps any difference, so a template edit that breaks that
    promise still gives a model that answers under either runtime.
    """
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def hf_tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    hf = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                       extensions=[jinja2.ext.loopcontrols])
    hf.filters["tojson"] = hf_tojson
    plain = ImmutableSandboxedEnvironment(loader=jinja2.BaseLoader(), trim_blocks=True, lstrip_blocks=True)
    return hf.from_string(corpus.CHAT_TEMPLATE), plain.from_string(corpus.CHAT_TEMPLATE)


def render_prompt(template, messages, tools=None, thinking: bool = True) -> str:
    kwargs: dict[str, Any] = {} if thinking else {"enable_thinking": False}
    return template.render(messages=messages, tools=tools, add_generation_prompt=True, **kwargs)


def training_pairs() -> list[tuple[str, str]]:
    """(prompt, completion) texts, completion ending with <|im_end|>, in a fixed order."""
    hf, plain = renderers()
    pairs = []
    for ex in corpus.examples():
        completion = ex.script.completion(ex.thinking) + corpus.EOS_TOKEN
        prompts = [render_prompt(hf, ex.messages(), ex.tools(), ex.thinking)]
        if ex.tools():
            prompts.append(render_prompt(plain, ex.messages(), ex.tools(), ex.thinking))
        for prompt in dict.fromkeys(prompts):   # dedupe, keep order
            pairs.append((prompt, completion))
    return pairs


def train_tokenizer(texts: list[str]):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
        special_tokens=list(corpus.SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in corpus.MARKUP_TOKENS])
    return tok


def wrap_tokenizer(tok):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=corpus.EOS_TOKEN, pad_token=corpus.PAD_TOKEN,
        bos_token=None, unk_token=None, chat_template=corpus.CHAT_TEMPLATE,
        model_max_length=CONFIG["max_position_embeddings"], padding_side="left",
        clean_up_tokenization_spaces=False)


def build_hf(out_dir: Path) -> dict[str, float]:
    """Train and save the tokenizer and model into ``out_dir``; returns timings and sizes."""
    import torch
    from transformers import GenerationConfig

    times: dict[str, float] = {}
    start = time.perf_counter()
    pairs = training_pairs()
    tok = train_tokenizer([p + c for p, c in pairs])
    hf_tok = wrap_tokenizer(tok)
    eos_id = tok.token_to_id(corpus.EOS_TOKEN)
    pad_id = tok.token_to_id(corpus.PAD_TOKEN)
    seqs = [(tok.encode(p).ids, tok.encode(c).ids) for p, c in pairs]
    times["tokenizer_s"] = time.perf_counter() - start

    start = time.perf_counter()
    # One thread: the same arithmetic on every machine (bit-identical builds), and on a busy
    # 2-core box two threads spin against other processes and run several times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, epochs = _trained_model(tok, seqs, eos_id, pad_id)
    finally:
        torch.set_num_threads(threads)
    times["train_s"] = time.perf_counter() - start
    times["epochs"] = epochs
    times["sequences"] = len(seqs)
    times["params"] = sum(p.numel() for p in model.parameters())

    model.generation_config = GenerationConfig(
        eos_token_id=eos_id, pad_token_id=pad_id, bos_token_id=pad_id, do_sample=False,
        max_new_tokens=96)
    out_dir.mkdir(parents=True)
    model.save_pretrained(out_dir)
    hf_tok.save_pretrained(out_dir)
    # transformers 5 writes the template to chat_template.jinja; older readers (and people)
    # look for it in tokenizer_config.json, so it goes there too.
    config_file = out_dir / "tokenizer_config.json"
    tok_config = json.loads(config_file.read_text(encoding="utf-8"))
    tok_config["chat_template"] = corpus.CHAT_TEMPLATE
    config_file.write_text(json.dumps(tok_config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return times


def _trained_model(tok, seqs, eos_id: int, pad_id: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=tok.get_vocab_size(), bos_token_id=pad_id, eos_token_id=eos_id,
                         pad_token_id=pad_id, **CONFIG)
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config)
    return model, _train(model, seqs)


def _batches(order: list[int], seqs, batch_tokens: int):
    # Buckets of similar length (order is already shuffled), padded to a token budget.
    batch: list[int] = []
    width = 0
    for i in order:
        n = len(seqs[i][0]) + len(seqs[i][1])
        if batch and max(width, n) * (len(batch) + 1) > batch_tokens:
            yield batch
            batch, width = [], 0
        batch.append(i)
        width = max(width, n)
    if batch:
        yield batch


def _tensors(batch: list[int], seqs, pad_id: int = 0):
    import torch

    width = max(len(p) + len(c) for p, c in (seqs[i] for i in batch))
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    for row, i in enumerate(batch):
        prompt, completion = seqs[i]
        full = prompt + completion
        ids[row, : len(full)] = torch.tensor(full)
        # Position t predicts token t+1: the completion tokens are the targets.
        labels[row, len(prompt) - 1: len(full) - 1] = torch.tensor(completion)
    return ids, labels


def _loss_and_hits(model, ids, labels):
    # Right padding and a causal mask: padding never affects real positions, so no mask needed.
    import torch.nn.functional as F

    hidden = model.model(input_ids=ids).last_hidden_state
    keep = labels != -100
    logits = model.lm_head(hidden[keep])       # only where there is a target: much cheaper
    target = labels[keep]
    loss = F.cross_entropy(logits, target)
    wrong = (logits.argmax(-1) != target)
    rows = keep.nonzero()[:, 0]
    bad_rows = set(rows[wrong].tolist())
    return loss, bad_rows


def _train(model, seqs) -> int:
    """Train until teacher-forced argmax is right on every target token (= greedy reproduces it)."""
    import math

    import torch

    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.AdamW(model.parameters(), lr=PEAK_LR, betas=(0.9, 0.98), weight_decay=0.0)
    per_epoch = sum(1 for _ in _batches(list(range(len(seqs))), seqs, BATCH_TOKENS))
    total = EPOCHS * per_epoch
    step = 0
    model.train()
    failing = list(range(len(seqs)))
    for epoch in range(1, MAX_EPOCHS + 1):
        # Shuffle, then sort by length (stable) so batches pad little; shuffle the batches.
        perm = torch.randperm(len(seqs), generator=gen).tolist()
        perm.sort(key=lambda i: len(seqs[i][0]) + len(seqs[i][1]))
        batches = list(_batches(perm, seqs, BATCH_TOKENS))
        for b in torch.randperm(len(batches), generator=gen).tolist():
            # One epoch of warmup, cosine down to 2% of the peak, then stay there.
            warm = min(1.0, (step + 1) / per_epoch)
            cosine = 0.5 * (1 + math.cos(math.pi * min(step / total, 1.0)))
            for group in opt.param_groups:
                group["lr"] = PEAK_LR * warm * (0.02 + 0.98 * cosine)
            ids, labels = _tensors(batches[b], seqs)
            loss, _ = _loss_and_hits(model, ids, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
        # Checking costs a third of an epoch, so only near and after the schedule's end.
        if epoch >= EPOCHS - 4 and epoch % 2 == 0:
            failing = _failing(model, seqs)
            if not failing:
                model.eval()
                return epoch
    model.eval()
    raise RuntimeError(f"workbench-tiny did not learn {len(failing)} of {len(seqs)} scripts "
                       f"in {MAX_EPOCHS} epochs; this is a bug in the corpus or the recipe.")


def _failing(model, seqs) -> list[int]:
    import torch

    model.eval()
    bad: list[int] = []
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i][0]) + len(seqs[i][1]))
    with torch.no_grad():
        for batch in _batches(order, seqs, BATCH_TOKENS * 2):
            ids, labels = _tensors(batch, seqs)
            _, bad_rows = _loss_and_hits(model, ids, labels)
            bad.extend(batch[r] for r in sorted(bad_rows))
    model.train()
    return bad
