#!/usr/bin/python3
"""Write a Hugging Face-layout LLaMA checkpoint with random weights (seeded).

No pretrained weights can be downloaded here, so the generation benchmarks run on
random weights with the real TinyLlama-1.1B shape: cost depends on shape, not values.
Tensor names, config fields and file layout follow transformers' LlamaForCausalLM;
the tokenizer files are copied from the reference LLaMA (tests/data/llama-reference),
whose 32000-token vocabulary TinyLlama shares.

  /usr/bin/python3 tools/make_random_llama.py --out DIR --shape tinyllama-1.1b --dtype bf16 --seed 0
  /usr/bin/python3 tools/make_random_llama.py --out DIR --shape tiny --dtype f32   # seconds, for checks

--max-shard-mb splits the weights into model-0000N-of-0000M.safetensors with a
model.safetensors.index.json, as transformers' save_pretrained does for large models.
"""
import argparse
import json
import os
import shutil
import struct
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]

# hidden, intermediate, layers, heads, kv heads, vocab, context
SHAPES = {
    # TinyLlama/TinyLlama-1.1B-Chat-v1.0's config.json.
    "tinyllama-1.1b": (2048, 5632, 22, 32, 4, 32000, 2048),
    # The reference LLaMA's sizes (tests/data/llama-reference/model).
    "tiny": (64, 172, 2, 4, 2, 32000, 2048),
}
DTYPES = {"f32": ("F32", "float32", 4), "f16": ("F16", "float16", 2), "bf16": ("BF16", "bfloat16", 2)}


def make_config(shape, dtype):
    d, inter, layers, heads, kv, vocab, ctx = SHAPES[shape]
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": d, "intermediate_size": inter, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": d // heads,
        "hidden_act": "silu", "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "rope_scaling": None,
        "attention_bias": False, "mlp_bias": False, "max_position_embeddings": ctx,
        "vocab_size": vocab, "tie_word_embeddings": False, "initializer_range": 0.02,
        "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": None, "pretraining_tp": 1,
        "torch_dtype": DTYPES[dtype][1], "use_cache": True,
    }


def tensor_specs(cfg):
    """[(name, shape, kind)], kind 'w' a random matrix, 'norm' an RMSNorm gain."""
    d, inter = cfg["hidden_size"], cfg["intermediate_size"]
    hd = cfg["head_dim"]
    q, kv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    specs = [("model.embed_tokens.weight", [cfg["vocab_size"], d], "w")]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        specs += [(p + "input_layernorm.weight", [d], "norm"),
                  (p + "self_attn.q_proj.weight", [q, d], "w"),
                  (p + "self_attn.k_proj.weight", [kv, d], "w"),
                  (p + "self_attn.v_proj.weight", [kv, d], "w"),
                  (p + "self_attn.o_proj.weight", [d, q], "w"),
                  (p + "post_attention_layernorm.weight", [d], "norm"),
                  (p + "mlp.gate_proj.weight", [inter, d], "w"),
                  (p + "mlp.up_proj.weight", [inter, d], "w"),
                  (p + "mlp.down_proj.weight", [d, inter], "w")]
    specs += [("model.norm.weight", [d], "norm"), ("lm_head.weight", [cfg["vocab_size"], d], "w")]
    return specs


def to_bf16_bits(x):
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even; numpy has no bfloat16."""
    u = x.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def make_tensor(rng, shape, kind, dtype):
    x = rng.standard_normal(int(np.prod(shape)), dtype=np.float32).reshape(shape) * np.float32(0.02)
    if kind == "norm":
        x += np.float32(1.0)  # gains near 1, not exactly, so an ignored gain shows
    if dtype == "bf16":
        return to_bf16_bits(x)
    return x.astype(np.float16) if dtype == "f16" else x


def shard(specs, itemsize, max_bytes):
    """Consecutive groups of specs, each under max_bytes (a larger tensor gets its own)."""
    groups, cur, size = [], [], 0
    for s in specs:
        n = int(np.prod(s[1])) * itemsize
        if cur and size + n > max_bytes:
            groups.append(cur)
            cur, size = [], 0
        cur.append(s)
        size += n
    if cur:
        groups.append(cur)
    return groups


def write_file(path, group, rng, st_dtype, itemsize, dtype):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shp, _ in group:
        nbytes = int(np.prod(shp)) * itemsize
        header[name] = {"dtype": st_dtype, "shape": shp, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * (-len(hjson) % 8)  # data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        # One tensor in memory at a time, in a fixed order: the weights are a pure function of --seed.
        for name, shp, kind in group:
            f.write(np.ascontiguousarray(make_tensor(rng, shp, kind, dtype)).tobytes())
    os.replace(tmp, path)  # never leave a half-written file under the final name
    return offset


def write_checkpoint(out, shape, dtype, seed, max_shard_mb):
    os.makedirs(out, exist_ok=True)
    cfg = make_config(shape, dtype)
    st_dtype, _, itemsize = DTYPES[dtype]
    specs = tensor_specs(cfg)
    rng = np.random.default_rng(seed)
    groups = shard(specs, itemsize, max_shard_mb * 2**20) if max_shard_mb else [specs]
    total = 0
    if len(groups) == 1:
        total = write_file(os.path.join(out, "model.safetensors"), specs, rng, st_dtype, itemsize, dtype)
    else:
        weight_map = {}
        for i, group in enumerate(groups):
            fname = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
            total += write_file(os.path.join(out, fname), group, rng, st_dtype, itemsize, dtype)
            weight_map.update({name: fname for name, _, _ in group})
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": 2, "max_length": cfg["max_position_embeddings"],
                   "pad_token_id": 0}, f, indent=2)
        f.write("\n")
    src = os.path.join(REPO, "tests", "data", "llama-reference", "model")
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
    return sum(int(np.prod(s)) for _, s, _ in specs), total, len(groups)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="tinyllama-1.1b")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-shard-mb", type=int, default=0, help="split into shards of at most this size (0: one file)")
    a = ap.parse_args()
    t0 = time.time()
    params, nbytes, shards = write_checkpoint(a.out, a.shape, a.dtype, a.seed, a.max_shard_mb)
    print(f"make_random_llama: {a.shape} {a.dtype} seed {a.seed}: {params / 1e6:.1f}M params, "
          f"{nbytes / 2**20:.0f} MiB in {shards} file(s) -> {a.out} ({time.time() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
