"""Export a small HF Llama folder (workbench-tiny's) to GGUF, the same weights in F32.

Written for the built-in model, not as a general converter: Llama architecture, a byte-level
BPE tokenizer (``tokenizer.json``), tied or untied output. What llama.cpp needs that is easy
to get wrong, and why it is done here:

- Q and K rows are permuted: HF Llama rotates halves of each head (``rotate_half``), llama.cpp's
  ``llama`` arch rotates interleaved pairs; llama.cpp's own converter applies the same permutation.
- ``tokenizer.ggml.pre = "gpt-2"`` selects the GPT-2 pre-tokenizer regex that the HF ByteLevel
  pre-tokenizer uses, so both runtimes split text into the same tokens.
- Token types: CONTROL for special tokens (parsed only as specials, hidden when decoding with
  special=False), USER_DEFINED for added non-special tokens (``<think>``: always matched whole and
  always printed), NORMAL for the rest.
"""

from __future__ import annotations

import json
from pathlib import Path

# llama.cpp token types (gguf.TokenType values).
NORMAL, CONTROL, USER_DEFINED = 1, 3, 4


def _permute(weight, n_head: int):
    # As llama.cpp's convert_hf_to_gguf.py LlamaModel.permute.
    rows = weight.shape[0]
    return (weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def vocabulary(tokenizer_json: dict) -> tuple[list[str], list[int], list[str]]:
    """(tokens by id, token types, merges as "a b") from a tokenizer.json."""
    vocab: dict[str, int] = dict(tokenizer_json["model"]["vocab"])
    kinds: dict[int, int] = {}
    for added in tokenizer_json.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
        kinds[added["id"]] = CONTROL if added.get("special") else USER_DEFINED
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        raise ValueError("token ids are not contiguous; cannot write a GGUF vocabulary")
    tokens = [t for t, _ in by_id]
    types = [kinds.get(i, NORMAL) for i in range(len(tokens))]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer_json["model"]["merges"]]
    return tokens, types, merges


def export_gguf(hf_dir: Path, out_path: Path) -> Path:
    """Write ``out_path`` (GGUF, F32) from the HF folder ``hf_dir``."""
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    hf_dir = Path(hf_dir)
    config = json.loads((hf_dir / "config.json").read_text())
    tok_json = json.loads((hf_dir / "tokenizer.json").read_text(encoding="utf-8"))
    tok_config = json.loads((hf_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    template_file = hf_dir / "chat_template.jinja"
    template = (template_file.read_text(encoding="utf-8") if template_file.is_file()
                else tok_config["chat_template"])
    tensors = load_file(str(hf_dir / "model.safetensors"))

    n_head = config["num_attention_heads"]
    n_kv = config.get("num_key_value_heads") or n_head
    hidden = config["hidden_size"]
    tokens, types, merges = vocabulary(tok_json)
    ids = {t: i for i, t in enumerate(tokens)}

    writer = gguf.GGUFWriter(str(out_path), "llama")
    writer.add_name(config.get("_name_or_path") or "workbench-tiny")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(hidden)
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(config.get("head_dim") or hidden // n_head)
    writer.add_rope_freq_base(float(config.get("rope_theta")
                                    or (config.get("rope_parameters") or {}).get("rope_theta", 10000.0)))
    writer.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
    writer.add_vocab_size(len(tokens))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    eos = ids[tok_config["eos_token"]]
    pad = ids[tok_config.get("pad_token") or tok_config["eos_token"]]
    writer.add_bos_token_id(pad)        # Qwen-style: no BOS is ever added; the id points at <|endoftext|>
    writer.add_eos_token_id(eos)
    writer.add_pad_token_id(pad)
    writer.add_add_bos_token(False)
    writer.add_chat_template(template)

    def put(name: str, array) -> None:
        writer.add_tensor(name, np.ascontiguousarray(array, dtype=np.float32))

    put("token_embd.weight", tensors["model.embed_tokens.weight"])
    for i in range(config["num_hidden_layers"]):
        hf = f"model.layers.{i}."
        put(f"blk.{i}.attn_norm.weight", tensors[hf + "input_layernorm.weight"])
        put(f"blk.{i}.attn_q.weight", _permute(tensors[hf + "self_attn.q_proj.weight"], n_head))
        put(f"blk.{i}.attn_k.weight", _permute(tensors[hf + "self_attn.k_proj.weight"], n_kv))
        put(f"blk.{i}.attn_v.weight", tensors[hf + "self_attn.v_proj.weight"])
        put(f"blk.{i}.attn_output.weight", tensors[hf + "self_attn.o_proj.weight"])
        put(f"blk.{i}.ffn_norm.weight", tensors[hf + "post_attention_layernorm.weight"])
        put(f"blk.{i}.ffn_gate.weight", tensors[hf + "mlp.gate_proj.weight"])
        put(f"blk.{i}.ffn_up.weight", tensors[hf + "mlp.up_proj.weight"])
        put(f"blk.{i}.ffn_down.weight", tensors[hf + "mlp.down_proj.weight"])
    put("output_norm.weight", tensors["model.norm.weight"])
    # Tied embeddings: safetensors holds no lm_head, and llama.cpp wants output.weight written out.
    put("output.weight", tensors.get("lm_head.weight", tensors["model.embed_tokens.weight"]))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Path(out_path)
